/**
 * Proof of isolation for NAMESPACE tenants (issue 20, point 5 of the issue): tenants `alpha` and
 * `bravo` live in ONE shared Kestra under their namespace roots. Generated from the policy map, every
 * tenanted OSS operation is called as an Admin of alpha (a tenant-wide binding there), naming bravo's
 * objects: in the path, in the query (namespace parameters and filters) and in the body (execution
 * ids, flow and trigger references, flow sources, and alpha flows whose subflows, flow triggers or
 * kv() reach into bravo). Nothing of bravo may be returned, counted, changed or forwarded; each leak
 * is listed by operation. On bravo's path every call is refused before any Kestra.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_MAP, type NamespaceSource, type PolicyRow } from '../../backend/authz/policy-map.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

/** Every value of bravo carries this marker; nothing else does (alpha's and the fillers' names avoid it). */
const MARK = 'bravo';
const B_NAMESPACE = 'bravo.secret';
const B_FLOW = 'bravoflow';
const A_NAMESPACE = 'alpha.team';

/** Alpha flows that reach into bravo, one way each: each must be refused as a whole. */
const REACHING_FLOWS = [
  `id: callsbravo\nnamespace: ${A_NAMESPACE}\ntasks:\n  - id: sub\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: ${B_NAMESPACE}\n    flowId: ${B_FLOW}\n`,
  `id: afterbravo\nnamespace: ${A_NAMESPACE}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    preconditions:\n      id: up\n      flows:\n        - namespace: ${B_NAMESPACE}\n          flowId: ${B_FLOW}\n`,
  `id: readsbravo\nnamespace: ${A_NAMESPACE}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ kv('bravokey', namespace='${B_NAMESPACE}') }}"\n`,
];

/** Reads and checks: a query naming bravo may be forwarded to them (Perch bounds what they answer, which is checked). */
const READS = new Set(['VIEW', 'LIST', 'VALIDATE']);
/** Editor helpers (graph, autocompletion, validation) answer about the flow YAML the caller posted, which names bravo here. */
const answersAboutPostedFlow = (row: PolicyRow) => READS.has(row.action ?? '') && [row.namespace, ...(row.alsoNamespaces ?? [])].some((s) => s.from === 'flowYamlBody' || s.from === 'flowYamlDocumentsBody');

const TENANTED = POLICY_MAP.filter((row) => row.path.startsWith('/api/v1/{tenant}/'));
const BRAVO_QUERY = `namespace=${B_NAMESPACE}&filters[namespace][PREFIX]=${MARK}`;

interface Call {
  row: PolicyRow;
  label: string;
  method: string;
  path: string;
  init: { json?: unknown; body?: string; headers?: Record<string, string> };
}

/** The request bodies that name bravo, from where the row reads its namespaces. */
function bodiesFor(row: PolicyRow, executionId: string): Array<Call['init']> {
  const sources: NamespaceSource[] = [row.namespace, ...(row.alsoNamespaces ?? [])];
  const yaml = (text: string) => ({ body: text, headers: { 'content-type': 'application/x-yaml' } });
  const out: Array<Call['init']> = [];
  for (const source of sources) {
    switch (source.from) {
      case 'executionIdsBody':
        out.push({ json: source.field ? { [source.field]: [executionId] } : [executionId] });
        break;
      case 'flowRefsBody':
        out.push({ json: [{ namespace: B_NAMESPACE, id: B_FLOW }] });
        break;
      case 'triggerRefsBody': {
        const refs = [{ namespace: B_NAMESPACE, flowId: B_FLOW, triggerId: 'schedule' }];
        out.push({ json: source.field ? { [source.field]: refs, disabled: true } : refs });
        break;
      }
      case 'triggerBody':
        out.push({ json: { namespace: B_NAMESPACE, flowId: B_FLOW, triggerId: 'schedule', disabled: true } });
        break;
      case 'flowYamlBody':
      case 'flowYamlDocumentsBody':
        out.push(yaml(logFlow(B_NAMESPACE, 'bravonew')), ...REACHING_FLOWS.map(yaml));
        break;
      case 'renderBody':
        out.push({ json: { namespace: B_NAMESPACE, expression: '{{ 1 }}' } }, { json: { executionId, expression: '{{ 1 }}' } });
        break;
      case 'filtersBody':
        out.push({ json: { filters: [{ field: 'namespace', operation: 'STARTS_WITH', value: MARK }] } }, { json: {} });
        break;
      default:
    }
  }
  out.push(...jacksonSpellings(sources, executionId));
  return out.length > 0 ? out : [row.method === 'GET' || row.method === 'DELETE' ? {} : { json: {} }];
}

