/**
 * A stateful stand-in for a Kestra OSS 2.0 server, for tests that cannot run the real one.
 *
 * Behaviour follows shared/reference/kestra-oss-notes.md (auth, cookies, CSRF, tenancy, UI) and every JSON
 * response / SSE event it sends on an OSS operation is validated against Kestra's OpenAPI spec
 * (its committed derivation contract/kestra-openapi.derived.json, see openapi-contract.ts). A response that breaks the contract is
 * answered with 500 and recorded in `contractViolations` — tests should assert that list is empty.
 *
 * Served (all under /api/v1/{tenant}/…, any tenant value serves the single `main` tenant as OSS does):
 *   flows (create/get/update/delete/search/distinct-namespaces/by-namespace/revisions, validate, delete/disable/
 *   enable by ids and by query, import, graph of a flow and of a source), concurrency-limit search, executions
 *   (create with multipart inputs, get, search, by-flow, follow SSE, resume, kill, delete, pause, restart, replay,
 *   labels, change-status, force-run, unqueue; delete, kill, change-status, force-run and unqueue by ids and by
 *   query; a flow's `concurrency` with `behavior: QUEUE` queues executions beyond its limit), logs (list, follow SSE, delete by execution and by flow trigger), webhooks,
 *   namespace files (upload/download/directory/stats/mkdir/move/delete/revisions/search/export), KV (set/get/
 *   delete/bulk delete/inheritance/list), trigger states (list for a flow, set-disabled, restart, unlock, delete,
 *   and set-disabled/unlock/delete of listed triggers),
 *   the tenant's secrets list, chart previews of executions and logs (dashboards.ts), the notification bell (/api/v1/notifications/…, an empty list), plugin endpoints
 *   (those of the `pluginEndpoints` option), /api/v1/configs,
 *   /api/v1/configs/login, /api/v1/login, /api/v1/logout, /ping, /ui/**, /.
 * Double-only helpers (not Kestra): GET /api/v1/{tenant}/perch-double/bytes?n=N (N pattern bytes, byte i = i % 251)
 * and GET /api/v1/{tenant}/perch-double/json (~1 KB JSON); both require auth like any API route.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import { dashboardRoutes } from './dashboards.js';
import { executionActionRoutes } from './execution-actions.js';
import { executionRoutes, waitForExecution as waitFor } from './executions.js';
import { expressionRoutes } from './expressions.js';
import { fileRoutes } from './files.js';
import { flowActionRoutes } from './flow-actions.js';
import { flowGraphRoutes } from './flow-graph.js';
import { flowRoutes, storeNewFlow } from './flows.js';
import {
  type Ctx,
  ContractViolationError,
  type DoubleRuntime,
  HttpError,
  compileRoutes,
  matchRoute,
  parseCookies,
  sendError,
} from './http.js';
import { kvRoutes } from './kv.js';
import { notificationRoutes } from './notifications.js';
import { pluginEndpointRoutes } from './plugin-endpoints.js';
import { lockTrigger, triggerRoutes } from './triggers.js';
import { BASIC_AUTH_COOKIE, CONTRACT_EXCEPTIONS, CSRF_COOKIE, apiMiscRoutes, uiRoutes } from './misc.js';
import { type ContractViolation, type OpenApiContract, loadContract } from './openapi-contract.js';
import { type DoubleUiVersion, setUiVersion } from './ui/ui-double.js';
import { secretRoutes } from './secrets.js';
import { DoubleStore, type StateType, executionJson, isTerminal } from './state.js';

export type { ContractViolation } from './openapi-contract.js';
export { patternByte } from './misc.js';

export interface RecordedRequest {
  method: string;
  /** Raw request target exactly as received. */
  url: string;
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface KestraDouble {
  /** http://127.0.0.1:PORT */
  url: string;
  username: string;
  password: string;
  /** `Basic base64(username:password)` */
  authorization: string;
  /** Every request, recorded (with its full body) before it is handled. */
  requests: RecordedRequest[];
  /** Responses that broke Kestra's OpenAPI contract (each was answered with 500). */
  contractViolations: ContractViolation[];
  /** The loaded contract (null when `validate: false`). */
  contract: OpenApiContract | null;
  /** Forget recorded requests. */
  clear(): void;
  /** Forget all state (flows, executions, logs, files, KV), recorded requests and violations. */
  reset(): void;
  close(): Promise<void>;
  /** Delay (ms) before each response's headers, for timeout tests. 0 = none. */
  setDelay(ms: number): void;
  /** Test hook: rewrite JSON bodies (status < 400) just before validation; null to remove. */
  setJsonTransform(fn: ((body: unknown, info: { method: string; pathname: string }) => unknown) | null): void;
  /** Seed a flow directly (same validation as POST /flows); returns its FlowWithSource JSON fields of interest. */
  addFlow(yaml: string): { namespace: string; id: string; revision: number };
  /** Current `ApiExecution` JSON of an execution, or undefined. */
  getExecution(id: string): Record<string, unknown> | undefined;
  /** Wait until the execution is in one of `states` (default: any terminal state); returns its JSON. */
  waitForExecution(id: string, states?: StateType[], timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Marks a trigger of a flow locked, as a running evaluation would (so that unlock has something to do). */
  lockTrigger(namespace: string, flowId: string, triggerId: string): void;
  /** Internal state, for assertions beyond the API. */
  store: DoubleStore;
}

export interface KestraDoubleOptions {
  /** Default `admin@kestra.local` (Kestra requires an e-mail). */
  username?: string;
  /** Default `Kestra-Double-1` (≥ 8 chars, upper + lower + digit, as Kestra requires). */
  password?: string;
  /** Validate responses against the OpenAPI spec (default true). */
  validate?: boolean;
  /** Enforce the 2.0 CSRF rule for cookie-authenticated mutating requests (default true). */
  csrf?: boolean;
  /** Milliseconds per execution step (default 50). */
  stepMs?: number;
  /** Record requests in `requests` (default true; turn off for long benchmarks). */
  record?: boolean;
  /** Keys of the secrets the (OSS) server's environment holds, listed by GET /api/v1/{tenant}/secrets. */
  secrets?: string[];
  /** Plugin endpoints the server's plugins declare, by plugin group (each answers what it was given, as JSON). */
  pluginEndpoints?: Record<string, string[]>;
  /** Which stock UI the /ui/** stand-in imitates (default 2.0; 1.x = vue-sidebar-menu landmarks, no tenant in paths). */
  ui?: DoubleUiVersion;
}

const ROUTES = compileRoutes([
  ...apiMiscRoutes,
  ...flowRoutes,
  ...flowActionRoutes,
  ...flowGraphRoutes,
  ...executionRoutes,
  ...executionActionRoutes,
  ...expressionRoutes,
  ...fileRoutes,
  ...kvRoutes,
  ...triggerRoutes,
  ...secretRoutes,
  ...notificationRoutes,
  ...dashboardRoutes,
  ...pluginEndpointRoutes,
  ...uiRoutes,
]);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The request body as Kestra reads it: Micronaut's server inflates a gzip or deflate body first
 * (`NettyHttpServerConfiguration.requestDecompressionEnabled`, on by default; docs/compatibility.md).
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const encoding = String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
      try {
        resolve(encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw);
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', reject);
  });
}

