/**
 * Perch's one canonical request form, checked before any routing or auth (anchors §4.4, 1-9, 11-14, 16).
 *
 * The request target is never rewritten: it is accepted byte-for-byte or refused, so the bytes the
 * authorizer reads are the bytes Kestra receives. The accepted form means the same thing to every
 * server that percent-decodes once (Micronaut/Netty, WHATWG URL, Node): no dot or empty segments,
 * no encoded slash/backslash/dot/letters, no `;` path parameters, no double encoding.
 * Plain char-code scans over lookup tables: linear time, no regex backtracking.
 */

export interface RawRequest {
  method: string;
  url: string;
  /** As node's IncomingMessage gives them: flat [name, value, name, value, …]. */
  rawHeaders: readonly string[];
}

export type CanonicalResult =
  | { ok: true; path: string; query: string; target: string }
  | { ok: false; status: 400 | 405 | 414 | 415 | 431; message: string };

export const ALLOWED_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
export const MAX_TARGET_BYTES = 8192;
/** Apache's LimitRequestFields default; browsers and Kestra's UI send ~20. */
export const MAX_HEADER_FIELDS = 100;
export const METHOD_OVERRIDE_HEADERS: readonly string[] = [
  'x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-method',
];
/** RFC 9110 §7.6.1 plus `expect` (Node answers 100-continue itself; undici refuses to forward it). */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding',
  'proxy-authorization', 'proxy-authenticate', 'expect', 'http2-settings',
];
/** Identity/forwarding headers only Perch may assert; a client's copy is always dropped (§4.4 8, 11, 13). */
export const INGRESS_STRIPPED_HEADERS: readonly string[] = [
  'forwarded', 'x-real-ip', 'x-original-url', 'x-original-uri', 'x-original-host', 'x-rewrite-url',
  'x-user-id', 'x-remote-user', 'remote-user', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip',
];
/** Prefix families: every x-forwarded-* (incl. -user/-email/-groups/-prefix/-uri), oauth2-proxy's, Next.js'. */
export const INGRESS_STRIPPED_PREFIXES: readonly string[] = ['x-forwarded-', 'x-auth-request-', 'x-middleware-'];
/**
 * Headers that would make Kestra decode a text body in another charset than the UTF-8 Perch read it in: Micronaut
 * takes the first Accept-Charset when the Content-Type names none (StringBodyReader, docs/compatibility.md).
 */
export const BODY_CHARSET_HEADERS: readonly string[] = ['accept-charset'];

const METHODS = new Set(ALLOWED_METHODS);
const OVERRIDES = new Set(METHOD_OVERRIDE_HEADERS);
const DROPPED = new Set([...HOP_BY_HOP_HEADERS, ...INGRESS_STRIPPED_HEADERS, ...BODY_CHARSET_HEADERS]);

const refuse = (status: 400 | 405 | 414 | 415 | 431, message: string): CanonicalResult => ({ ok: false, status, message });

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function charTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}
const TCHAR = charTable(ALNUM + "!#$%&'*+-.^_`|~");
const UNRESERVED = charTable(ALNUM + '-._~');
// RFC 3986 pchar minus `;` (Java servers strip `;…` matrix params, Tomcat reads `/..;/` as `..`). `%` handled apart.
const PATH_RAW = charTable(ALNUM + "-._~!$&'()*+,=:@/");
// Visible ASCII minus `#` and what RFC 3986 forbids (WHATWG/clients may re-encode those). `[` `]` stay: Kestra filters.
const QUERY_RAW = charTable(Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).join('').replace(/[#"<>\\^`{|}]/g, ''));
const CHECKED_LENGTHS = new Uint8Array(64);
for (const n of ['host', 'content-length', 'transfer-encoding', 'content-encoding', 'content-type', 'authorization', 'expect', ...METHOD_OVERRIDE_HEADERS]) CHECKED_LENGTHS[n.length] = 1;
/** Every `charset` parameter of a Content-Type (the boundary of a multipart one may hold the word, hence the shape). */
const CHARSET_PARAMETER = /;\s*charset\s*=\s*"?([^";\s]*)"?/gi;
const CTL_IN_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/; // field-value: VCHAR / obs-text / SP / HTAB only
const BAD_HOST = /[\s/?#@\\]/;

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  return c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
}