/**
 * The same bodies spelled as Kestra's JSON binding also reads them (docs/compatibility.md, "JSON bodies"): a text
 * as a one-element list, a list as a lone item, a bean inside a one-element list; and a key given twice, bravo's
 * copy first and alpha's last.
 */
function jacksonSpellings(sources: readonly NamespaceSource[], executionId: string): Array<Call['init']> {
  const raw = (text: string) => ({ body: text, headers: { 'content-type': 'application/json' } });
  const out: Array<Call['init']> = [];
  for (const source of sources) {
    switch (source.from) {
      case 'executionIdsBody':
        out.push({ json: source.field ? { [source.field]: executionId } : executionId });
        break;
      case 'flowRefsBody':
        out.push({ json: [{ namespace: [B_NAMESPACE], id: B_FLOW }] }, { json: { namespace: B_NAMESPACE, id: B_FLOW } });
        out.push(raw(`[{"namespace":"${B_NAMESPACE}","id":"${B_FLOW}","namespace":"${A_NAMESPACE}"}]`));
        break;
      case 'triggerRefsBody': {
        const wrapped = [{ namespace: [B_NAMESPACE], flowId: B_FLOW, triggerId: 'schedule' }];
        const lone = { namespace: B_NAMESPACE, flowId: B_FLOW, triggerId: 'schedule' };
        out.push(...[wrapped, lone].map((refs) => ({ json: source.field ? { [source.field]: refs, disabled: true } : refs })));
        const twice = `[{"namespace":"${B_NAMESPACE}","flowId":"${B_FLOW}","triggerId":"schedule","namespace":"${A_NAMESPACE}"}]`;
        out.push(raw(source.field ? `{"${source.field}":${twice},"disabled":true}` : twice));
        break;
      }
      case 'triggerBody':
        out.push({ json: { namespace: [B_NAMESPACE], flowId: B_FLOW, triggerId: 'schedule', disabled: true } }, { json: [{ namespace: B_NAMESPACE, flowId: B_FLOW, triggerId: 'schedule', disabled: true }] });
        out.push(raw(`{"namespace":"${B_NAMESPACE}","flowId":"${B_FLOW}","triggerId":"schedule","disabled":true,"namespace":"${A_NAMESPACE}"}`));
        break;
      case 'renderBody':
        // Rendered in bravo's execution, the answer would carry bravo's namespace.
        out.push({ json: { expressions: ['{{ flow.namespace }}'], namespace: A_NAMESPACE, flowId: 'alphaflow', executionId: [executionId] } });
        break;
      case 'filtersBody':
        out.push({ json: { filters: [{ field: ['namespace'], operation: 'STARTS_WITH', value: MARK }] } }, { json: { filters: { field: 'namespace', operation: 'STARTS_WITH', value: MARK } } });
        break;
      default:
    }
  }
  return out;
}

