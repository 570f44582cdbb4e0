/**
 * Plumbing shared by the Kestra double's route modules: request context, routing, response helpers (every JSON
 * response and SSE event goes through the OpenAPI contract check), multipart parsing, cookies, query filters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import type { ContractViolation, OpenApiContract, RouteException } from './openapi-contract.js';
import { formatErrors } from './openapi-contract.js';
import type { DoubleStore } from './state.js';

export interface DoubleRuntime {
  store: DoubleStore;
  contract: OpenApiContract | null;
  exceptions: readonly RouteException[];
  violations: ContractViolation[];
  baseUrl: string;
  username: string;
  password: string;
  stepMs: number;
  /** Test hook: rewrites JSON bodies just before validation (to prove the validator bites). */
  jsonTransform: ((body: unknown, ctx: Ctx) => unknown) | null;
  /** Open SSE responses, ended on close(). */
  openStreams: Set<ServerResponse>;
  /** Keys of the secrets the server's environment holds (OSS: `SECRET_<KEY>` variables). */
  secretKeys: readonly string[];
  /** Plugin endpoints the double knows, by plugin group (plugin-endpoints.ts). */
  pluginEndpoints: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  rawUrl: string;
  pathname: string;
  query: URLSearchParams;
  body: Buffer;
  rt: DoubleRuntime;
}

export type Handler = (ctx: Ctx, params: Record<string, string>) => Promise<void> | void;

export interface Route {
  method: string;
  /** Path pattern: `:name` matches one segment, a trailing `*` matches the rest (named `rest`). */
  path: string;
  handler: Handler;
  /** Served without authentication (as Kestra's open URLs). */
  open?: boolean;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

/**
 * Negative when route a is more specific than b: at the first position where one has a literal segment and the
 * other a variable, the literal wins, as in Micronaut's router. So `…/executions/by-ids` or `…/flows/delete/by-ids`
 * is never read as an execution id or a flow `{namespace}/{id}`, whatever order the modules list their routes in.
 */
function compareRouteSpecificity(a: Route, b: Route): number {
  const sa = a.path.split('/');
  const sb = b.path.split('/');
  const variable = (seg: string) => seg.startsWith(':') || seg === '*';
  // Lexicographic over segments, literals (by text) before variables: a total order, so sorting is well defined;
  // routes whose literals differ somewhere never match the same path, so their relative order does not matter.
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const va = variable(sa[i]!);
    const vb = variable(sb[i]!);
    if (va !== vb) return va ? 1 : -1;
    if (!va && sa[i] !== sb[i]) return sa[i]! < sb[i]! ? -1 : 1;
  }
  return sa.length - sb.length;
}

