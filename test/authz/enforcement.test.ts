import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, grantRole, startPerch, type RunningPerch } from '../support/perch.js';
import { fileUpload } from '../support/multipart.js';

const flow = (namespace: string, id: string, extra = '') =>
  `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n${extra}`;
const yaml = { 'content-type': 'application/x-yaml' };

/**
 * A Viewer, a Launcher and an Editor bound to different namespaces try every kind of call through
 * Perch and see exactly what their roles allow (Kestra is the API double).
 */
describe('RBAC enforced on every Kestra call', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let viewer: Browser;
  let launcher: Browser;
  let editor: Browser;
  let financeRun: string;

  async function person(email: string, role: 'viewer' | 'launcher' | 'editor', namespace: string): Promise<Browser> {
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email, password: 'a good long password' } });
    await grantRole(perch.perch, created.json.id, role, namespace);
    const browser = new Browser(perch);
    await browser.login(email, 'a good long password');
    return browser;
  }

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    admin = new Browser(perch);
    await admin.login();
    for (const [ns, id] of [['company.team', 'hello'], ['company.team.sub', 'deep'], ['company.finance', 'payroll'], ['prod', 'etl'], ['production', 'lookalike']]) {
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: flow(ns!, id!), headers: yaml })).status).toBe(200);
    }
    viewer = await person('viewer@example.com', 'viewer', 'company.team');
    launcher = await person('launcher@example.com', 'launcher', 'company.finance');
    editor = await person('editor@example.com', 'editor', 'prod');
    const run = await admin.fetch('POST', '/api/v1/main/executions/company.finance/payroll', { body: '' });
    financeRun = run.json.id;
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
    expect(kestra.contractViolations).toEqual([]);
  });

  it('lets a Viewer read its namespace and its children, and nothing else', async () => {
    expect((await viewer.fetch('GET', '/api/v1/main/flows/company.team/hello')).status).toBe(200);
    expect((await viewer.fetch('GET', '/api/v1/main/flows/company.team.sub/deep')).status).toBe(200);
    const other = await viewer.fetch('GET', '/api/v1/main/flows/company.finance/payroll');
    expect(other.status).toBe(403);
    expect(other.json.message).toMatch(/FLOW VIEW in company\.finance/);
    expect((await viewer.fetch('PUT', '/api/v1/main/flows/company.team/hello', { body: flow('company.team', 'hello'), headers: yaml })).status).toBe(403);
    expect((await viewer.fetch('POST', '/api/v1/main/executions/company.team/hello', { body: '' })).status).toBe(403);
    expect((await viewer.fetch('DELETE', '/api/v1/main/flows/company.team/hello')).status).toBe(403);
  });

  it('narrows searches to what the caller may see, with honest totals', async () => {
    kestra.clear();
    const mine = await viewer.fetch('GET', '/api/v1/main/flows/search?page=1&size=25');
    expect(mine.status).toBe(200);
    expect(mine.json.results.map((f: { namespace: string }) => f.namespace).sort()).toEqual(['company.team', 'company.team.sub']);
    expect(mine.json.total).toBe(2);
    expect(kestra.requests[0]!.url).toBe('/api/v1/main/flows/search?page=1&size=25&filters[namespace][PREFIX]=company.team');

    // Widening the filter does not widen the answer: Kestra gets Perch's filter instead of the caller's.
    kestra.clear();
    const wider = await viewer.fetch('GET', '/api/v1/main/flows/search?filters[namespace][PREFIX]=company');
    expect(wider.json.results.every((f: { namespace: string }) => f.namespace.startsWith('company.team'))).toBe(true);
    expect(wider.json.total).toBe(2);
    expect(kestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/flows/search?filters[namespace][PREFIX]=company.team']);

    // A narrower filter inside the caller's reach is the intersection: it alone goes to Kestra.
    kestra.clear();
    const narrow = await viewer.fetch('GET', '/api/v1/main/flows/search?filters[namespace][EQUALS]=company.team.sub');
    expect(narrow.json.results.map((f: { id: string }) => f.id)).toEqual(['deep']);
    expect(kestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/flows/search?filters[namespace][EQUALS]=company.team.sub']);

    // Repeated and differently spelled filters are intersected by Perch, never passed on beside its own.
    kestra.clear();
    const repeated = await viewer.fetch('GET', '/api/v1/main/flows/search?filters[namespace][IN]=company.finance,company.team.sub&filters%5BNamespace%5D%5Bprefix%5D=company;size=5');
    expect(repeated.json.results.map((f: { id: string }) => f.id)).toEqual(['deep']);
    expect(kestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/flows/search?size=5&filters[namespace][EQUALS]=company.team.sub']);

    // Nothing in common: an empty page from Perch, and no request at all to Kestra.
    kestra.clear();
    const outside = await viewer.fetch('GET', '/api/v1/main/flows/search?filters[namespace][PREFIX]=company.teamx');
    expect(outside.status).toBe(200);
    expect(outside.json).toEqual({ results: [], total: 0 });
    const legacy = await viewer.fetch('GET', '/api/v1/main/flows/search?namespace=company');
    expect(legacy.status).toBe(400);
    expect(legacy.json.message).toMatch(/legacy namespace= parameter/);
    expect(kestra.requests).toEqual([]);

    // A grant on prod never reaches production.
    const prod = await editor.fetch('GET', '/api/v1/main/flows/search');
    expect(prod.json.results.map((f: { namespace: string }) => f.namespace)).toEqual(['prod']);
    expect(prod.json.total).toBe(1);

    // Filters that could combine others are refused rather than guessed at.
    expect((await viewer.fetch('GET', '/api/v1/main/flows/search?filters[or][0][namespace]=company')).status).toBe(400);
  });

  it('pages exactly across several namespace roots, counting nothing hidden', async () => {
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'two-roots@example.com', password: 'a good long password' } });
    await grantRole(perch.perch, created.json.id, 'viewer', 'company.team.sub');
    await grantRole(perch.perch, created.json.id, 'viewer', 'prod');
    const twoRoots = new Browser(perch);
    await twoRoots.login('two-roots@example.com', 'a good long password');
    const ids = async (q: string) => (await twoRoots.fetch('GET', `/api/v1/main/flows/search?${q}`)).json;
    const all = await ids('page=1&size=10&sort=id:asc');
    const visible = all.results.map((f: { namespace: string }) => f.namespace);
    expect(visible.every((ns: string) => ns === 'company.team.sub' || ns === 'prod' || ns.startsWith('prod.'))).toBe(true);
    expect(all.total).toBe(all.results.length);
    expect(all.total).toBeGreaterThanOrEqual(2);
    const first = await ids('page=1&size=1&sort=id:asc');
    const second = await ids('page=2&size=1&sort=id:asc');
    expect(first.total).toBe(all.total);
    expect([first.results[0].id, second.results[0].id]).toEqual([all.results[0].id, all.results[1].id]);

    // Paging read as Kestra reads names (encoded, after `;`): Perch's own paging replaces it, never goes beside it.
    kestra.clear();
    const spelled = await ids('p%61ge=2;s%69ze=1&sort=id:asc&filters[namespace][NOT_EQUALS]=nothing');
    expect(spelled.results.map((f: { id: string }) => f.id)).toEqual([all.results[1].id]);
    expect(spelled.total).toBe(all.total);
    for (const { url } of kestra.requests) {
      const names = url.slice(url.indexOf('?') + 1).split('&').map((p) => decodeURIComponent(p.slice(0, p.indexOf('='))));
      expect(names.filter((n) => n === 'page'), url).toHaveLength(1);
      expect(names.filter((n) => n === 'size'), url).toHaveLength(1);
      expect(names.some((n) => n.startsWith('filters[namespace]')), url).toBe(false);
    }
  });

  it('filters namespace lists to the visible ones', async () => {
    const list = await viewer.fetch('GET', '/api/v1/main/flows/distinct-namespaces');
    expect(list.status).toBe(200);
    expect(list.json).toEqual(['company.team', 'company.team.sub']);
  });

  it('lets a Launcher run flows and follow executions in its namespace, but not kill them or touch flows', async () => {
    const run = await launcher.fetch('POST', '/api/v1/main/executions/company.finance/payroll', { body: '' });
    expect(run.status).toBe(200);
    expect((await launcher.fetch('GET', `/api/v1/main/executions/${run.json.id}`)).status).toBe(200);
    const kill = await launcher.fetch('DELETE', `/api/v1/main/executions/${run.json.id}/actions/kill`);
    expect(kill.status).toBe(403);
    expect(kill.json.message).toMatch(/EXECUTION KILL in company\.finance/);
    expect((await launcher.fetch('POST', '/api/v1/main/flows', { body: flow('company.finance', 'new'), headers: yaml })).status).toBe(403);
    expect((await launcher.fetch('POST', '/api/v1/main/executions/company.team/hello', { body: '' })).status).toBe(403);
  });

  it('resolves execution ids to namespaces before deciding, and fails closed on unknown ids', async () => {
    expect((await viewer.fetch('GET', `/api/v1/main/executions/${financeRun}`)).status).toBe(403);
    const logs = await viewer.fetch('GET', `/api/v1/main/logs/${financeRun}`);
    expect(logs.status).toBe(403);
    expect((await launcher.fetch('GET', `/api/v1/main/logs/${financeRun}`)).status).toBe(200);
    const missing = await launcher.fetch('GET', '/api/v1/main/executions/doesNotExist123');
    expect(missing.status).toBe(404);
  });

  it('checks the namespace inside flow YAML: an Editor on prod creates in prod.* but not elsewhere', async () => {
    expect((await editor.fetch('POST', '/api/v1/main/flows', { body: flow('prod.reports', 'daily'), headers: yaml })).status).toBe(200);
    const out = await editor.fetch('POST', '/api/v1/main/flows', { body: flow('production', 'sneaky'), headers: yaml });
    expect(out.status).toBe(403);
    expect(out.json.message).toMatch(/FLOW CREATE in production/);
    // Moving a flow out of reach by changing the namespace in the body of an update.
    const moved = await editor.fetch('PUT', '/api/v1/main/flows/prod/etl', { body: flow('company.finance', 'etl'), headers: yaml });
    expect(moved.status).toBe(403);
    // Duplicate keys would let Kestra and Perch read different namespaces.
    const dup = await editor.fetch('POST', '/api/v1/main/flows', { body: 'id: x\nnamespace: prod\nnamespace: company.finance\ntasks: []\n', headers: yaml });
    expect(dup.status).toBe(400);
  });

  it('refuses a flow whose tasks reach beyond its author’s rights, naming each line', async () => {
    const subflow = (target: string) =>
      `id: caller\nnamespace: prod\ntasks:\n  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: ${target}\n    flowId: payroll\n`;
    expect((await editor.fetch('POST', '/api/v1/main/flows', { body: subflow('prod.jobs'), headers: yaml })).status).toBe(200);
    const escape = await editor.fetch('POST', '/api/v1/main/flows', { body: subflow('company.finance').replace('id: caller', 'id: caller2'), headers: yaml });
    expect(escape.status).toBe(403);
    expect(escape.json.message).toMatch(/line 6: .*company\.finance.*FLOW EXECUTE/);

    const kv = `id: reader\nnamespace: prod\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ kv('salary', namespace='company.finance') }}"\n`;
    const kvRes = await editor.fetch('POST', '/api/v1/main/flows', { body: kv, headers: yaml });
    expect(kvRes.status).toBe(403);
    expect(kvRes.json.lines[0]).toMatch(/^line 6: .*KVSTORE VIEW in company\.finance/);

    const api = `id: admin_task\nnamespace: prod\ntasks:\n  - id: x\n    type: io.kestra.plugin.kestra.flows.Export\n`;
    expect((await editor.fetch('POST', '/api/v1/main/flows', { body: api, headers: yaml })).status).toBe(403);
    // The instance's admin may.
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: subflow('company.finance').replace('id: caller', 'id: caller3'), headers: yaml })).status).toBe(200);
  });

  it('unpacks flow imports (ZIP or YAML) and checks every flow in them', async () => {
    const { zipSync, strToU8 } = await import('fflate');
    const upload = fileUpload;
    const inside = zipSync({ 'a.yml': strToU8(flow('prod.imported', 'a')), 'b.yaml': strToU8(flow('prod', 'b')) });
    kestra.clear();
    const ok = await editor.fetch('POST', '/api/v1/main/flows/import', upload(inside, 'flows.zip'));
    expect(ok.status).not.toBe(403);
    expect(kestra.requests).toHaveLength(1);

    const mixed = zipSync({ 'a.yml': strToU8(flow('prod', 'a')), 'evil.yml': strToU8(flow('company.finance', 'evil')) });
    const refused = await editor.fetch('POST', '/api/v1/main/flows/import', upload(mixed, 'flows.zip'));
    expect(refused.status).toBe(403);
    expect(refused.json.message).toMatch(/company\.finance/);

    const yamlDocs = `${flow('prod', 'c')}---\n${flow('company.team', 'd')}`;
    expect((await editor.fetch('POST', '/api/v1/main/flows/import', upload(yamlDocs, 'flows.yml'))).status).toBe(403);

    const bomb = zipSync({ 'big.yml': new Uint8Array(40 * 1024 * 1024) }, { level: 9 });
    const bombRes = await editor.fetch('POST', '/api/v1/main/flows/import', upload(bomb, 'bomb.zip'));
    expect(bombRes.status).toBe(400);
    expect(bombRes.json.message).toMatch(/unpacks to more than/);
  });

  it('refuses an update whose body names another flow than the path', async () => {
    const res = await editor.fetch('PUT', '/api/v1/main/flows/prod/etl', { body: flow('prod', 'renamed'), headers: yaml });
    expect(res.status).toBe(422);
    expect(res.json.message).toMatch(/prod\.renamed, not prod\.etl/);
    expect((await editor.fetch('PUT', '/api/v1/main/flows/prod/etl', { body: flow('prod', 'etl'), headers: yaml })).status).toBe(200);
  });

  it('bounds a bulk call whose filters travel in a JSON body to the caller’s namespace', async () => {
    // A Developer-like grant: TRIGGER DELETE on prod only.
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'triggers@example.com', password: 'a good long password' } });
    await grantRole(perch.perch, created.json.id, 'editor', 'prod');
    const person = new Browser(perch);
    await person.login('triggers@example.com', 'a good long password');
    kestra.clear();
    // A filter sharing nothing with prod: refused, nothing reaches Kestra.
    const outside = await person.fetch('DELETE', '/api/v1/main/triggers/delete/by-query', {
      json: { filters: [{ field: 'namespace', operation: 'PREFIX', value: 'company' }, { field: 'flowId', operation: 'EQUALS', value: 'etl' }] },
    });
    expect(outside.status).toBe(403);
    expect(outside.json.message).toMatch(/select no namespace where you may TRIGGER DELETE \(prod\)/);
    expect(kestra.requests).toEqual([]);
    // A prefix is no exact bound for a write (Kestra reads it as SQL LIKE): refused, nothing sent.
    const prefixed = await person.fetch('DELETE', '/api/v1/main/triggers/delete/by-query', {
      json: { filters: [{ field: 'namespace', operation: 'STARTS_WITH', value: 'pro' }, { field: 'flowId', operation: 'EQUALS', value: 'etl' }] },
    });
    expect(prefixed.status).toBe(403);
    expect(prefixed.json.message).toMatch(/namespaces named one by one/);
    expect(kestra.requests).toEqual([]);
    const res = await person.fetch('DELETE', '/api/v1/main/triggers/delete/by-query', {
      json: { filters: [{ field: 'namespace', operation: 'IN', value: ['prod', 'prod.etl', 'production'] }, { field: 'flowId', operation: 'EQUALS', value: 'etl' }] },
    });
    expect(res.status).not.toBe(403);
    expect(kestra.requests).toHaveLength(1);
    expect(kestra.requests[0]!.url).toBe('/api/v1/main/triggers/delete/by-query?filters[namespace][IN]=prod,prod.etl');
    expect(JSON.parse(kestra.requests[0]!.body.toString())).toEqual({
      filters: [{ field: 'flowId', operation: 'EQUALS', value: 'etl' }, { field: 'namespace', operation: 'IN', value: ['prod', 'prod.etl'] }],
    });
    const nested = await person.fetch('DELETE', '/api/v1/main/triggers/delete/by-query', { json: { filters: [{ logical: 'OR', children: [] }] } });
    expect(nested.status).toBe(400);
  });

  it('sends a write by query only Perch’s namespace filter, and nothing when it cannot bound it exactly', async () => {
    kestra.clear();
    // Editor on prod: of the named namespaces, only prod (not the look-alike production) is kept.
    const kept = await editor.fetch('DELETE', '/api/v1/main/executions/by-query?filters[state][IN]=FAILED&filters[namespace][IN]=prod,production,company.finance&filters[namespace][PREFIX]=prod');
    expect(kept.status, kept.text).not.toBe(403);
    expect(kestra.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /api/v1/main/executions/by-query?filters[state][IN]=FAILED&filters[namespace][EQUALS]=prod']);
    kestra.clear();
    for (const query of ['', '?filters[namespace][PREFIX]=prod', '?filters[namespace][IN]=production', '?namespace=prod']) {
      const refused = await editor.fetch('DELETE', `/api/v1/main/executions/by-query${query}`);
      expect([400, 403], query).toContain(refused.status);
      expect(refused.json.message, query).toMatch(/namespace/);
    }
    expect(kestra.requests).toEqual([]);
  });

  it('refuses a by-ids call whole when any item is out of reach, naming it', async () => {
    const res = await viewer.fetch('POST', '/api/v1/main/flows/export/by-ids', {
      json: [{ namespace: 'company.team', id: 'hello' }, { namespace: 'company.finance', id: 'payroll' }],
    });
    expect(res.status).toBe(403);
    expect(res.json.message).toMatch(/company\.finance/);
    expect(res.json.message).not.toMatch(/in company\.team[,]/);
  });

  it('tells each person what they may do, per namespace, in /api/v1/me', async () => {
    const { apiMeWithPermissionsSchema } = await import('../../lib/schemas/users.js');
    const me = apiMeWithPermissionsSchema.parse((await launcher.fetch('GET', '/api/v1/me')).json);
    expect(me.permissions.tenantWide).toEqual({});
    expect(Object.keys(me.permissions.namespaces)).toEqual(['company.finance']);
    expect(me.permissions.namespaces['company.finance']!.FLOW).toEqual(expect.arrayContaining(['EXECUTE', 'VIEW']));
    expect(me.permissions.namespaces['company.finance']!.FLOW).not.toContain('UPDATE');
    const owner = apiMeWithPermissionsSchema.parse((await admin.fetch('GET', '/api/v1/me')).json);
    expect(owner.permissions.tenantWide.USER).toEqual(expect.arrayContaining(['CREATE', 'DELETE']));
  });

  it('refuses routes Perch does not know and tenants other than main', async () => {
    kestra.clear();
    const unknown = await admin.fetch('GET', '/api/v1/main/not-a-kestra-route');
    expect(unknown.status).toBe(403);
    expect(unknown.json.message).toMatch(/does not know the Kestra operation/);
    const legacy = await admin.fetch('GET', '/api/v1/flows/search');
    expect(legacy.status).toBeGreaterThanOrEqual(403);
    const tenant = await admin.fetch('GET', '/api/v1/other/flows/search');
    expect(tenant.status).toBe(404);
    expect(kestra.requests).toHaveLength(0);
  });

  it('gives instance-owner-only and denied routes to nobody else', async () => {
    expect((await viewer.fetch('GET', '/api/v1/main/usages/all')).status).toBe(403);
    expect((await admin.fetch('POST', '/api/v1/main/mcp', { json: {} })).status).toBe(403);
  });

  it('lets anonymous webhooks through to Kestra, which checks their key, and nothing else anonymous', async () => {
    const anonymous = new Browser(perch);
    kestra.clear();
    const hook = await request(`${perch.url}/api/v1/main/executions/webhook/company.team/hello/some-key`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    await hook.body.dump();
    expect(kestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/executions/webhook/company.team/hello/some-key']);
    // Least privilege: an anonymous webhook reaches Kestra without Perch's Kestra account.
    expect(kestra.requests[0]!.headers.authorization).toBeUndefined();
    expect((await anonymous.fetch('GET', '/api/v1/main/flows/search')).status).toBe(401);
  });
});