describe('NAMESPACE isolation in one shared Kestra, generated from the policy map', () => {
  let shared: KestraDouble;
  let perch: RunningPerch;
  let owner: Browser;
  let alphaAdmin: Browser;
  let bravoExecution: string;
  /** What the shared Kestra holds of bravo, to compare after every call. */
  const bravoState = () =>
    JSON.stringify(
      (['flows', 'executions', 'files', 'dirs', 'kv', 'triggers'] as const).map((name) => [
        name,
        [...(shared.store[name] as Map<string, unknown>)].filter((entry) => JSON.stringify(entry, (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : v)).includes(MARK)),
      ]),
      (_k, v: unknown) => (v instanceof Map || v instanceof Set ? [...v] : Buffer.isBuffer(v) ? v.toString('base64') : v),
    );

  beforeAll(async () => {
    shared = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: shared.url, username: shared.username, password: shared.password } } });
    owner = new Browser(perch);
    await owner.login();
    for (const id of ['alpha', 'bravo']) {
      const created = await owner.fetch('POST', '/api/v1/tenants', { json: { id, name: id, isolation: { mode: 'NAMESPACE', namespaces: [id] } } });
      expect(created.status, created.text).toBe(200);
    }
    const alice = await signedInPerson(perch, owner, 'alpha-admin');
    expect((await owner.fetch('POST', '/api/v1/alpha/tenant-access', { json: { email: alice.email } })).status).toBe(204);
    expect((await owner.fetch('POST', '/api/v1/alpha/bindings', { json: { type: 'USER', externalId: alice.id, roleId: 'admin' } })).status).toBe(200);
    alphaAdmin = alice.browser;
    // Bravo's objects in the shared Kestra: a flow with a trigger, an execution (with logs), a KV entry and a namespace file.
    shared.addFlow(`${logFlow(B_NAMESPACE, B_FLOW)}triggers:\n  - id: schedule\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 0 1 1 *"\n`);
    shared.addFlow(logFlow(A_NAMESPACE, 'alphaflow'));
    const direct = (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) =>
      fetch(`${shared.url}${path}`, { method, body: init.body, headers: { authorization: shared.authorization, ...init.headers } });
    const run = await direct('POST', `/api/v1/main/executions/${B_NAMESPACE}/${B_FLOW}`);
    expect(run.status).toBe(200);
    bravoExecution = ((await run.json()) as { id: string }).id;
    expect(bravoExecution).not.toContain(MARK);
    await shared.waitForExecution(bravoExecution);
    expect((await direct('PUT', `/api/v1/main/namespaces/${B_NAMESPACE}/kv/bravokey`, { body: '"bravo-value"', headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const form = new FormData();
    form.set('fileContent', new Blob(['bravo file']), 'bravo-file.txt');
    expect((await fetch(`${shared.url}/api/v1/main/namespaces/${B_NAMESPACE}/files?path=/bravo-file.txt`, { method: 'POST', body: form, headers: { authorization: shared.authorization } })).status).toBe(200);
    // The double records a trigger's state on its first read: read once now, so that reads later change nothing.
    expect((await direct('GET', '/api/v1/main/triggers/search')).status).toBe(200);
    shared.clear();
  }, 60_000);
  afterAll(async () => {
    await perch?.close();
    await shared?.close();
  });

  const names = (text: string) => text.includes(MARK) || text.includes(bravoExecution);

  /** Every operation, on alpha's path or bravo's, naming bravo's objects in path, query and body. */
  function calls(tenant: string): Call[] {
    const params: Record<string, string> = { namespace: B_NAMESPACE, id: B_FLOW, flowId: B_FLOW, executionId: bravoExecution, triggerId: 'schedule', key: 'bravokey', path: 'bravo-file.txt', kind: 'FLOW' };
    const fill = (template: string) =>
      template.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === 'tenant' ? tenant : encodeURIComponent(params[name] ?? `x-${name}`)));
    return TENANTED.flatMap((row) => {
      const path = fill(row.path);
      return bodiesFor(row, bravoExecution).flatMap((init, i) => [
        { row, label: `${row.method} ${row.path} (body ${i + 1})`, method: row.method, path, init },
        { row, label: `${row.method} ${row.path} (body ${i + 1}, bravo query)`, method: row.method, path: `${path}?${BRAVO_QUERY}`, init },
      ]);
    });
  }

  it(`covers every tenanted OSS operation of the policy map (${TENANTED.length}); bravo’s objects are in the shared Kestra`, async () => {
    expect(TENANTED.length).toBeGreaterThan(100);
    expect(bravoState()).toContain(B_FLOW);
    expect(bravoState()).toContain('bravokey');
    expect(bravoState()).toContain('bravo-file.txt');
    expect(bravoState()).toContain(bravoExecution);
    // Alpha's admin does reach alpha's own flow in the shared Kestra, through alpha's path.
    const own = await alphaAdmin.fetch('GET', '/api/v1/alpha/flows/search');
    expect(own.status, own.text).toBe(200);
    expect(own.json).toMatchObject({ total: 1, results: [{ namespace: A_NAMESPACE, id: 'alphaflow' }] });
    expect(shared.requests.map((r) => r.url)).toEqual([expect.stringMatching(/^\/api\/v1\/main\/flows\/search\?/)]);
    shared.clear();
  });

  it('as Admin of alpha, on alpha’s path: nothing of bravo is answered, counted, changed or forwarded', async () => {
    const before = bravoState();
    const leaks: string[] = [];
    for (const call of calls('alpha')) {
      const seen = shared.requests.length;
      const answer = await alphaAdmin.fetch(call.method, call.path, call.init);
      for (const r of shared.requests.slice(seen)) {
        // Perch's own lookup of an execution's namespace (to decide) reads it; its answer goes nowhere.
        if (r.method === 'GET' && r.url === `/api/v1/main/executions/${bravoExecution}` && answer.status >= 400) continue;
        const [pathPart] = r.url.split('?');
        const addressed = names(pathPart!) && call.row.access !== 'authenticated'; // a signed-in catalogue (community blueprints) is no tenant's
        const written = !READS.has(call.row.action ?? '') && r.method !== 'GET' && names(`${r.url} ${r.body.toString('latin1')}`);
        if (addressed || written) leaks.push(`${call.label}: forwarded ${r.method} ${r.url}`);
      }
      if (answer.status < 400 && names(answer.text) && !answersAboutPostedFlow(call.row)) leaks.push(`${call.label}: answered bravo’s objects`);
      // Not even a refusal may name bravo's namespace to a caller who only knew an execution id.
      const asked = `${call.path} ${JSON.stringify(call.init.json ?? null)} ${call.init.body ?? ''}`;
      if (!asked.includes(MARK) && answer.text.includes(MARK)) leaks.push(`${call.label}: disclosed bravo’s namespace (${answer.status})`);
      const page = answer.json as { results?: unknown[]; total?: unknown } | undefined;
      if (answer.status < 400 && Array.isArray(page?.results) && typeof page.total === 'number' && page.total > page.results.length) leaks.push(`${call.label}: counted ${page.total} for ${page.results.length} results`);
      if (bravoState() !== before) {
        leaks.push(`${call.label}: changed bravo’s objects`);
        break;
      }
    }
    expect(leaks).toEqual([]);
    // Alpha's calls did reach the shared Kestra, rewritten to its one tenant.
    expect(shared.requests.length).toBeGreaterThan(0);
    expect(shared.requests.every((r) => r.url.startsWith('/api/v1/main/'))).toBe(true);
  }, 180_000);

  it('a session that selected alpha is routed the same way from the stock UI’s /api/v1/main/…', async () => {
    expect((await alphaAdmin.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'alpha' } })).status).toBe(200);
    try {
      const search = await alphaAdmin.fetch('GET', '/api/v1/main/flows/search?page=1&size=10');
      expect(search.status, search.text).toBe(200);
      expect(search.json).toMatchObject({ total: 1, results: [{ namespace: A_NAMESPACE, id: 'alphaflow' }] });
      expect((await alphaAdmin.fetch('GET', `/api/v1/main/flows/${B_NAMESPACE}/${B_FLOW}`)).status).toBe(403);
      expect((await alphaAdmin.fetch('GET', `/api/v1/main/flows/${A_NAMESPACE}/alphaflow`)).status).toBe(200);
    } finally {
      await alphaAdmin.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'main' } });
    }
  });

  it('a graph with its subflows expanded is refused: Kestra would read them wherever they live', async () => {
    shared.clear();
    const yaml = { body: REACHING_FLOWS[0]!, headers: { 'content-type': 'application/x-yaml' } };
    const expanded = await alphaAdmin.fetch('POST', '/api/v1/alpha/flows/graph?subflows=root.sub', yaml);
    expect(expanded.status, expanded.text).toBe(403);
    expect(expanded.json.message).toContain(`shows flow ${B_NAMESPACE}.${B_FLOW}`);
    // Even a subflow of alpha's own: the shared Kestra reads it unchecked, so the tenant refuses every expansion.
    const own = { ...yaml, body: REACHING_FLOWS[0]!.replace(`namespace: ${B_NAMESPACE}`, `namespace: ${A_NAMESPACE}`).replace(`flowId: ${B_FLOW}`, 'flowId: alphaflow') };
    const ownExpanded = await alphaAdmin.fetch('POST', '/api/v1/alpha/flows/graph?subflows=root.sub', own);
    expect(ownExpanded.status, ownExpanded.text).toBe(403);
    expect(ownExpanded.json.message).toMatch(/subflows are not expanded/);
    expect(shared.requests.filter((r) => r.url.includes('/graph'))).toEqual([]);
    // Main is not bounded: its graphs expand as Kestra's do.
    expect((await owner.fetch('POST', '/api/v1/main/flows/graph?subflows=root.sub', yaml)).status).toBe(200);
  });

  it('operations on the whole shared Kestra are refused on a NAMESPACE tenant’s path, even to an instance owner', async () => {
    shared.clear();
    const kestraWide = TENANTED.filter((row) => row.access === 'instanceOwner' || (row.path.includes('/endpoints/') && !row.path.includes('{executionId}')));
    expect(kestraWide.length).toBeGreaterThan(4);
    const leaks: string[] = [];
    for (const row of kestraWide) {
      const path = row.path.replace('{tenant}', 'alpha').replace(/\{([^}]+)\}/g, 'x-$1');
      const init = row.method === 'GET' || row.method === 'DELETE' ? {} : { json: {} };
      for (const [who, browser] of [['owner', owner], ['alpha admin', alphaAdmin]] as const) {
        const answer = await browser.fetch(row.method, path, init);
        if (answer.status !== 403) leaks.push(`${row.method} ${row.path} as ${who}: ${answer.status}`);
      }
    }
    expect(leaks).toEqual([]);
    expect(shared.requests).toEqual([]);
  });

  it('Perch’s own namespaced routes (EE namespaces, secrets) know no namespace outside alpha’s roots', async () => {
    const outside = await alphaAdmin.fetch('POST', '/api/v1/alpha/namespaces', { json: { id: 'bravo.mine' } });
    expect(outside.status, outside.text).toBe(403);
    expect(outside.json.message).toMatch(/outside tenant alpha's namespaces \(alpha\)/);
    expect((await alphaAdmin.fetch('PUT', `/api/v1/alpha/namespaces/${B_NAMESPACE}/secrets`, { json: { key: 'TAKEN', value: 'x' } })).status).toBe(403);
    expect((await alphaAdmin.fetch('GET', `/api/v1/alpha/namespaces/${B_NAMESPACE}/inherited-variables`)).status).toBe(403);
    const inside = await alphaAdmin.fetch('POST', '/api/v1/alpha/namespaces', { json: { id: 'alpha.mine' } });
    expect(inside.status, inside.text).toBe(200);
  });

  it('as Admin of alpha, on bravo’s path: every operation is refused (403) and nothing reaches the shared Kestra', async () => {
    shared.clear();
    const leaks: string[] = [];
    for (const call of calls('bravo').filter((c) => !c.label.includes('bravo query'))) {
      const answer = await alphaAdmin.fetch(call.method, call.path, call.init);
      if (answer.status !== 403) leaks.push(`${call.label}: ${answer.status}`);
    }
    expect(leaks).toEqual([]);
    expect(shared.requests).toEqual([]);
  }, 120_000);
});
