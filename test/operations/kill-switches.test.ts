/**
 * Kill switches (issue 22, point 2): EE `/api/v1/kill-switches` for instance owners; KILL and CANCEL
 * rules on a tenant, namespace (and children), flow or executions, with dates and enable/disable:
 * matching new executions are refused before Kestra sees them, matching running ones are stopped
 * through Kestra's API; every change audited.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { transition } from '../kestra-double/state.js';
import { postgresAvailable, storeTargets } from '../support/databases.js';
import { Browser, exchange, grantRole, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { createPerson, PASSWORD } from '../iam/iam-helpers.js';

const HOUR = 3_600_000;
const now = () => new Date().toISOString();

describe('kill switches', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let dev: Browser;

  beforeAll(async () => {
    // Executions stay where they are (one step a minute): what a switch stops is still running.
    kestra = await startKestraDouble({ stepMs: 60_000 });
    perch = await startPerch({ databaseUrl: await storeTargets()[0]!.url(), config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    admin = new Browser(perch);
    await admin.login();
    const person = await createPerson(admin, 'switch-dev');
    await grantRole(perch.perch, person.id, 'editor', null);
    dev = new Browser(perch);
    await dev.login(person.email, PASSWORD);
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });
  beforeEach(async () => {
    kestra.reset();
    for (const [ns, id] of [['ops', 'a'], ['ops', 'b'], ['ops.sub', 'c'], ['other', 'd']]) kestra.addFlow(logFlow(ns!, id!));
    kestra.addFlow(`${logFlow('ops', 'hook')}triggers:\n  - id: incoming\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: hook-key\n`);
    for (const row of (await admin.fetch('GET', '/api/v1/kill-switches/search')).json) await admin.fetch('DELETE', `/api/v1/kill-switches/${row.id}`);
  });
  afterEach(() => expect(kestra.contractViolations).toEqual([]));

  const run = async (ns: string, id: string) => (await dev.fetch('POST', `/api/v1/main/executions/${ns}/${id}`));
  const started = async (ns: string, id: string): Promise<string> => {
    const res = await run(ns, id);
    expect(res.status, res.text).toBe(200);
    return res.json.id as string;
  };
  const stateOf = (id: string) => (kestra.getExecution(id)!.state as { current: string }).current;
  const killsSent = () => kestra.requests.filter((r) => r.method === 'DELETE' && r.url.endsWith('/actions/kill')).map((r) => r.url.split('/')[5]);

  it('is for instance owners only: others get 403 and nothing is saved or sent', async () => {
    const body = { name: 'nope', namespace: 'ops', startDate: now(), evaluationType: 'KILL' };
    kestra.clear();
    expect((await dev.fetch('POST', '/api/v1/kill-switches', { json: body })).status).toBe(403);
    expect((await dev.fetch('GET', '/api/v1/kill-switches/search')).status).toBe(403);
    const saved = await admin.fetch('POST', '/api/v1/kill-switches', { json: { ...body, startDate: new Date(Date.now() + HOUR).toISOString() } });
    kestra.clear();
    expect((await dev.fetch('PUT', `/api/v1/kill-switches/${saved.json.id}`, { json: body })).status).toBe(403);
    expect((await dev.fetch('DELETE', `/api/v1/kill-switches/${saved.json.id}`)).status).toBe(403);
    expect(kestra.requests).toEqual([]);
    expect((await perch.perch.ctx.db.selectFrom('kill_switches').select(['name', 'deleted']).where('id', '=', saved.json.id).executeTakeFirstOrThrow())).toEqual({ name: 'nope', deleted: 0 });
  });

  it('KILL on a namespace: kills what runs there (children included), refuses new executions there, leaves the rest', async () => {
    const inOps = await started('ops', 'a');
    const inChild = await started('ops.sub', 'c');
    const elsewhere = await started('other', 'd');
    kestra.clear();
    const created = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'stop ops', namespace: 'ops', startDate: now(), evaluationType: 'KILL', description: 'runaway' } });
    expect(created.status, created.text).toBe(200);
    expect(created.json).toEqual({ id: expect.any(String), name: 'stop ops', namespace: 'ops', executionIds: [], startDate: expect.any(String), evaluationType: 'KILL', enabled: true, deleted: false, description: 'runaway' });
    expect(killsSent().sort()).toEqual([inOps, inChild].sort());
    expect([stateOf(inOps), stateOf(inChild), stateOf(elsewhere)]).toEqual(['KILLING', 'KILLING', 'CREATED']);

    kestra.clear();
    const refused = await run('ops', 'b');
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ killSwitch: created.json.id });
    expect(refused.json.message).toContain('stop ops');
    expect((await run('ops.sub', 'c')).status).toBe(403);
    expect((await exchange(`${perch.url}/api/v1/main/executions/webhook/ops/hook/hook-key`, 'POST', { json: {} })).status).toBe(403);
    expect((await dev.fetch('POST', `/api/v1/main/executions/${inOps}/actions/replay`)).status).toBe(403);
    expect(kestra.requests.filter((r) => r.method === 'POST')).toEqual([]);
    expect((await run('other', 'd')).status).toBe(200);

    // Its notice: to whom may see the namespace, not to someone who may not.
    const notice = (await dev.fetch('GET', '/perch/api/ui-config')).json.banners.find((b: { id: string }) => b.id === `kill-switch-${created.json.id}`);
    expect(notice).toMatchObject({ type: 'ERROR', message: expect.stringContaining('in namespace ops') });
    const stranger = await createPerson(admin, 'switch-stranger');
    const strangerBrowser = new Browser(perch);
    await strangerBrowser.login(stranger.email, PASSWORD);
    expect((await strangerBrowser.fetch('GET', '/perch/api/ui-config')).json.banners.map((b: { id: string }) => b.id)).not.toContain(`kill-switch-${created.json.id}`);

    const entries = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'EXECUTION').where('details', 'like', `%${created.json.id}%`).execute();
    expect(entries).toHaveLength(1);
    expect(JSON.parse(entries[0]!.details).executions.sort()).toEqual([inOps, inChild].sort());
    expect(entries[0]!.actor_email).toBe('admin@perch.test');

    // Disabled, it lets executions through again; updated, it is audited with before and after.
    const disabled = await admin.fetch('PUT', `/api/v1/kill-switches/${created.json.id}`, { json: { ...created.json, enabled: false } });
    expect(disabled.status, disabled.text).toBe(200);
    expect((await run('ops', 'b')).status).toBe(200);
    const update = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', created.json.id).where('action', '=', 'UPDATE').executeTakeFirstOrThrow();
    const states = await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', update.id).executeTakeFirstOrThrow();
    expect([JSON.parse(states.before!).enabled, JSON.parse(states.after!).enabled]).toEqual([true, false]);
  });

  it('CANCEL on a flow: stops what has not started yet, lets running ones finish, refuses new runs of that flow only', async () => {
    const waiting = await started('ops', 'a');
    const running = await started('ops', 'a');
    transition(kestra.store.executions.get(running)!.state, 'RUNNING');
    const sibling = await started('ops', 'b');
    kestra.clear();
    const created = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'calm a', namespace: 'ops', flowId: 'a', startDate: now(), evaluationType: 'CANCEL' } });
    expect(created.status, created.text).toBe(200);
    expect(killsSent()).toEqual([waiting]);
    expect([stateOf(waiting), stateOf(running), stateOf(sibling)]).toEqual(['KILLING', 'RUNNING', 'CREATED']);
    expect((await run('ops', 'a')).status).toBe(403);
    expect((await run('ops', 'b')).status).toBe(200);
  });

  it('is in force between its dates only, and is gone once deleted', async () => {
    const later = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'tomorrow', startDate: new Date(Date.now() + HOUR).toISOString(), evaluationType: 'KILL' } });
    expect(later.status).toBe(200);
    const past = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'yesterday', startDate: new Date(Date.now() - 2 * HOUR).toISOString(), endDate: new Date(Date.now() - HOUR).toISOString(), evaluationType: 'KILL' } });
    expect(past.status).toBe(200);
    expect((await run('ops', 'a')).status).toBe(200);

    const tenantWide = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'everything', tenantId: 'main', startDate: now(), evaluationType: 'KILL' } });
    expect((await run('other', 'd')).status).toBe(403);
    expect((await admin.fetch('DELETE', `/api/v1/kill-switches/${tenantWide.json.id}`)).status).toBe(200);
    expect((await run('other', 'd')).status).toBe(200);
    expect((await admin.fetch('GET', '/api/v1/kill-switches/search')).json.map((k: { name: string }) => k.name)).toEqual(['tomorrow', 'yesterday']);
    expect((await admin.fetch('DELETE', `/api/v1/kill-switches/${tenantWide.json.id}`)).status).toBe(404);
    // EE deletes softly: the row stays, marked deleted, and the audit entry shows it so.
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', tenantWide.json.id).where('action', '=', 'DELETE').executeTakeFirstOrThrow();
    const states = await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', entry.id).executeTakeFirstOrThrow();
    expect(JSON.parse(states.after!)).toMatchObject({ deleted: true, enabled: false });
  });

  it('stops what runs in its scope when its start date comes, as Perch (SYSTEM) in the audit log', async () => {
    const running = await started('ops', 'a');
    const startsSoon = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'soon', namespace: 'ops', startDate: new Date(Date.now() + 1500).toISOString(), evaluationType: 'KILL' } });
    expect(startsSoon.status).toBe(200);
    expect(stateOf(running)).toBe('CREATED');
    // Waits for the switch's own timer (bounded), not for a duration.
    for (let i = 0; i < 100 && stateOf(running) === 'CREATED'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(stateOf(running)).toBe('KILLING');
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'EXECUTION').where('details', 'like', `%${startsSoon.json.id}%`).executeTakeFirstOrThrow();
    expect([entry.actor_type, entry.resource_id]).toEqual(['SYSTEM', running]);
  });

  it('refuses what it cannot enforce with 422, naming the field', async () => {
    for (const [body, field] of [
      [{ name: 'x', startDate: now(), evaluationType: 'IGNORE' }, 'evaluationType'],
      [{ name: 'x', startDate: now(), evaluationType: 'KILL', flowId: 'a' }, 'namespace'],
      [{ startDate: now(), evaluationType: 'KILL' }, 'name'],
      [{ name: 'x', evaluationType: 'KILL' }, 'startDate'],
    ] as const) {
      const res = await admin.fetch('POST', '/api/v1/kill-switches', { json: body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.text).toContain(field);
    }
    expect((await admin.fetch('GET', '/api/v1/kill-switches/search')).json).toEqual([]);
  });
});

describe.skipIf(!postgresAvailable())('kill switches on two PostgreSQL replicas', () => {
  let kestra: KestraDouble;
  let a: RunningPerch;
  let b: RunningPerch;
  let adminA: Browser;
  let adminB: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    kestra.addFlow(logFlow('ops', 'a'));
    const databaseUrl = await storeTargets()[1]!.url();
    const kestraConfig = { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } };
    a = await startPerch({ databaseUrl, config: kestraConfig });
    b = await startPerch({ databaseUrl, withAdmin: false, config: kestraConfig });
    adminA = new Browser(a);
    await adminA.login();
    adminB = new Browser(b);
    await adminB.login();
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await kestra?.close();
  });

  /** Asks until `browser` answers `status` (the change feed is asynchronous), at most 50 times. */
  async function eventually(browser: Browser, status: number): Promise<number> {
    let last = 0;
    for (let i = 0; i < 50 && last !== status; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      last = (await browser.fetch('POST', '/api/v1/main/executions/ops/a')).status;
    }
    return last;
  }

  it('agree: a switch set on one replica refuses work on the other; disabled there, both let it through', async () => {
    const created = await adminA.fetch('POST', '/api/v1/kill-switches', { json: { name: 'ops', namespace: 'ops', startDate: now(), evaluationType: 'KILL' } });
    expect(created.status).toBe(200);
    expect(await eventually(adminB, 403)).toBe(403);
    expect((await adminB.fetch('PUT', `/api/v1/kill-switches/${created.json.id}`, { json: { ...created.json, enabled: false } })).status).toBe(200);
    expect(await eventually(adminA, 200)).toBe(200);
  });
});