/** Value of the `%XX` at i, or negative when malformed: a -1 nibble makes the whole value negative. */
function pctAt(s: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  return (hex(s.charCodeAt(i + 1)) << 4) | hex(s.charCodeAt(i + 2));
}

/** Why an escape is not canonical in a path, or undefined when it may stay (e.g. %20 %3A %3B %3F %23). */
function pathEscapeRefusal(b: number, esc: string): string | undefined {
  if (b === 0x2f || b === 0x5c) return `The request path contains an encoded slash or backslash (${esc}).`;
  if (b === 0x25) return `The request path contains an encoded percent sign (${esc}), a double-encoding vector.`;
  if (b < 0x20 || b === 0x7f) return `The request path contains an encoded control character (${esc}).`;
  if (b >= 0x80) return `The request path contains an encoded non-ASCII byte (${esc}); paths must be plain ASCII.`;
  if (UNRESERVED[b]) return `The request path percent-encodes "${String.fromCharCode(b)}" (${esc}); spell it unencoded.`;
  return undefined;
}

/** Whether url[start, end) names the `_method` override once %XX-decoded (case-insensitive), allocation-free. */
function isMethodParam(s: string, start: number, end: number): boolean {
  if (end - start < 7 || end - start > 21) return false;
  const want = '_method';
  let j = 0;
  for (let k = start; k < end; k++, j++) {
    let c = s.charCodeAt(k);
    if (c === 0x25) { c = pctAt(s, k, end); k += 2; }
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (j >= 7 || c !== want.charCodeAt(j)) return false;
  }
  return j === 7;
}

function checkMethod(method: string): CanonicalResult | undefined {
  if (METHODS.has(method)) return undefined;
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    if (c >= 128 || !TCHAR[c]) return refuse(400, 'The request method is not a valid HTTP token.');
  }
  if (method.length === 0) return refuse(400, 'The request method is empty.');
  // Istio's rule: a lower-case verb is a different token to a case-sensitive upstream, so refuse it loudly.
  if (METHODS.has(method.toUpperCase())) return refuse(400, `HTTP methods are case-sensitive; send "${method.toUpperCase()}", not "${method}".`);
  return refuse(405, `The HTTP method ${method} is not allowed; use one of ${ALLOWED_METHODS.join(', ')}.`);
}