/** Kestra 2.0 auth filter: cookie BASIC_AUTH first (even if wrong), then `Authorization: Basic`. */
function authenticated(req: IncomingMessage, rt: DoubleRuntime): boolean {
  const expected = `${rt.username}:${rt.password}`;
  const decode = (b64: string): string => Buffer.from(b64.trim(), 'base64').toString('utf8');
  const cookie = parseCookies(req.headers.cookie).get(BASIC_AUTH_COOKIE);
  if (cookie !== undefined) return decode(cookie) === expected;
  const h = req.headers.authorization;
  if (h && /^basic /i.test(h)) return decode(h.slice(6)) === expected;
  return false;
}

function refererEndsWithLogin(req: IncomingMessage): boolean {
  const ref = req.headers.referer;
  if (!ref) return false;
  try {
    return new URL(ref, 'http://x').pathname.replace(/\/+$/, '').endsWith('/login');
  } catch {
    return false;
  }
}

export async function startKestraDouble(options: KestraDoubleOptions = {}): Promise<KestraDouble> {
  const username = options.username ?? 'admin@kestra.local';
  const password = options.password ?? 'Kestra-Double-1';
  const validate = options.validate ?? true;
  const csrf = options.csrf ?? true;
  const record = options.record ?? true;
  const contract = validate ? loadContract() : null;
  const requests: RecordedRequest[] = [];
  const store = new DoubleStore();
  let delayMs = 0;
  const rt: DoubleRuntime = {
    store,
    contract,
    exceptions: CONTRACT_EXCEPTIONS,
    violations: [],
    baseUrl: '',
    username,
    password,
    stepMs: options.stepMs ?? 50,
    jsonTransform: null,
    openStreams: new Set(),
    secretKeys: [...(options.secrets ?? [])],
    pluginEndpoints: new Map(Object.entries(options.pluginEndpoints ?? {}).map(([group, names]) => [group, new Set(names)])),
  };
  setUiVersion(rt, options.ui ?? '2.0');

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const rawUrl = req.url ?? '/';
    if (record) requests.push({ method: req.method ?? 'GET', url: rawUrl, rawHeaders: [...req.rawHeaders], headers: { ...req.headers }, body });
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (res.destroyed) return;

    res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    res.setHeader('X-Content-Type-Options', 'nosniff');

    const parsed = new URL(rawUrl, 'http://double.invalid');
    const ctx: Ctx = {
      req,
      res,
      method: (req.method ?? 'GET').toUpperCase(),
      rawUrl,
      pathname: parsed.pathname,
      query: parsed.searchParams,
      body,
      rt,
    };
    try {
      const found = matchRoute(ROUTES, ctx.method, ctx.pathname);
      const isApi = ctx.pathname === '/api/v1' || ctx.pathname.startsWith('/api/v1/');
      const open = found !== undefined && 'route' in found && found.route.open === true;
      if (isApi && !open) {
        if (!authenticated(req, rt)) {
          sendError(ctx, 401, 'Unauthorized', undefined, refererEndsWithLogin(req) ? {} : { 'WWW-Authenticate': 'Basic realm="Kestra"' });
          return;
        }
        const cookies = parseCookies(req.headers.cookie);
        if (csrf && !SAFE_METHODS.has(ctx.method) && (cookies.has(BASIC_AUTH_COOKIE) || cookies.has('JWT'))) {
          const header = req.headers['x-csrf-token'];
          const token = Array.isArray(header) ? header[0] : header;
          const expected = cookies.get(CSRF_COOKIE);
          if (!token || !expected || token !== expected) {
            sendError(ctx, 403, 'Forbidden: invalid or missing CSRF token');
            return;
          }
        }
      }
      if (found === undefined) {
        sendError(ctx, 404, 'Not Found');
        return;
      }
      if (!('route' in found)) {
        sendError(ctx, 405, `Method [${ctx.method}] not allowed for URI [${ctx.pathname}]`);
        return;
      }
      await found.route.handler(ctx, found.params);
    } catch (err) {
      if (err instanceof HttpError) {
        sendError(ctx, err.status, err.message, err.violations);
      } else if (err instanceof ContractViolationError) {
        sendError(ctx, 500, err.message);
      } else {
        sendError(ctx, 500, `Kestra double internal error: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(err));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  rt.baseUrl = `http://127.0.0.1:${port}`;

  const stopTimers = (): void => {
    for (const e of store.executions.values()) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = undefined;
    }
  };

  return {
    url: rt.baseUrl,
    username,
    password,
    authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
    requests,
    contractViolations: rt.violations,
    contract,
    store,
    clear() {
      requests.length = 0;
    },
    reset() {
      stopTimers();
      store.reset();
      requests.length = 0;
      rt.violations.length = 0;
    },
    setDelay(ms: number) {
      delayMs = Math.max(0, ms);
    },
    setJsonTransform(fn) {
      rt.jsonTransform = fn ? (b, ctx) => fn(b, { method: ctx.method, pathname: ctx.pathname }) : null;
    },
    addFlow(yaml: string) {
      const { flow, rev } = storeNewFlow(rt, yaml);
      return { namespace: flow.namespace, id: flow.id, revision: rev.revision };
    },
    lockTrigger(namespace: string, flowId: string, triggerId: string) {
      lockTrigger({ rt }, namespace, flowId, triggerId);
    },
    getExecution(id: string) {
      const e = store.executions.get(id);
      return e ? executionJson(e, 'api') : undefined;
    },
    async waitForExecution(id: string, states?: StateType[], timeoutMs = 10_000) {
      const e = await waitFor(rt, id, (x) => (states ? states.includes(x.state.current) : isTerminal(x.state)), timeoutMs);
      return executionJson(e, 'api');
    },
    async close() {
      stopTimers();
      for (const res of rt.openStreams) res.end();
      rt.openStreams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
