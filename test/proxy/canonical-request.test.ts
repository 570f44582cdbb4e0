import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALLOWED_METHODS,
  MAX_TARGET_BYTES,
  canonicalizeRequest,
  forwardableHeaders,
  isIngressStripped,
} from '../../backend/proxy/canonical-request.js';

type Expect = 'ok' | 400 | 405 | 414 | 415 | 431;
/** `bare`: send only `headers`, without the default Host. */
interface Case { name: string; method?: string; url: string; headers?: string[]; bare?: true; expect: Expect }

const H = ['Host', 'perch.example'];
/** `n` distinct ordinary header fields, as a flat raw list. */
const fields = (n: number): string[] => Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']).flat();
/** Spelled out, not taken from the module: emptying its list must fail these cases. */
const OVERRIDE_HEADERS = ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X-Original-Method'];

/** Legitimate Kestra traffic: must pass byte-for-byte. */
const LEGIT: Case[] = [
  { name: 'flow search with bracket filters', url: '/api/v1/main/flows/search?filters[namespace][PREFIX]=company.team&page=1&size=25', expect: 'ok' },
  { name: 'UI root with trailing slash', url: '/ui/', expect: 'ok' },
  { name: 'root', url: '/', expect: 'ok' },
  { name: 'UI deep link', url: '/ui/main/flows/edit/company.team/hello/topology', expect: 'ok' },
  { name: 'namespace file with encoded path', url: '/api/v1/main/namespaces/company/files?path=%2Fdir%2Fa%20b.txt', expect: 'ok' },
  { name: 'SSE follow', url: '/api/v1/main/executions/3Xb1CT8nKqkVvGU5b2ptm/follow', expect: 'ok' },
  { name: 'UI asset', url: '/ui/assets/index-AbC123.js', expect: 'ok' },
  { name: 'KV filter', url: '/api/v1/main/kv?filters[namespace][EQUALS]=a.b', expect: 'ok' },
  { name: 'flow revision', method: 'GET', url: '/api/v1/main/flows/a.b/my-flow?revision=3', expect: 'ok' },
  { name: 'webhook', method: 'POST', url: '/api/v1/main/executions/webhook/ns/id/key', expect: 'ok' },
  { name: 'trailing-dot segment is a legal id', url: '/api/v1/main/flows/a.b/flow.', expect: 'ok' },
  { name: 'encoded ? in path stays encoded', url: '/api/v1/main/flows/a%3Fb', expect: 'ok' },
  { name: 'encoded # in path stays encoded', url: '/api/v1/main/flows/a%23b', expect: 'ok' },
  { name: 'encoded ; %20 : @ in path', url: '/api/v1/main/kv/a%3Bb%20c%3A%40', expect: 'ok' },
  { name: 'lower-case hex escape allowed', url: '/api/v1/main/kv/a%3ab', expect: 'ok' },
  { name: 'empty query', url: '/api/v1/main/flows?', expect: 'ok' },
  { name: 'query with ? and encoded controls', url: '/x?q=a?b&v=%0A%2e%2e', expect: 'ok' },
  { name: 'query param merely containing _method', url: '/x?my_method=1&_methods=2&x=_method', expect: 'ok' },
  { name: 'HEAD', method: 'HEAD', url: '/ui/', expect: 'ok' },
  { name: 'OPTIONS preflight', method: 'OPTIONS', url: '/api/v1/main/flows', expect: 'ok' },
  { name: 'PUT/PATCH/DELETE', method: 'DELETE', url: '/api/v1/main/flows/a/b', expect: 'ok' },
  { name: 'chunked body', method: 'POST', url: '/api/v1/main/flows', headers: ['Transfer-Encoding', 'Chunked'], expect: 'ok' },
  { name: 'Content-Encoding: identity', method: 'POST', url: '/api/v1/main/flows', headers: ['Content-Encoding', 'identity'], expect: 'ok' },
  { name: 'YAML in UTF-8, said so', method: 'POST', url: '/api/v1/main/flows', headers: ['Content-Type', 'application/x-yaml; charset=UTF-8'], expect: 'ok' },
  { name: 'JSON in "utf8"', method: 'POST', url: '/x', headers: ['Content-Type', 'application/json;charset="utf8"'], expect: 'ok' },
  { name: 'a multipart boundary holding the word charset', method: 'POST', url: '/x', headers: ['Content-Type', 'multipart/form-data; boundary=----charset42'], expect: 'ok' },
  { name: 'content-length body', method: 'POST', url: '/api/v1/main/flows', headers: ['Content-Length', '12'], expect: 'ok' },
  { name: 'Expect: 100-continue', method: 'POST', url: '/api/v1/main/flows', headers: ['Expect', '100-Continue', 'Content-Length', '1'], expect: 'ok' },
  { name: 'Host with port', url: '/ui/', headers: ['Host', 'perch.example:8443'], bare: true, expect: 'ok' },
  { name: 'no Host at all (HTTP/1.0)', url: '/ui/', headers: [], bare: true, expect: 'ok' },
  { name: 'duplicate ordinary header', url: '/ui/', headers: ['Accept', 'a', 'Accept', 'b'], expect: 'ok' },
  { name: 'obs-text in header value', url: '/ui/', headers: ['X-Name', 'caf\u00e9\tok'], expect: 'ok' },
  { name: 'one Authorization header', url: '/api/v1/main/flows', headers: ['Authorization', 'Bearer t'], expect: 'ok' },
  { name: 'a seven-letter parameter that is not _method', url: '/x?version=1&VERSION=2', expect: 'ok' },
  { name: 'parameters that only start like _method', url: '/x?%5Fmetho=1&_metho=2&_METHO', expect: 'ok' },
  { name: 'every hex digit in query escapes', url: '/x?a=%01%23%45%67%89%ab%cd%ef%AB%CD%EF', expect: 'ok' },
  { name: '&_method= inside the path is no query', url: '/api/v1/a&_method=DELETE', expect: 'ok' },
  { name: 'exactly 100 header fields', url: '/ui/', headers: fields(99), expect: 'ok' },
];