export function compileRoutes(routes: readonly Route[]): CompiledRoute[] {
  return [...routes].sort(compareRouteSpecificity).map((r) => {
    const names: string[] = [];
    const src = r.path
      .split('/')
      .map((seg) => {
        if (seg === '*') {
          names.push('rest');
          return '(.*)';
        }
        if (seg.startsWith(':')) {
          names.push(seg.slice(1));
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    return { ...r, regex: new RegExp(`^${src}$`), names };
  });
}

export function matchRoute(
  routes: readonly CompiledRoute[],
  method: string,
  pathname: string,
): { route: CompiledRoute; params: Record<string, string> } | { methodNotAllowed: true } | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const m = route.regex.exec(pathname);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) continue;
    const params: Record<string, string> = {};
    route.names.forEach((n, i) => {
      const v = m[i + 1] ?? '';
      try {
        params[n] = decodeURIComponent(v);
      } catch {
        params[n] = v;
      }
    });
    return { route, params };
  }
  return pathMatched ? { methodNotAllowed: true } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Thrown when a response the double is about to send breaks the spec; the server turns it into a 500. */
export class ContractViolationError extends Error {
  constructor(readonly violation: ContractViolation) {
    super(`Kestra double contract violation: ${violation.message} ${formatErrors(violation.errors)}`.trim());
  }
}

/** An HTTP error a handler wants to answer with (Kestra/Micronaut style JSON error body). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly violations?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

export const notFound = (what: string): HttpError => new HttpError(404, what);
export const unprocessable = (message: string, violations?: { path: string; message: string }[]): HttpError =>
  new HttpError(422, message, violations);
export const conflict = (message: string): HttpError => new HttpError(409, message);
export const badRequest = (message: string): HttpError => new HttpError(400, message);

// ---------------------------------------------------------------------------------------------------------------
// Contract-checked responses

function runCheck(ctx: Ctx, status: number, contentType: string | null, body: unknown, sseEvent?: { data: unknown; id?: string }): void {
  const { contract, exceptions } = ctx.rt;
  if (!contract) return;
  const problem = contract.check(
    {
      method: ctx.method === 'HEAD' ? 'GET' : ctx.method,
      pathname: ctx.pathname,
      status,
      contentType,
      ...(body !== undefined ? { body } : {}),
      ...(sseEvent !== undefined ? { sseEvent } : {}),
    },
    exceptions,
  );
  if (problem) {
    const violation: ContractViolation = { ...problem, url: ctx.rawUrl };
    ctx.rt.violations.push(violation);
    throw new ContractViolationError(violation);
  }
}

export function sendJson(ctx: Ctx, status: number, body: unknown, opts: { contentType?: string; headers?: Record<string, string | string[]> } = {}): void {
  const contentType = opts.contentType ?? 'application/json';
  const finalBody = ctx.rt.jsonTransform && status < 400 ? ctx.rt.jsonTransform(body, ctx) : body;
  runCheck(ctx, status, contentType, finalBody);
  sendWhole(ctx, status, contentType, Buffer.from(JSON.stringify(finalBody)), opts.headers);
}

export function sendEmpty(ctx: Ctx, status: number, headers: Record<string, string | string[]> = {}): void {
  runCheck(ctx, status, null, undefined);
  writeHead(ctx, status, { ...(status === 204 || status === 304 ? {} : { 'Content-Length': '0' }), ...headers });
  ctx.res.end();
}

export function sendText(ctx: Ctx, status: number, text: string | Buffer, contentType: string, headers: Record<string, string | string[]> = {}): void {
  runCheck(ctx, status, contentType, undefined);
  sendWhole(ctx, status, contentType, typeof text === 'string' ? Buffer.from(text) : text, headers);
}

/** Micronaut's default `micronaut.server.netty.compression-threshold` (NettyHttpServerConfiguration), which Kestra keeps. */
const COMPRESSION_THRESHOLD = 1024;

/** Micronaut's `MediaType.isTextBased`: `text/*`, and the JSON, XML and YAML subtypes. */
function isTextBased(contentType: string): boolean {
  const [type = '', subtype = ''] = (contentType.split(';')[0] ?? '').trim().toLowerCase().split('/');
  return type === 'text' || /^(json|xml|yaml|x-yaml)$/.test(subtype) || /\+(json|xml)$/.test(subtype);
}

/**
 * The encoding Kestra's server picks from a request's Accept-Encoding, among the two the double offers (gzip,
 * deflate), as Micronaut's `Compressor.determineEncoding` ranks them: the higher q wins, gzip on a tie, `*`
 * stands for whichever is not named. Null: the answer goes uncompressed.
 */
export function negotiatedEncoding(acceptEncoding: string | undefined): 'gzip' | 'deflate' | null {
  let star = -1;
  let gzip = -1;
  let deflate = -1;
  for (const token of (acceptEncoding ?? '').split(',')) {
    const eq = token.indexOf('=');
    const parsed = eq === -1 ? 1 : Number.parseFloat(token.slice(eq + 1));
    const q = Number.isNaN(parsed) ? 0 : parsed;
    if (token.includes('*')) star = q;
    else if (token.includes('br') || token.includes('zstd') || token.includes('snappy')) continue;
    else if (token.includes('gzip') && q > gzip) gzip = q;
    else if (token.includes('deflate') && q > deflate) deflate = q;
  }
  if (gzip > 0 || deflate > 0) {
    if (gzip !== -1 && gzip >= deflate) return 'gzip';
    if (deflate !== -1) return 'deflate';
  }
  if (star > 0) {
    if (gzip === -1) return 'gzip';
    if (deflate === -1) return 'deflate';
  }
  return null;
}

/**
 * An answer sent whole. Kestra's Micronaut server compresses a text-based answer of 1 KiB or more when the
 * caller accepts it (`DefaultHttpCompressionStrategy`, `Compressor.prepare`: never for HEAD, 1xx, 204 or 304);
 * the double does the same for the answers it sends whole (its streams, SSE and downloads, stay uncompressed).
 */
function sendWhole(ctx: Ctx, status: number, contentType: string, body: Buffer, headers: Record<string, string | string[]> = {}): void {
  const compressible = ctx.method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304 && body.length >= COMPRESSION_THRESHOLD && isTextBased(contentType);
  const encoding = compressible ? negotiatedEncoding(ctx.req.headers['accept-encoding']) : null;
  const out = encoding === 'gzip' ? gzipSync(body, { level: 6 }) : encoding === 'deflate' ? deflateSync(body, { level: 6 }) : body;
  writeHead(ctx, status, { 'Content-Type': contentType, 'Content-Length': String(out.length), ...(encoding ? { 'Content-Encoding': encoding } : {}), ...headers });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : out);
}

