/**
 * Keys whose values never reach the audit log: credentials, and the values of secrets and KV
 * entries (their keys and namespaces are enough to say what changed).
 */
const SECRET_KEY = /pass(word)?|token|secret|^value$|^values$|credential|api[-_]?key|authorization|cookie|private[-_]?key|^content$|^source$/i;

export const REDACTED = '[redacted]';

/** A copy of `value` with every secret-looking key's value replaced, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return REDACTED;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1));
  if (Buffer.isBuffer(value)) return REDACTED;
  const object = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) out[key] = SECRET_KEY.test(key) ? REDACTED : redact(object[key], depth + 1);
  return out;
}
