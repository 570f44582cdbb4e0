/**
 * One canonical multipart/form-data form (issue 16 point 3). Perch reads a multipart body whole before
 * anything is forwarded and accepts it only when every reader must see the same parts: one boundary,
 * no preamble or epilogue, each part with exactly one `Content-Disposition: form-data; name="…"`
 * (optionally `; filename="…"`) and at most a `Content-Type`. Anything a parser may skip, decode or
 * split differently (Busboy skips parts without a disposition; Netty reads `filename*` and
 * `Content-Transfer-Encoding`) is refused, so the parts Perch checked are the parts Kestra binds.
 * The bytes forwarded are the bytes read: nothing is rewritten.
 */

export class FormError extends Error {}

export interface FormPart {
  name: string;
  /** Present for a file part (the part had a `filename` parameter). */
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** What a multipart operation takes: named parts (each at most once), or a flow's inputs (any names, once each). */
export type FormShape = { parts: readonly string[]; files: boolean } | { inputs: true };

const BOUNDARY = /^multipart\/form-data;[ \t]*boundary=(?:"([0-9A-Za-z'()+_,\-./:=? ]{1,70})"|([0-9A-Za-z'()+_\-.]{1,70}))[ \t]*$/i;
// Input ids and Kestra's own part names: nothing a decoder could turn into another name.
const PART_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const DISPOSITION = /^form-data; name="([^"\\\r\n]*)"(?:; filename="([^"\\\r\n]*)")?$/i;

export function isMultipart(contentType: string | undefined): boolean {
  return /^multipart\//i.test(contentType ?? '');
}

/** The parts of a multipart/form-data body in its one canonical form, or a FormError naming what is not. */
export function readFormParts(contentType: string, body: Buffer): FormPart[] {
  const m = BOUNDARY.exec(contentType);
  if (!m) throw new FormError('The multipart body must be sent as "multipart/form-data; boundary=…" with one boundary and no other parameter');
  const boundary = (m[1] ?? m[2])!;
  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  if (!body.subarray(0, first.length).equals(first)) throw new FormError('The multipart body must begin with its boundary (no preamble)');
  const parts: FormPart[] = [];
  let at = first.length;
  for (;;) {
    const after = body.subarray(at, at + 2).toString('latin1');
    if (after === '--') {
      const rest = body.subarray(at + 2).toString('latin1');
      if (rest !== '' && rest !== '\r\n') throw new FormError('The multipart body has data after its closing boundary');
      return parts;
    }
    if (after !== '\r\n') throw new FormError('A multipart boundary is followed by something other than a line break or "--"');
    const headersEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headersEnd < 0) throw new FormError('A multipart part has no end to its headers');
    // From the headers' last line break on: data that begins with the boundary reads as an empty part to others.
    const next = body.indexOf(delimiter, headersEnd + 2);
    if (next < 0) throw new FormError('The multipart body has no closing boundary');
    if (next < headersEnd + 4) throw new FormError('A multipart part begins with its boundary');
    parts.push(partOf(body.subarray(at + 2, headersEnd).toString('latin1'), body.subarray(headersEnd + 4, next)));
    at = next + delimiter.length;
  }
}

function partOf(headerText: string, data: Buffer): FormPart {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of headerText.split('\r\n')) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition' && disposition === undefined) disposition = value;
    else if (name === 'content-type' && contentType === undefined) contentType = value;
    else throw new FormError(`A multipart part carries a header Perch does not accept (${JSON.stringify(line.slice(0, 60))}): only one Content-Disposition and one Content-Type`);
  }
  const d = DISPOSITION.exec(disposition ?? '');
  if (!d) throw new FormError('Every multipart part needs exactly `Content-Disposition: form-data; name="…"` (optionally `; filename="…"`), without other parameters');
  const name = d[1]!;
  if (!PART_NAME.test(name)) throw new FormError(`The multipart part name ${JSON.stringify(name)} is not accepted (letters, digits, "_", "-", "." only)`);
  if (contentType !== undefined && /[\r\n]/.test(contentType)) throw new FormError('A multipart Content-Type is malformed');
  return { name, ...(d[2] !== undefined ? { filename: Buffer.from(d[2], 'latin1').toString('utf8') } : {}), ...(contentType !== undefined ? { contentType } : {}), data };
}

/**
 * Refuses a form that is not the operation's one form: a repeated part, a part the operation does not
 * take, a named part sent as a field (or a field as a file), and a part named like a query parameter
 * (two places for one value, which Kestra's binders could read either way).
 */
export function checkFormShape(parts: readonly FormPart[], shape: FormShape, queryNames: readonly string[]): void {
  const seen = new Set<string>();
  for (const part of parts) {
    if (seen.has(part.name)) throw new FormError(`The multipart part "${part.name}" is sent more than once`);
    seen.add(part.name);
    if (queryNames.includes(part.name)) throw new FormError(`The multipart part "${part.name}" repeats the query parameter of the same name`);
    if ('parts' in shape) {
      if (!shape.parts.includes(part.name)) throw new FormError(`Unexpected multipart part "${part.name}": this operation takes ${shape.parts.map((p) => `"${p}"`).join(', ')} only`);
      if (shape.files !== (part.filename !== undefined)) throw new FormError(`The multipart part "${part.name}" must be ${shape.files ? 'a file (with a filename)' : 'a plain field'}`);
    }
  }
}