/** Stream a buffer in chunks, honouring backpressure (no extra copy of the data). */
export async function sendBinary(ctx: Ctx, status: number, data: Buffer | ((offset: number, len: number) => Buffer), length: number, contentType = 'application/octet-stream', headers: Record<string, string | string[]> = {}): Promise<void> {
  runCheck(ctx, status, contentType, undefined);
  writeHead(ctx, status, { 'Content-Type': contentType, 'Content-Length': String(length), ...headers });
  if (ctx.method === 'HEAD') {
    ctx.res.end();
    return;
  }
  const res = ctx.res;
  const CHUNK = 64 * 1024;
  for (let off = 0; off < length; off += CHUNK) {
    if (res.destroyed) return;
    const len = Math.min(CHUNK, length - off);
    const chunk = typeof data === 'function' ? data(off, len) : data.subarray(off, off + len);
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

export function errorBody(ctx: Ctx, message: string, violations?: { path: string; message: string }[]): Record<string, unknown> {
  const body: Record<string, unknown> = { message, _links: { self: { href: ctx.rawUrl, templated: false } } };
  if (violations && violations.length > 0) {
    body._embedded = { errors: violations.map((v) => ({ message: `${v.path}: ${v.message}`, path: v.path })) };
  }
  return body;
}

export function sendError(ctx: Ctx, status: number, message: string, violations?: { path: string; message: string }[], headers: Record<string, string | string[]> = {}): void {
  if (ctx.res.headersSent) {
    ctx.res.destroy();
    return;
  }
  const text = JSON.stringify(errorBody(ctx, message, violations));
  const extra: Record<string, string | string[]> = { ...headers };
  if (status === 404) extra['X-Kestra-Edition'] = 'OSS';
  sendWhole(ctx, status, 'application/json', Buffer.from(text), extra);
}

function writeHead(ctx: Ctx, status: number, headers: Record<string, string | string[]>): void {
  for (const [k, v] of Object.entries(headers)) ctx.res.setHeader(k, v);
  ctx.res.writeHead(status);
}

export interface SseStream {
  send(data: unknown, id?: string): void;
  end(): void;
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

/** Open a `text/event-stream` response. Each event's data is checked against the operation's Event_* schema. */
export function openSse(ctx: Ctx): SseStream {
  runCheck(ctx, 200, 'text/event-stream', undefined);
  const res = ctx.res;
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.writeHead(200);
  res.flushHeaders();
  ctx.rt.openStreams.add(res);
  let closed = false;
  const closers: (() => void)[] = [];
  const finish = (): void => {
    if (closed) return;
    closed = true;
    ctx.rt.openStreams.delete(res);
    for (const fn of closers.splice(0)) fn();
  };
  res.on('close', finish);
  return {
    get closed() {
      return closed || res.destroyed;
    },
    send(data: unknown, id?: string) {
      if (closed || res.destroyed) return;
      const event = id !== undefined ? { data, id } : { data };
      try {
        runCheck(ctx, 200, 'text/event-stream', undefined, event);
      } catch (err) {
        // headers are gone: report through contractViolations (already recorded) and cut the stream
        res.destroy(err instanceof Error ? err : undefined);
        finish();
        return;
      }
      let frame = '';
      if (id !== undefined) frame += `id: ${id}\n`;
      frame += `data: ${JSON.stringify(data)}\n\n`;
      res.write(frame);
    },
    end() {
      if (!closed && !res.destroyed) res.end();
      finish();
    },
    onClose(fn: () => void) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing helpers

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    let value = part.slice(i + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      /* keep raw */
    }
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  /** A view into the request body (no copy). */
  data: Buffer;
}

/** Minimal multipart/form-data parser over an already-buffered body. */
export function parseMultipart(contentType: string | undefined, body: Buffer): MultipartPart[] {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return [];
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw badRequest('multipart boundary missing');
  const delim = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) return parts;
  for (;;) {
    pos += delim.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing `--`
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) throw badRequest('malformed multipart body');
    const headerText = body.subarray(pos, headerEnd).toString('utf8');
    const dataStart = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), dataStart);
    if (next < 0) throw badRequest('malformed multipart body (no closing boundary)');
    const headers = new Map<string, string>();
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const disp = headers.get('content-disposition') ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
    const ct = headers.get('content-type');
    parts.push({ name, data: body.subarray(dataStart, next), ...(filename !== undefined ? { filename } : {}), ...(ct ? { contentType: ct } : {}) });
    pos = next + 2;
  }
  return parts;
}