function checkTarget(url: string): CanonicalResult | number {
  if (url.length > MAX_TARGET_BYTES) return refuse(414, `The request target is longer than ${MAX_TARGET_BYTES} bytes.`);
  if (url.charCodeAt(0) !== 0x2f) {
    return refuse(400, url === '*' ? 'Asterisk-form request targets ("*") are not accepted.'
      : 'The request target must be a path starting with "/"; absolute-form and authority-form targets are not accepted.');
  }
  const q = url.indexOf('?');
  const end = q < 0 ? url.length : q;
  let segStart = 1;
  let dotsOnly = true;
  for (let i = 1; i <= end; i++) {
    const c = i === end ? 0x2f : url.charCodeAt(i); // a virtual '/' closes the last segment
    if (c === 0x2f) {
      const len = i - segStart;
      if (len === 0 && i !== end) return refuse(400, 'The request path contains an empty segment ("//").');
      if (len > 0 && dotsOnly) return refuse(400, 'The request path contains a "." or ".." segment.');
      segStart = i + 1;
      dotsOnly = true;
      continue;
    }
    if (c !== 0x2e) dotsOnly = false;
    if (c === 0x25) {
      const b = pctAt(url, i, end);
      if (b < 0) return refuse(400, 'The request path contains a malformed percent-escape ("%" must be followed by two hex digits).');
      const why = pathEscapeRefusal(b, url.slice(i, i + 3));
      if (why) return refuse(400, why);
      i += 2;
    } else if (c >= 128 || !PATH_RAW[c]) {
      if (c === 0x3b) return refuse(400, 'The request path contains ";" (path parameters such as ;jsessionid are not accepted).');
      if (c === 0x5c) return refuse(400, 'The request path contains a backslash.');
      if (c === 0x23) return refuse(400, 'The request target contains "#"; fragments are never sent to a server.');
      return refuse(400, c >= 0x80 ? 'The request path contains non-ASCII bytes; percent-encoded ASCII only.'
        : `The request path contains a character that must not appear unencoded (code ${c}).`);
    }
  }
  if (q < 0) return end;
  let nameStart = q + 1;
  let inName = true;
  for (let i = q + 1; i <= url.length; i++) {
    const c = i === url.length ? 0x26 : url.charCodeAt(i); // a virtual '&' closes the last parameter
    if (c === 0x26 || c === 0x3b || (c === 0x3d && inName)) { // `;` too: Netty's decoder splits on it
      if (inName && isMethodParam(url, nameStart, i)) return refuse(400, 'The query string sets "_method"; method overrides are not accepted.');
      inName = c !== 0x3d;
      nameStart = i + 1;
    } else if (c === 0x25) {
      const b = pctAt(url, i, url.length);
      if (b < 0) return refuse(400, 'The query string contains a malformed percent-escape ("%" must be followed by two hex digits).');
      if (b === 0) return refuse(400, 'The query string contains an encoded NUL byte (%00).');
      i += 2;
    } else if (c >= 128 || !QUERY_RAW[c]) {
      return refuse(400, c === 0x23 ? 'The request target contains "#"; fragments are never sent to a server.'
        : 'The query string contains a space, control, non-ASCII or other character that must be percent-encoded.');
    }
  }
  return end;
}

/**
 * A Content-Type naming a charset other than UTF-8: Kestra's server decodes a text body (a flow's YAML) with it,
 * Perch reads every body as UTF-8, and the two would read different text (in ISO-8859-1 the UTF-8 of "Å" ends
 * in NEL, a line break to Kestra's YAML). Undefined when the body is read alike.
 */
function charsetRefusal(contentType: string): CanonicalResult | undefined {
  if (!/charset/i.test(contentType)) return undefined;
  const named = [...contentType.matchAll(CHARSET_PARAMETER)].map((m) => m[1]!);
  if (named.length === 0 || (named.length === 1 && /^utf-?8$/i.test(named[0]!))) return undefined;
  return refuse(415, `Perch reads request bodies as UTF-8 only: send charset=utf-8 or no charset (Content-Type: ${contentType.slice(0, 80)}).`);
}