/** anchors.md §4.4 items 1–9, 11–14, 16, as far as they show in method, target and headers. */
const ATTACKS: Case[] = [
  // 1. dot segments, raw / encoded / double-encoded
  { name: 'raw ..', url: '/api/v1/main/flows/a/../b', expect: 400 },
  { name: 'raw .', url: '/api/v1/main/./flows', expect: 400 },
  { name: 'raw ... segment', url: '/api/.../flows', expect: 400 },
  { name: 'trailing ..', url: '/api/v1/..', expect: 400 },
  { name: 'trailing . then slash', url: '/api/v1/./', expect: 400 },
  { name: '%2e%2e', url: '/api/v1/main/flows/%2e%2e/secrets', expect: 400 },
  { name: '%2E%2E', url: '/api/v1/main/flows/%2E%2E/secrets', expect: 400 },
  { name: '.%2e', url: '/api/v1/main/flows/.%2e/secrets', expect: 400 },
  { name: '%2e.', url: '/api/v1/main/flows/%2e./secrets', expect: 400 },
  { name: '%252e%252e', url: '/api/v1/main/flows/%252e%252e/secrets', expect: 400 },
  { name: '%%32%65', url: '/api/v1/main/flows/%%32%65%%32%65/secrets', expect: 400 },
  { name: 'malformed %zz', url: '/api/%zz', expect: 400 },
  { name: 'truncated %2 at end', url: '/api/%2', expect: 400 },
  { name: 'truncated % before query', url: '/api/%2?x=1', expect: 400 },
  // '@' and '`' fold (| 0x20) onto the byte just below 'a': not hex digits.
  { name: 'malformed %@0', url: '/api/%@0', expect: 400 },
  { name: 'malformed %`0', url: '/api/%`0', expect: 400 },
  // 2. encoded slash / backslash
  { name: '..%2f', url: '/api/v1/main/flows/..%2fsecrets', expect: 400 },
  { name: '%2F', url: '/api/v1/main/flows/a%2Fb', expect: 400 },
  { name: '%5C', url: '/api/v1/main/flows/a%5Cb', expect: 400 },
  { name: '%5c', url: '/api/v1/main/flows/a%5cb', expect: 400 },
  { name: 'raw backslash', url: '/api/v1/main/flows\\..\\secrets', expect: 400 },
  // 3. duplicate and leading slashes
  { name: 'leading //', url: '//api/v1/main/flows', expect: 400 },
  { name: 'authority-looking //host', url: '//evil.example/api/v1/main/flows', expect: 400 },
  { name: '/api//v1', url: '/api//v1', expect: 400 },
  { name: 'double slash before flows', url: '/api/v1/main//flows', expect: 400 },
  { name: 'double trailing slash', url: '/ui//', expect: 400 },
  // 4. percent-encoded letters / unreserved
  { name: '%61pi', url: '/%61pi/v1/main/flows', expect: 400 },
  { name: '%66lows', url: '/api/v1/main/%66lows', expect: 400 },
  { name: 'encoded digit', url: '/api/v%31/main', expect: 400 },
  { name: 'encoded dash/underscore/tilde', url: '/api/v1/a%2Db%5F%7E', expect: 400 },
  // 5. path parameters and delimiters
  { name: ';jsessionid', url: '/api/v1/main/flows;jsessionid=x/search', expect: 400 },
  { name: ';/.. (Tomcat)', url: '/api/v1/main/flows/..;/secrets', expect: 400 },
  { name: '%00 in path', url: '/api/v1/main/flows/a%00', expect: 400 },
  { name: '%0a in path', url: '/api/v1/main/flows/a%0a', expect: 400 },
  { name: '%0D in path', url: '/api/v1/main/flows/a%0D', expect: 400 },
  { name: '%7F in path', url: '/api/v1/main/flows/a%7F', expect: 400 },
  { name: '%25 in path', url: '/api/v1/main/flows/a%25', expect: 400 },
  { name: 'raw #', url: '/api/v1/main/flows#x', expect: 400 },
  { name: '# in query', url: '/api/v1/main/flows?a=1#x', expect: 400 },
  { name: 'raw space', url: '/api/v1/main/flows/a b', expect: 400 },
  { name: 'raw control', url: '/api/v1/main/flows/a\tb', expect: 400 },
  { name: 'raw DEL', url: '/api/v1/a\u007f', expect: 400 },
  { name: 'raw "<>^`{|}', url: '/api/v1/a{b}', expect: 400 },
  { name: 'raw pipe', url: '/api/v1/a|b', expect: 400 },
  // 6 (case) is an authorizer matter; 7. unicode
  { name: 'overlong UTF-8 %c0%ae', url: '/api/v1/main/flows/%c0%ae%c0%ae/x', expect: 400 },
  { name: '%80, the first non-ASCII byte', url: '/api/v1/main/flows/a%80', expect: 400 },
  { name: 'encoded fullwidth dot', url: '/api/v1/main/flows/%EF%BC%8E%EF%BC%8E', expect: 400 },
  { name: 'raw non-ASCII (latin1 bytes)', url: '/api/v1/main/flows/\u00ef\u00bc\u008e', expect: 400 },
  { name: 'raw non-ASCII in query', url: '/x?q=\u00e9', expect: 400 },
  // 8. absolute-form and authority tricks
  { name: 'absolute-form', url: 'http://kestra:8080/api/v1/main/flows', expect: 400 },
  { name: 'authority-form', url: 'kestra:8080', expect: 400 },
  { name: 'asterisk-form', method: 'OPTIONS', url: '*', expect: 400 },
  { name: 'empty target', url: '', expect: 400 },
  { name: 'Host with /', url: '/ui/', headers: ['Host', 'perch/evil'], bare: true, expect: 400 },
  { name: 'Host with ?', url: '/ui/', headers: ['Host', 'perch?x'], bare: true, expect: 400 },
  { name: 'Host with #', url: '/ui/', headers: ['Host', 'perch#x'], bare: true, expect: 400 },
  { name: 'Host with @', url: '/ui/', headers: ['Host', 'user@perch'], bare: true, expect: 400 },
  { name: 'Host with backslash', url: '/ui/', headers: ['Host', 'perch\\x'], bare: true, expect: 400 },
  { name: 'Host with space', url: '/ui/', headers: ['Host', 'perch x'], bare: true, expect: 400 },
  { name: 'empty Host', url: '/ui/', headers: ['Host', ''], bare: true, expect: 400 },
  { name: 'duplicate Host', url: '/ui/', headers: ['host', 'other'], expect: 400 },
  // 9. methods and overrides
  { name: 'lower-case get', method: 'get', url: '/ui/', expect: 400 },
  { name: 'mixed-case Post', method: 'Post', url: '/ui/', expect: 400 },
  { name: 'TRACE', method: 'TRACE', url: '/ui/', expect: 405 },
  { name: 'CONNECT', method: 'CONNECT', url: '/ui/', expect: 405 },
  { name: 'PROPFIND', method: 'PROPFIND', url: '/ui/', expect: 405 },
  { name: 'non-token method', method: 'GE T', url: '/ui/', expect: 400 },
  { name: 'empty method', method: '', url: '/ui/', expect: 400 },
  ...OVERRIDE_HEADERS.flatMap((h): Case[] => [h, h.toLowerCase()].map((name) => ({ name: `override header ${name}`, method: 'POST', url: '/api/v1/main/flows', headers: [name, 'DELETE'], expect: 400 }))),
  { name: '_method= query', method: 'POST', url: '/api/v1/main/flows/a/b?_method=DELETE', expect: 400 },
  { name: '_method later in query', url: '/x?a=1&_method=DELETE', expect: 400 },
  { name: '_method after ;', url: '/x?a=1;_method=DELETE', expect: 400 },
  { name: '_method without value', url: '/x?_method', expect: 400 },
  { name: '_METHOD upper-case', url: '/x?_METHOD=DELETE', expect: 400 },
  { name: '%5Fmethod', url: '/x?%5Fmethod=DELETE', expect: 400 },
  { name: 'fully encoded _method', url: '/x?%5F%6D%65%74%68%6F%64=DELETE', expect: 400 },
  { name: '_method after a path ending in &', url: '/a&?_method=DELETE', expect: 400 },
  { name: '_method after a path ending in =', url: '/a=?_method=DELETE', expect: 400 },
  // query well-formedness
  { name: 'malformed escape in query', url: '/x?a=%zz', expect: 400 },
  { name: 'truncated escape in query', url: '/x?a=%4', expect: 400 },
  ...['%@1', '%`1', '%1@', '%G1', '%1g', '%/1', '%:1'].map((esc): Case => ({ name: `malformed ${esc} in query`, url: `/x?a=${esc}`, expect: 400 })),
  { name: '%00 in query', url: '/x?a=%00', expect: 400 },
  { name: 'space in query', url: '/x?a=b c', expect: 400 },
  { name: 'raw < in query', url: '/x?a=<script>', expect: 400 },
  { name: 'raw backslash in query', url: '/x?a=\\', expect: 400 },
  { name: 'target over 8192 bytes', url: `/x?a=${'b'.repeat(MAX_TARGET_BYTES)}`, expect: 414 },
  // 11. underscore aliases of identity headers
  { name: 'X_Forwarded_User', url: '/ui/', headers: ['X_Forwarded_User', 'admin'], expect: 400 },
  { name: 'underscore in any header name', url: '/ui/', headers: ['x_custom', '1'], expect: 400 },
  { name: 'header name with colon', url: '/ui/', headers: ['x:y', '1'], expect: 400 },
  // 14. header value oddities
  { name: 'NUL in header value', url: '/ui/', headers: ['X-Test', 'a\u0000b'], expect: 400 },
  { name: 'CR in header value', url: '/ui/', headers: ['X-Test', 'a\rb'], expect: 400 },
  { name: 'LF in header value', url: '/ui/', headers: ['X-Test', 'a\nX-Forwarded-User: admin'], expect: 400 },
  { name: 'duplicate Authorization', url: '/ui/', headers: ['Authorization', 'Basic a', 'authorization', 'Basic b'], expect: 400 },
  { name: 'too many header fields', url: '/ui/', headers: fields(200), expect: 431 },
  { name: '101 header fields', url: '/ui/', headers: fields(100), expect: 431 },
  { name: 'empty header name', url: '/ui/', headers: ['', 'x'], expect: 400 },
  // 16. framing / smuggling
  { name: 'CL + TE', method: 'POST', url: '/x', headers: ['Content-Length', '5', 'Transfer-Encoding', 'chunked'], expect: 400 },
  { name: 'TE: chunked, identity', method: 'POST', url: '/x', headers: ['Transfer-Encoding', 'chunked, identity'], expect: 400 },
  { name: 'TE: identity', method: 'POST', url: '/x', headers: ['Transfer-Encoding', 'identity'], expect: 400 },
  { name: 'duplicate TE', method: 'POST', url: '/x', headers: ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], expect: 400 },
  { name: 'duplicate CL', method: 'POST', url: '/x', headers: ['Content-Length', '5', 'content-length', '5'], expect: 400 },
  { name: 'CL list', method: 'POST', url: '/x', headers: ['Content-Length', '5, 5'], expect: 400 },
  { name: 'CL negative', method: 'POST', url: '/x', headers: ['Content-Length', '-1'], expect: 400 },
  { name: 'Expect other than 100-continue', method: 'POST', url: '/x', headers: ['Expect', '200-ok'], expect: 400 },
  // 17. a compressed body, which Kestra would inflate after Perch checked the compressed bytes
  { name: 'Content-Encoding: gzip', method: 'POST', url: '/api/v1/main/flows', headers: ['Content-Encoding', 'gzip'], expect: 415 },
  { name: 'Content-Encoding: deflate, any case', method: 'PUT', url: '/x', headers: ['content-ENCODING', 'Deflate'], expect: 415 },
  { name: 'Content-Encoding: identity, gzip', method: 'POST', url: '/x', headers: ['Content-Encoding', 'identity, gzip'], expect: 415 },
  { name: 'Content-Encoding twice', method: 'POST', url: '/x', headers: ['Content-Encoding', 'identity', 'Content-Encoding', 'br'], expect: 415 },
  // Kestra decodes a text body with the declared charset (Micronaut's StringBodyReader); Perch reads UTF-8 only.
  { name: 'YAML in ISO-8859-1', method: 'POST', url: '/api/v1/main/flows', headers: ['Content-Type', 'application/x-yaml; charset=ISO-8859-1'], expect: 415 },
  { name: 'a quoted UTF-16 charset, any case', method: 'POST', url: '/x', headers: ['content-TYPE', 'application/x-yaml;CHARSET="utf-16"'], expect: 415 },
  { name: 'charset with spaces around "="', method: 'POST', url: '/x', headers: ['Content-Type', 'application/x-yaml ; charset = latin1'], expect: 415 },
  { name: 'two charsets, one UTF-8', method: 'POST', url: '/x', headers: ['Content-Type', 'application/x-yaml; charset=utf-8; charset=latin1'], expect: 415 },
  { name: 'an empty charset', method: 'POST', url: '/x', headers: ['Content-Type', 'application/json; charset='], expect: 415 },
  { name: 'Content-Type twice', method: 'POST', url: '/x', headers: ['Content-Type', 'application/x-yaml', 'Content-Type', 'application/json'], expect: 400 },
];

