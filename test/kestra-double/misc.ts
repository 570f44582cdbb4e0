/**
 * Instance-level routes: configs, login/logout, /ping, the stock-UI stand-in under /ui, and the double-only
 * benchmark helpers under /api/v1/{tenant}/perch-double/ (NOT Kestra endpoints; they exist only in this double).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Ctx, type Route, sendBinary, sendEmpty, sendError, sendJson, sendText } from './http.js';
import { UI_DOUBLE_ASSET, UI_DOUBLE_SCRIPT, type DoubleUiVersion, uiVersionOf } from './ui/ui-double.js';

export const CSRF_COOKIE = '__Host-csrfToken';
export const BASIC_AUTH_COOKIE = 'BASIC_AUTH';
export const FLAG_COOKIE = 'kestraBasicAuthenticated';
export const KESTRA_VERSION = '2.0.0';

const INSTANCE_UUID = randomUUID();

function configs(ctx: Ctx): void {
  sendJson(ctx, 200, {
    uuid: INSTANCE_UUID,
    version: KESTRA_VERSION,
    edition: 'OSS',
    commitId: '0000000',
    commitDate: '2026-09-15T00:00:00.000Z',
    chartDefaultDuration: 'P30D',
    isCustomDashboardsEnabled: false,
    isAnonymousUsageEnabled: false,
    isUiAnonymousUsageEnabled: false,
    url: ctx.rt.baseUrl,
    preview: { initial: 100, max: 5000 },
    systemNamespace: 'system',
    hiddenLabelsPrefixes: ['system.'],
    isAiEnabled: false,
    isAiApiKeyConfigured: false,
    isBasicAuthInitialized: true,
    pluginsHash: 0,
    isConcurrencyViewEnabled: false,
  });
}

function loginConfig(ctx: Ctx): void {
  sendJson(ctx, 200, { isBasicAuthInitialized: true });
}

function login(ctx: Ctx): void {
  let creds: { username?: unknown; password?: unknown } = {};
  try {
    creds = JSON.parse(ctx.body.toString('utf8') || '{}') as typeof creds;
  } catch {
    sendError(ctx, 400, 'Invalid JSON body');
    return;
  }
  if (creds.username !== ctx.rt.username || creds.password !== ctx.rt.password) {
    sendError(ctx, 401, 'Invalid credentials');
    return;
  }
  const token = Buffer.from(`${ctx.rt.username}:${ctx.rt.password}`).toString('base64');
  sendEmpty(ctx, 204, {
    'Set-Cookie': [`${BASIC_AUTH_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`, `${FLAG_COOKIE}=true; Path=/`],
  });
}

function logout(ctx: Ctx): void {
  sendEmpty(ctx, 204, {
    'Set-Cookie': [
      `${BASIC_AUTH_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict`,
      `${FLAG_COOKIE}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`,
    ],
  });
}

function ping(ctx: Ctx): void {
  sendText(ctx, 200, 'pong', 'text/plain');
}

// ---------------------------------------------------------------------------------------------------------------
// UI stand-in (our own page, not Kestra's)

export function indexHtml(csrfToken: string, uiVersion: DoubleUiVersion = '2.0'): string {
  return `<!doctype html>
<html lang="en"${uiVersion === '1.x' ? ' data-kestra-double-ui="1.x"' : ''}>
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="html-head" content="replace">
  <meta name="csrf-token" content="${csrfToken}">
  <title>Kestra</title>
  <script>window.KESTRA_BASE_PATH = "/ui/"; window.KESTRA_UI_PATH = "/ui/";</script>
  <script type="module" crossorigin src="/ui/assets/index-double.js"></script>
</head>
<body>
  <div id="loader-wrapper"></div>
  <div id="app-container"><div id="app"></div></div>
</body>
</html>
`;
}

function uiIndex(ctx: Ctx): void {
  const token = randomBytes(24).toString('base64url');
  sendText(ctx, 200, indexHtml(token, uiVersionOf(ctx.rt)), 'text/html; charset=utf-8', {
    'Cache-Control': 'no-cache',
    'Set-Cookie': `${CSRF_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`,
  });
}

function uiAsset(ctx: Ctx, p: Record<string, string>): void {
  const name = p.rest ?? '';
  const immutable = { 'Cache-Control': 'public, max-age=31536000, immutable' };
  if (name === UI_DOUBLE_ASSET) {
    // The stock-UI stand-in: a small single-page app with Kestra's DOM landmarks (ui/index-double.js).
    sendText(ctx, 200, UI_DOUBLE_SCRIPT, 'application/javascript', immutable);
  } else if (/^[\w.-]+\.js$/.test(name)) {
    sendText(ctx, 200, `// Kestra double asset ${name}\nwindow.__kestraDoubleAsset = ${JSON.stringify(name)};\n`, 'application/javascript', immutable);
  } else if (/^[\w.-]+\.css$/.test(name)) {
    sendText(ctx, 200, `/* Kestra double asset ${name} */\n#app { min-height: 100vh; }\n`, 'text/css', immutable);
  } else {
    sendError(ctx, 404, 'Not Found');
  }
}