/** The request body as JSON; 400 naming the argument when it is not JSON (as Micronaut's body binding answers). */
export function jsonBody(ctx: Ctx, argument: string): unknown {
  try {
    return JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw badRequest(`Failed to convert argument [${argument}]: the body is not JSON`);
  }
}

/*
 * A JSON body field bound as Kestra's controllers bind it. Micronaut's ObjectMapper, which Kestra's own
 * ObjectMapperFactory extends, turns on ACCEPT_SINGLE_VALUE_AS_ARRAY and UNWRAP_SINGLE_VALUE_ARRAYS, and
 * Jackson coerces a number or boolean to a String: `["x"]` and `12` are read as "x" and "12", and a lone
 * value where a list is expected as a list of one (docs/compatibility.md).
 */

/** A field bound to a Java `String`: null when absent or null; 400 when Jackson could not read it as text. */
export function jacksonText(value: unknown, argument: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // One wrapper only: Jackson refuses a deeply nested array.
  if (Array.isArray(value) && value.length === 1 && !Array.isArray(value[0]) && value[0] !== null && typeof value[0] !== 'object') return jacksonText(value[0], argument);
  throw badRequest(`Failed to convert argument [${argument}]: Cannot deserialize value of type \`java.lang.String\``);
}

/** A field bound to a Java `List<String>`: a lone value is a list of one. */
export function jacksonTexts(value: unknown, argument: string): string[] | null {
  if (value === undefined || value === null) return null;
  return (Array.isArray(value) ? value : [value]).map((v) => {
    const text = jacksonText(v, argument);
    if (text === null) throw badRequest(`Failed to convert argument [${argument}]: null element`);
    return text;
  });
}

/** Form fields of a multipart (or urlencoded) body, as strings; repeated names keep the last value. */
export function formFields(ctx: Ctx): { fields: Map<string, string>; files: MultipartPart[] } {
  const ct = ctx.req.headers['content-type'];
  const fields = new Map<string, string>();
  const files: MultipartPart[] = [];
  if (ct && /^application\/x-www-form-urlencoded/i.test(ct)) {
    for (const [k, v] of new URLSearchParams(ctx.body.toString('utf8'))) fields.set(k, v);
    return { fields, files };
  }
  for (const p of parseMultipart(ct, ctx.body)) {
    if (p.filename !== undefined) files.push(p);
    else fields.set(p.name, p.data.toString('utf8'));
  }
  return { fields, files };
}

export interface QueryFilter {
  field: string;
  operation: string;
  values: string[];
  /** For `filters[labels][EQUALS][key]=value`. */
  key?: string;
}

/** PHP-style `filters[field][OP]=v` (and `filters[labels][OP][key]=v`) query parameters. */
export function parseFilters(query: URLSearchParams): QueryFilter[] {
  const out: QueryFilter[] = [];
  for (const [k, v] of query) {
    const m = /^filters\[([^\]]+)\]\[([^\]]+)\](?:\[([^\]]*)\])?$/.exec(k);
    if (!m) continue;
    const field = m[1]!;
    const operation = m[2]!.toUpperCase();
    const listy = operation === 'IN' || operation === 'NOT_IN';
    const values = listy ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : [v];
    const existing = out.find((f) => f.field === field && f.operation === operation && f.key === m[3] && listy);
    if (existing) existing.values.push(...values);
    else out.push({ field, operation, values, ...(m[3] !== undefined ? { key: m[3] } : {}) });
  }
  return out;
}