function checkHeaders(raw: readonly string[]): CanonicalResult | undefined {
  if (raw.length > MAX_HEADER_FIELDS * 2) return refuse(431, `The request has more than ${MAX_HEADER_FIELDS} header fields.`);
  let hosts = 0, lengths = 0, auths = 0, encodings = 0, types = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const value = raw[i + 1] ?? '';
    if (name.length === 0) return refuse(400, 'The request has a header with an empty name.');
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      // Underscore aliases (X_Forwarded_User) are folded into dashes by some servers: oauth2-proxy CVE-2025-64484.
      if (c === 0x5f) return refuse(400, `The header name "${name}" contains an underscore; underscore header names are not accepted.`);
      if (c >= 128 || !TCHAR[c]) return refuse(400, 'The request has a header name that is not a valid HTTP token.');
    }
    if (CTL_IN_VALUE.test(value)) return refuse(400, `The header "${name}" contains a NUL, CR, LF or other control character.`);
    // Only names as long as one we police are lower-cased (saves an allocation on most headers).
    const lower = CHECKED_LENGTHS[name.length] ? name.toLowerCase() : '';
    switch (lower) {
      case 'host':
        hosts++;
        if (value.length === 0 || BAD_HOST.test(value)) return refuse(400, 'The Host header is empty or contains "/", "?", "#", "@", "\\" or whitespace.');
        break;
      case 'content-length':
        lengths++;
        if (!/^\d{1,15}$/.test(value)) return refuse(400, 'The Content-Length header is not a plain decimal number.');
        break;
      case 'transfer-encoding':
        encodings++;
        if (value.toLowerCase() !== 'chunked') return refuse(400, 'Transfer-Encoding must be exactly "chunked".');
        break;
      case 'content-encoding':
        // Kestra's server inflates a gzip or deflate body before reading it: forwarded, it would act on bytes
        // Perch never read. A body is checked and forwarded in one form, uncompressed.
        if (value.trim().toLowerCase() !== 'identity') return refuse(415, `Perch does not accept a compressed request body (Content-Encoding: ${value.slice(0, 40)}); send it uncompressed.`);
        break;
      case 'content-type': {
        types++;
        const why = charsetRefusal(value);
        if (why) return why;
        break;
      }
      case 'authorization':
        auths++;
        break;
      case 'expect':
        if (value.toLowerCase() !== '100-continue') return refuse(400, 'The Expect header may only be "100-continue".');
        break;
      default:
        if (OVERRIDES.has(lower)) return refuse(400, `The ${name} header is a method override; method overrides are not accepted.`);
    }
  }
  if (hosts > 1) return refuse(400, 'The request has more than one Host header.');
  if (lengths > 1) return refuse(400, 'The request has more than one Content-Length header.');
  if (auths > 1) return refuse(400, 'The request has more than one Authorization header.');
  // Node reads the first, a forwarded copy would join both: one type, read the same on both sides.
  if (types > 1) return refuse(400, 'The request has more than one Content-Type header.');
  if (encodings > 1) return refuse(400, 'The request has more than one Transfer-Encoding header.');
  if (encodings > 0 && lengths > 0) return refuse(400, 'The request has both Content-Length and Transfer-Encoding (request smuggling vector).');
  return undefined;
}

/** Accept the request exactly as sent, or say why not. `target` is always `req.url` itself. */
export function canonicalizeRequest(req: RawRequest): CanonicalResult {
  const bad = checkMethod(req.method);
  if (bad) return bad;
  const end = checkTarget(req.url);
  if (typeof end !== 'number') return end;
  const badHeader = checkHeaders(req.rawHeaders);
  if (badHeader) return badHeader;
  const url = req.url;
  return { ok: true, path: url.slice(0, end), query: url.slice(end + 1), target: url };
}

/** True for headers a client may never pass through: hop-by-hop and every ingress identity/forwarding name. */
export function isIngressStripped(lowerName: string): boolean {
  if (DROPPED.has(lowerName)) return true;
  for (const p of INGRESS_STRIPPED_PREFIXES) if (lowerName.startsWith(p)) return true;
  return false;
}

export interface ForwardOptions {
  /** Lower-case names the proxy sets itself (cookie, authorization, host, …); the client's copies are dropped. */
  owned: readonly string[];
}

/**
 * The client headers that may travel upstream, lower-cased and merged (RFC 9110 §5.3: comma-join;
 * `cookie` joins with "; "). `set-cookie` is a response header that cannot be comma-joined, so a
 * client's copy is dropped. The caller adds its own headers afterwards, so a `Connection:`
 * nomination can only remove client headers, never Perch's (Traefik CVE-2024-45410).
 */
export function forwardableHeaders(rawHeaders: readonly string[], opts: ForwardOptions): Record<string, string> {
  let nominated: string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] ?? '').toLowerCase() !== 'connection') continue;
    for (const token of (rawHeaders[i + 1] ?? '').split(',')) {
      const t = token.trim().toLowerCase();
      if (t) (nominated ??= []).push(t);
    }
  }
  const out: Record<string, string> = Object.create(null); // no __proto__ games
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = rawHeaders[i + 1] ?? '';
    if (isIngressStripped(name) || name === 'set-cookie' || opts.owned.includes(name) || nominated?.includes(name)) continue;
    const prev = out[name];
    out[name] = prev === undefined ? value : `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}
