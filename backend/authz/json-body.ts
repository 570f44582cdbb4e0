/**
 * JSON request bodies Perch reads to authorize a Kestra call, read in one form: the form Perch checks is the
 * form Kestra acts on. Kestra binds bodies with Micronaut's ObjectMapper, which reads `["x"]` and `12` as
 * the text "x" and "12" where a String is expected (UNWRAP_SINGLE_VALUE_ARRAYS, scalar coercion) and keeps
 * the last of repeated keys, or fails, depending on the class (docs/compatibility.md). So a repeated key
 * anywhere, or a field Perch reads as text given as anything but text, is refused rather than guessed at.
 */

export class JsonBodyError extends Error {}

/** Parses a body; refused when it is not JSON or when an object repeats a key. */
export function parseJsonBody(text: string, notJson: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JsonBodyError(notJson);
  }
  // Only an object with two or more members can repeat a key.
  if (text.includes(',')) {
    const repeated = repeatedKey(text);
    if (repeated !== null) throw new JsonBodyError(`The request body repeats the key "${repeated.slice(0, 80)}" in one object; send each key once`);
  }
  return value;
}

/**
 * The first key repeated within one object of valid JSON text, or null. One pass: strings are skipped
 * whole, and a string is a key when it opens an object or follows a comma inside one.
 */
function repeatedKey(text: string): string | null {
  const objects: Array<Set<string> | null> = []; // null: an array
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(end);
        if (d === 0x5c) {
          escaped = true;
          end += 2;
        } else if (d === 0x22) break;
        else end++;
      }
      if (keyNext) {
        const keys = objects[objects.length - 1]!;
        // Escapes are decoded as Jackson decodes them: "n\u0061me" and "name" are one key.
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (keys.has(key)) return key;
        keys.add(key);
        keyNext = false;
      }
      i = end;
    } else if (c === 0x7b) {
      objects.push(new Set());
      keyNext = true;
    } else if (c === 0x5b) {
      objects.push(null);
      keyNext = false;
    } else if (c === 0x7d || c === 0x5d) {
      objects.pop();
      keyNext = false;
    } else if (c === 0x2c) {
      keyNext = objects.length > 0 && objects[objects.length - 1] !== null;
    }
  }
  return null;
}

/** A body field Kestra binds to a Java String: undefined when absent or null, else it must be text. */
export function textField(body: unknown, name: string): string | undefined {
  const value = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new JsonBodyError(`\`${name}\` must be a string (Kestra would read ${JSON.stringify(value).slice(0, 40)} as one, so Perch refuses anything else)`);
  return value;
}

/**
 * The object at `path` (dot-separated keys) as Jackson binds it: a one-element list where an object is expected
 * is that element (UNWRAP_SINGLE_VALUE_ARRAYS). Undefined when absent or null; anything else than an object
 * at a step is refused.
 */
export function objectAt(body: unknown, path: string): Record<string, unknown> | undefined {
  const asObject = (value: unknown, where: string): Record<string, unknown> | undefined => {
    const one = Array.isArray(value) && value.length === 1 ? value[0] : value;
    if (one === undefined || one === null) return undefined;
    if (typeof one !== 'object' || Array.isArray(one)) throw new JsonBodyError(`\`${where}\` must be an object`);
    return one as Record<string, unknown>;
  };
  let value = asObject(body, 'the body');
  const keys = path.split('.');
  for (const [i, key] of keys.entries()) value = value && asObject(value[key], keys.slice(0, i + 1).join('.'));
  return value;
}

/**
 * Every text within a JSON value, keys included, each with where it lies (`inputs.file`, `labels.0.value`): what
 * Kestra would render of it, whatever shape Jackson coerces it into.
 */
export function textsWithin(value: unknown, where: string, out: Array<{ where: string; text: string }> = []): Array<{ where: string; text: string }> {
  if (typeof value === 'string') out.push({ where, text: value });
  else if (Array.isArray(value)) value.forEach((item, i) => textsWithin(item, `${where}.${i}`, out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      out.push({ where: `${where} (a key)`, text: key });
      textsWithin(item, `${where}.${key}`, out);
    }
  }
  return out;
}