/** Does `actual` satisfy filter `f`? Namespace PREFIX means "this namespace or a child of it". */
export function filterMatches(f: QueryFilter, actual: string | undefined): boolean {
  const a = actual ?? '';
  const v = f.values[0] ?? '';
  switch (f.operation) {
    case 'EQUALS':
      return a === v;
    case 'NOT_EQUALS':
      return a !== v;
    case 'IN':
      return f.values.includes(a);
    case 'NOT_IN':
      return !f.values.includes(a);
    case 'PREFIX':
      return a === v || a.startsWith(`${v}.`);
    case 'STARTS_WITH':
      return a.startsWith(v);
    case 'ENDS_WITH':
      return a.endsWith(v);
    case 'CONTAINS':
      return a.toLowerCase().includes(v.toLowerCase());
    case 'REGEX':
      try {
        return new RegExp(v).test(a);
      } catch {
        return false;
      }
    default:
      throw badRequest(`unsupported filter operation ${f.operation} on ${f.field}`);
  }
}

export function paging(query: URLSearchParams): { page: number; size: number } {
  const page = Number(query.get('page') ?? '1');
  const size = Number(query.get('size') ?? '10');
  if (!Number.isInteger(page) || page < 1) throw badRequest('page must be >= 1');
  if (!Number.isInteger(size) || size < 1) throw badRequest('size must be >= 1');
  return { page, size };
}

export function paginate<T>(items: readonly T[], query: URLSearchParams): { results: T[]; total: number } {
  const { page, size } = paging(query);
  return { results: items.slice((page - 1) * size, page * size), total: items.length };
}

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 22-char base62 id, shaped like Kestra's execution/task-run ids. */
export function newId(): string {
  const bytes = randomBytes(22);
  let s = '';
  for (const b of bytes) s += BASE62[b % 62];
  return s;
}

/**
 * An instant as Kestra writes it: Jackson's JavaTimeModule with WRITE_DATES_AS_TIMESTAMPS off prints `Instant`s
 * with DateTimeFormatter.ISO_INSTANT, i.e. UTC, `Z`, and a fraction of 0, 3, 6 or 9 digits (trailing zero groups
 * dropped); the JVM's clock gives microseconds. `2026-01-02T03:04:05Z`, `…05.120Z`, `…05.123456Z`.
 */
export function kestraInstant(epochMs: number, extraMicros = 0): string {
  const wholeMs = Math.floor(epochMs);
  const micros = (wholeMs % 1000) * 1000 + extraMicros;
  const seconds = new Date(wholeMs - (wholeMs % 1000)).toISOString().slice(0, 19);
  if (micros === 0) return `${seconds}Z`;
  if (micros % 1000 === 0) return `${seconds}.${String(micros / 1000).padStart(3, '0')}Z`;
  return `${seconds}.${String(micros).padStart(6, '0')}Z`;
}

/** Now, with the microseconds of the high-resolution clock, written as Kestra writes instants. */
export function nowIso(): string {
  const t = performance.timeOrigin + performance.now();
  return kestraInstant(Math.floor(t), Math.min(999, Math.floor((t - Math.floor(t)) * 1000)));
}

/** ISO-8601 duration of a millisecond span, e.g. `PT1.234S`. */
export function isoDuration(ms: number): string {
  const totalSeconds = Math.max(0, ms) / 1000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = +(totalSeconds % 60).toFixed(3);
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
}

/** Parse a (day/time) ISO-8601 duration into milliseconds; undefined if not a duration. */
export function parseIsoDuration(text: string): number | undefined {
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text.trim());
  if (!m || text.trim() === 'P' || /T$/i.test(text.trim())) return undefined;
  const [d, h, mi, s] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)) as [number, number, number, number];
  return ((d * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

/**
 * YAML as Kestra reads it: SnakeYAML (YAML 1.1, under Jackson) starts a line at a lone CR, NEL, U+2028 and U+2029
 * too, so they are read as line breaks here (docs/compatibility.md).
 */
export function parseKestraYaml(text: string, options: { uniqueKeys?: boolean } = {}): unknown {
  return parseYaml(text.replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n'), options);
}