function run(c: Case) {
  const rawHeaders = c.bare ? c.headers ?? [] : [...H, ...(c.headers ?? [])];
  return canonicalizeRequest({ method: c.method ?? 'GET', url: c.url, rawHeaders });
}

describe('canonicalizeRequest', () => {
  it.each(LEGIT)('accepts $name untouched', (c) => {
    const r = run(c);
    expect(r).toMatchObject({ ok: true });
    if (!r.ok) return;
    expect(r.target).toBe(c.url);
    const q = c.url.indexOf('?');
    expect(r.path).toBe(q < 0 ? c.url : c.url.slice(0, q));
    expect(r.query).toBe(q < 0 ? '' : c.url.slice(q + 1));
    expect(r.path + (q < 0 ? '' : `?${r.query}`)).toBe(c.url);
  });

  it.each(ATTACKS)('refuses $name with $expect', (c) => {
    const r = run(c);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(c.expect);
    expect(r.message).toMatch(/^[A-Z].*\.$/); // a sentence, fit for a JSON error
  });

  it('keeps encoded ? and # in the path, out of the query', () => {
    expect(run({ name: '', url: '/api/v1/main/flows/a%3Fb?c=%23', expect: 'ok' })).toEqual({
      ok: true, path: '/api/v1/main/flows/a%3Fb', query: 'c=%23', target: '/api/v1/main/flows/a%3Fb?c=%23',
    });
  });

  it('names what it refused', () => {
    const msg = (url: string, method = 'GET', headers: string[] = H) => {
      const r = canonicalizeRequest({ method, url, rawHeaders: headers });
      return r.ok ? '' : r.message;
    };
    expect(msg('/a/%2Fb')).toContain('%2F');
    expect(msg('/%61pi')).toContain('"a"');
    expect(msg('/a;b')).toContain(';');
    expect(msg('/x', 'TRACE')).toContain('TRACE');
    expect(msg('/x', 'get')).toContain('"GET"');
    expect(msg('/x', 'GET', ['X_Forwarded_User', 'a'])).toContain('X_Forwarded_User');
    expect(msg('/x', 'TRACE')).toContain('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    expect(msg('/x', 'GET', ['', 'a'])).toContain('empty name');
  });

  it('says which rule each refused target broke', () => {
    const msg = (url: string) => {
      const r = canonicalizeRequest({ method: 'GET', url, rawHeaders: H });
      return r.ok ? '' : r.message;
    };
    expect(msg('/a/%2Fb?c=d')).toBe('The request path contains an encoded slash or backslash (%2F).');
    expect(msg('*')).toContain('Asterisk-form');
    expect(msg('')).toContain('absolute-form');
    expect(msg('http://kestra/x')).toContain('absolute-form');
    expect(msg('/a/%zz')).toContain('malformed percent-escape');
    expect(msg('/a/%00')).toContain('encoded control character');
    expect(msg('/a/%80')).toContain('non-ASCII');
    expect(msg('/a;b')).toContain(';');
    expect(msg('/a\\b')).toContain('backslash');
    expect(msg('/a#b')).toContain('"#"');
    expect(msg('/a b')).toContain('(code 32)');
    expect(msg('/a\u007f')).toContain('(code 127)');
    expect(msg('/a\u0080')).toContain('non-ASCII bytes');
    expect(msg('/x?a=%zz')).toContain('malformed percent-escape');
    expect(msg('/x?a=%00')).toContain('NUL');
    expect(msg('/x?a=1#b')).toContain('"#"');
    expect(msg('/x?a=b c')).toContain('must be percent-encoded');
    expect(ALLOWED_METHODS).toEqual(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
  });

  it('accepts exactly 8192 bytes of target', () => {
    const url = `/x?a=${'b'.repeat(MAX_TARGET_BYTES - 5)}`;
    expect(url.length).toBe(MAX_TARGET_BYTES);
    expect(run({ name: '', url, expect: 'ok' }).ok).toBe(true);
  });

  const TOKENS = ['/', '/', '.', '..', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', 'C', '%2e', '%2E', '%2f', '%5c', '%25', '%00',
    '%0a', '%c0%ae', '%20', '%3F', '%23', '%3A', ';', '\\', '?', '#', 'a', 'B', '0', '-', '_', '~', ':', '@', '=', '&', ' ', '\u00e9',
    "'", '(', '*', '+', '!', '$', ',', '[', '|'];
  const candidate = fc.tuple(fc.boolean(), fc.array(fc.constantFrom(...TOKENS), { maxLength: 24 }))
    .map(([slash, parts]) => (slash ? '/' : '') + parts.join(''));

  it('property: whatever is accepted means the same to any server that decodes once', () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (url) => {
        const r = canonicalizeRequest({ method: 'GET', url, rawHeaders: H });
        if (!r.ok) return;
        accepted++;
        expect(r.target).toBe(url);
        expect(r.path.startsWith('/')).toBe(true);
        expect(r.path).not.toContain('\\');
        expect(r.path).not.toContain('//');
        const segments = r.path.split('/').slice(1);
        if (segments[segments.length - 1] === '') segments.pop(); // the one allowed trailing '/'
        for (const seg of segments) {
          expect(seg).not.toBe('');
          expect(/^\.+$/.test(seg)).toBe(false);
          const decoded = decodeURIComponent(seg); // throws on invalid UTF-8: fails the property
          expect(decoded).not.toMatch(/[/\\\x00-\x1f\x7f]/);
          expect(/^\.+$/.test(decoded)).toBe(false);
          expect(decoded).toMatch(/^[\x20-\x7e]*$/);
        }
        // The WHATWG parser (what Node, undici and browsers use) reads the same path, untouched.
        expect(new URL(url, 'http://kestra').pathname).toBe(r.path);
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(100); // the property is not vacuous
  });

  it('property: an accepted query never carries _method, however it is spelled', () => {
    const part = fc.constantFrom('_method', '%5Fmethod', '%5f%4D%45thod', '_METHOD', 'a', '=', '&', ';', '%', '5F', 'x', '_', 'method');
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(part, { maxLength: 12 }), (parts) => {
        const r = canonicalizeRequest({ method: 'POST', url: `/x?${parts.join('')}`, rawHeaders: H });
        if (!r.ok) return;
        accepted++;
        for (const piece of r.query.split(/[&;]/)) {
          const name = piece.split('=')[0]!;
          const decoded = name.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))); // byte-wise: %A5 is fine in a query
          expect(decoded.toLowerCase()).not.toBe('_method');
        }
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('forwardableHeaders', () => {
  const owned = ['host', 'cookie', 'authorization', 'content-length'];

  it('lets Connection: remove only client headers, never the proxy\'s', () => {
    const raw = ['Host', 'perch', 'Connection', 'close, X-Forwarded-For, Authorization, Cookie, X-Keep',
      'Authorization', 'Basic client', 'Cookie', 'perch_session=s', 'X-Keep', 'gone', 'Accept', 'text/html'];
    const out = forwardableHeaders(raw, { owned });
    expect(out).toEqual({ accept: 'text/html' });
    // What the caller adds afterwards survives: the client nominated names cannot reach it.
    const withProxy = { ...out, authorization: 'Basic perch', 'x-forwarded-for': '10.0.0.1' };
    expect(withProxy.authorization).toBe('Basic perch');
  });

  it('drops hop-by-hop, ingress identity and forwarding headers', () => {
    const raw = ['Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'x', 'Upgrade', 'h2c', 'Transfer-Encoding', 'chunked',
      'Proxy-Authorization', 'Basic x', 'Proxy-Connection', 'keep-alive', 'Expect', '100-continue',
      'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Host', 'evil', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Prefix', '/x',
      'X-Forwarded-Uri', '/admin', 'X-Forwarded-User', 'admin', 'X-Forwarded-Email', 'a@b', 'X-Forwarded-Groups', 'admins',
      'Forwarded', 'for=1.2.3.4', 'X-Real-IP', '1.2.3.4', 'X-Original-URL', '/admin', 'X-Rewrite-URL', '/admin',
      'X-Auth-Request-User', 'admin', 'X-Auth-Request-Email', 'a@b', 'X-User-Id', '1', 'X-Remote-User', 'admin', 'Remote-User', 'admin',
      'X-Middleware-Subrequest', 'middleware', 'X-Client-IP', '1', 'True-Client-IP', '1', 'CF-Connecting-IP', '1',
      'Proxy-Authenticate', 'Basic', 'HTTP2-Settings', 'AAMAAABkAAQAAP__', 'X-Original-URI', '/admin', 'X-Original-Host', 'evil',
      'Accept-Charset', 'iso-8859-1', 'Content-Type', 'application/json'];
    expect(forwardableHeaders(raw, { owned })).toEqual({ 'content-type': 'application/json' });
    expect(isIngressStripped('x-forwarded-anything')).toBe(true);
    expect(isIngressStripped('x-request-id')).toBe(false);
  });

  it('removes only the names Connection: lists, not headers whose value names a header', () => {
    const raw = ['X-Note', 'accept', 'Accept', 'text/html', 'Connection', 'keep-alive', 'X-Keep', 'kept'];
    expect(forwardableHeaders(raw, { owned })).toEqual({ 'x-note': 'accept', accept: 'text/html', 'x-keep': 'kept' });
  });

  it('drops owned names whatever their case', () => {
    const raw = ['HOST', 'perch', 'cookie', 'a=1', 'AUTHORIZATION', 'Bearer t', 'Content-Length', '3', 'X-Request-Id', 'r1'];
    expect(forwardableHeaders(raw, { owned })).toEqual({ 'x-request-id': 'r1' });
  });

  it('merges duplicates per RFC 9110 and keeps other headers as sent', () => {
    const raw = ['Accept', 'text/html', 'accept', 'application/json', 'Cookie', 'a=1', 'Cookie', 'b=2', 'Set-Cookie', 'x=1',
      'Accept-Language', 'fr', 'User-Agent', 'curl/8'];
    expect(forwardableHeaders(raw, { owned: ['host'] })).toEqual({
      accept: 'text/html, application/json', cookie: 'a=1; b=2', 'accept-language': 'fr', 'user-agent': 'curl/8',
    });
  });

  it('is safe against prototype names', () => {
    const out = forwardableHeaders(['__proto__', 'x', 'constructor', 'y'], { owned: [] });
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(out)).toBe(null);
  });
});