function uiAny(ctx: Ctx, p: Record<string, string>): void {
  const last = (p.rest ?? '').split('/').pop() ?? '';
  if (/\.[A-Za-z0-9]+$/.test(last)) {
    sendError(ctx, 404, 'Not Found');
    return;
  }
  uiIndex(ctx);
}

function redirect(to: string) {
  return (ctx: Ctx): void => {
    ctx.res.setHeader('Location', to);
    ctx.res.setHeader('Content-Length', '0');
    ctx.res.writeHead(302);
    ctx.res.end();
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Double-only benchmark helpers

const PATTERN_MOD = 251;
const PATTERN = Buffer.alloc(64 * 1024 + PATTERN_MOD);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PATTERN_MOD;

/** Byte `i` of the `/perch-double/bytes` stream (lets tests verify integrity without keeping a copy). */
export function patternByte(i: number): number {
  return i % PATTERN_MOD;
}

async function bytes(ctx: Ctx): Promise<void> {
  const n = Number(ctx.query.get('n') ?? String(1024 * 1024));
  if (!Number.isInteger(n) || n < 0 || n > 8 * 1024 * 1024 * 1024) {
    sendError(ctx, 400, 'n must be an integer between 0 and 8 GiB');
    return;
  }
  await sendBinary(ctx, 200, (off, len) => PATTERN.subarray(off % PATTERN_MOD, (off % PATTERN_MOD) + len), n);
}

const SMALL_JSON = {
  kind: 'perch-double/json',
  description: 'A small, fixed JSON document for proxy benchmarks (double-only endpoint, not part of Kestra).',
  items: Array.from({ length: 12 }, (_, i) => ({ id: `item-${i}`, namespace: 'company.team', value: i * 7, enabled: i % 2 === 0 })),
};

function json(ctx: Ctx): void {
  sendJson(ctx, 200, SMALL_JSON);
}

/** The core plugin types this double's flows use (enough for the AI copilot's grounding; Kestra lists hundreds). */
const CORE_PLUGIN = {
  name: 'core',
  title: 'Core',
  group: 'io.kestra.plugin.core',
  version: KESTRA_VERSION,
  tasks: ['io.kestra.plugin.core.log.Log', 'io.kestra.plugin.core.flow.Subflow', 'io.kestra.plugin.core.http.Request', 'io.kestra.plugin.core.kv.Set'].map((cls) => ({ cls, deprecated: false })),
  triggers: ['io.kestra.plugin.core.trigger.Schedule', 'io.kestra.plugin.core.trigger.Flow'].map((cls) => ({ cls, deprecated: false })),
};

/** `GET /api/v1/plugins` (listPlugins): one page of the installed plugins. */
function plugins(ctx: Ctx): void {
  sendJson(ctx, 200, { results: [CORE_PLUGIN], total: 1 });
}

/**
 * The properties part of a few core plugins' documentation, as Kestra's getPluginDocumentation reports it
 * (`schema.properties` holds the class's JSON schema: `properties`, `required`).
 */
const CORE_PLUGIN_PROPERTIES: Record<string, { properties: Record<string, unknown>; required: string[] }> = {
  'io.kestra.plugin.core.log.Log': {
    properties: {
      message: { title: 'One or more message(s) to be sent to the backend as logs.', anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      level: { title: 'The log level. If not specified, it defaults to `INFO`.', type: 'string', enum: ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'], default: 'INFO' },
    },
    required: ['message'],
  },
  'io.kestra.plugin.core.http.Request': {
    properties: {
      uri: { title: 'The fully-qualified URI that points to the HTTP destination', type: 'string' },
      method: { title: 'The HTTP method to use', type: 'string', enum: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'], default: 'GET' },
      body: { title: 'The full body as a string', type: 'string' },
    },
    required: ['uri'],
  },
};

/** `GET /api/v1/plugins/{cls}` (getPluginDocumentation): a plugin's documentation and JSON schemas; 404 for a class Kestra does not have. */
function pluginDocumentation(ctx: Ctx, params: Record<string, string>): void {
  const cls = params.cls!;
  const schema = CORE_PLUGIN_PROPERTIES[cls];
  if (!schema) return sendError(ctx, 404, `Plugin ${cls} not found`);
  sendJson(ctx, 200, { markdown: `# ${cls}`, schema: { properties: { $schema: 'http://json-schema.org/draft-07/schema#', title: cls, type: 'object', ...schema }, outputs: {}, definitions: {} } });
}

export const apiMiscRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/plugins', handler: plugins },
  { method: 'GET', path: '/api/v1/plugins/:cls', handler: pluginDocumentation },
  { method: 'GET', path: '/api/v1/configs/login', handler: loginConfig, open: true },
  { method: 'GET', path: '/api/v1/configs', handler: configs },
  { method: 'POST', path: '/api/v1/login', handler: login, open: true },
  { method: 'POST', path: '/api/v1/logout', handler: logout },
  { method: 'GET', path: '/api/v1/:tenant/perch-double/bytes', handler: bytes },
  { method: 'GET', path: '/api/v1/:tenant/perch-double/json', handler: json },
];

export const uiRoutes: Route[] = [
  { method: 'GET', path: '/', handler: redirect('/ui/'), open: true },
  { method: 'GET', path: '/ping', handler: ping, open: true },
  { method: 'GET', path: '/ui', handler: redirect('/ui/'), open: true },
  { method: 'GET', path: '/ui/', handler: uiIndex, open: true },
  { method: 'GET', path: '/ui/assets/*', handler: uiAsset, open: true },
  { method: 'GET', path: '/ui/*', handler: uiAny, open: true },
];

/** Routes served although they are not OSS operations of the spec (each one is deliberate). */
export const CONTRACT_EXCEPTIONS = [
  { method: 'GET', pattern: /^\/$/, reason: 'GET / redirects to /ui/ (UiController, not in the API spec)' },
  { method: 'GET', pattern: /^\/ping$/, reason: '/ping → pong (hidden from the spec)' },
  { method: 'GET', pattern: /^\/ui(\/.*)?$/, reason: 'stock UI (static SPA), not an API operation' },
  { method: 'GET', pattern: /^\/api\/v1\/[^/]+\/perch-double\//, reason: 'double-only benchmark helpers' },
  { method: '*', pattern: /^\/api\/v1\/notifications\//, reason: 'NotificationController: served by OSS 2.0, tagged EE in the spec (answers checked against its schemas in kestra-double-ui-calls.test.ts)' },
  { method: 'POST', pattern: /^\/api\/v1\/tenants\/main\/settings\/default-dashboards$/, reason: 'TenantController.setTenantDefaultDashboard: served by OSS 2.0 (c94e7743), tagged EE in the spec; Perch answers it 501, tests set it on the double directly' },
  { method: '*', pattern: /^\/api\/v1\/[^/]+\/plugins\/[^/]+\/endpoints\//, reason: 'PluginEndpointController: served by OSS 2.0, absent from the spec (the plugin decides the answer)' },
] as const;
