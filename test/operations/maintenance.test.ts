/**
 * Maintenance mode (issue 22, point 1): EE `/api/v1/instance/maintenance/{enter,exit,status}` for
 * instance owners; new work refused (503 + Retry-After) or held and replayed in order; flow and
 * namespace edits refused except for owners; Kestra's schedule triggers disabled and restored to
 * exactly their prior state; the state survives a restart and two replicas on PostgreSQL agree.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PerchConfigInput } from '../../backend/config/config.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { postgresAvailable, storeTargets } from '../support/databases.js';
import { Browser, exchange, grantRole, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { createPerson, PASSWORD } from '../iam/iam-helpers.js';

const SCHEDULE = 'io.kestra.plugin.core.trigger.Schedule';
const flowWith = (namespace: string, id: string, trigger: string) => `${logFlow(namespace, id)}triggers:\n${trigger}`;

/** Flows whose triggers maintenance must treat differently: enabled, disabled in YAML, disabled by API, a webhook. */
function seedFlows(kestra: KestraDouble): void {
  kestra.addFlow(flowWith('ops', 'nightly', `  - id: every-night\n    type: ${SCHEDULE}\n    cron: "0 2 * * *"\n`));
  kestra.addFlow(flowWith('ops', 'paused', `  - id: off-in-yaml\n    type: ${SCHEDULE}\n    cron: "0 3 * * *"\n    disabled: true\n`));
  kestra.addFlow(flowWith('ops', 'switched-off', `  - id: off-by-api\n    type: ${SCHEDULE}\n    cron: "0 4 * * *"\n`));
  kestra.addFlow(flowWith('ops', 'hook', '  - id: incoming\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: s3cret-key\n'));
  kestra.addFlow(logFlow('ops', 'manual'));
}

/** Each trigger's `disabled` state as Kestra's double holds it. */
async function triggerStates(kestra: KestraDouble): Promise<Record<string, boolean>> {
  const res = await exchange(`${kestra.url}/api/v1/main/triggers/search?size=100`, 'GET', { headers: { authorization: kestra.authorization } });
  return Object.fromEntries(res.json.results.map((r: { state: { triggerId: string; disabled: boolean } }) => [r.state.triggerId, r.state.disabled]));
}

async function setDisabled(kestra: KestraDouble, flowId: string, triggerId: string, disabled: boolean): Promise<void> {
  const res = await exchange(`${kestra.url}/api/v1/main/triggers/set-disabled`, 'PUT', { headers: { authorization: kestra.authorization }, json: { namespace: 'ops', flowId, triggerId, disabled } });
  expect(res.status).toBe(200);
}

const executionPosts = (kestra: KestraDouble) => kestra.requests.filter((r) => r.method !== 'GET' && /\/executions\/(ops\/|webhook\/)/.test(r.url)).map((r) => `${r.method} ${r.url}`);

async function startBehind(kestra: KestraDouble, databaseUrl: string, config: PerchConfigInput = {}, withAdmin = true): Promise<{ perch: RunningPerch; admin: Browser }> {
  const perch = await startPerch({ databaseUrl, withAdmin, config: { ...config, kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
  const admin = new Browser(perch);
  await admin.login();
  return { perch, admin };
}

/** A person who may run and edit flows (the managed editor role, tenant-wide), signed in. */
async function editor(perch: RunningPerch, admin: Browser, prefix: string): Promise<{ id: string; email: string; browser: Browser }> {
  const person = await createPerson(admin, prefix);
  await grantRole(perch.perch, person.id, 'editor', null);
  const browser = new Browser(perch);
  await browser.login(person.email, PASSWORD);
  return { ...person, browser };
}

describe('maintenance mode, refusing new work', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let dev: { id: string; browser: Browser };
  let databaseUrl: string;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    databaseUrl = await storeTargets()[0]!.url();
    ({ perch, admin } = await startBehind(kestra, databaseUrl));
    dev = await editor(perch, admin, 'maint-dev');
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });
  beforeEach(() => {
    kestra.reset();
    seedFlows(kestra);
  });
  afterEach(() => expect(kestra.contractViolations).toEqual([]));

  it('is for instance owners only: others get 403 and nothing reaches Kestra', async () => {
    kestra.clear();
    expect((await dev.browser.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(403);
    expect((await dev.browser.fetch('POST', '/api/v1/instance/maintenance/exit')).status).toBe(403);
    expect((await dev.browser.fetch('GET', '/api/v1/instance/maintenance/status')).status).toBe(403);
    expect(kestra.requests).toEqual([]);
    expect((await admin.fetch('GET', '/api/v1/instance/maintenance/status')).json).toMatchObject({ maintenance: false, ready: false });
  });

  it('disables exactly the enabled schedule triggers, refuses new work and edits, and restores every trigger on exit', async () => {
    await setDisabled(kestra, 'switched-off', 'off-by-api', true);
    expect(await triggerStates(kestra)).toEqual({ 'every-night': false, 'off-in-yaml': true, 'off-by-api': true, incoming: false });

    const entered = await admin.fetch('POST', '/api/v1/instance/maintenance/enter', { json: { message: 'Upgrading Kestra' } });
    expect(entered.status, entered.text).toBe(200);
    expect(entered.json).toMatchObject({ maintenance: true, ready: true, onExecution: 'refuse', disabledTriggers: 1, held: 0, message: 'Upgrading Kestra', services: { WEBSERVER: { total: 1, inMaintenance: 1 } } });
    expect(await triggerStates(kestra)).toEqual({ 'every-night': true, 'off-in-yaml': true, 'off-by-api': true, incoming: false });
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(409);

    // Everyone sees the notice.
    expect((await dev.browser.fetch('GET', '/perch/api/ui-config')).json).toMatchObject({ inMaintenance: true, maintenanceMessage: 'Upgrading Kestra' });

    kestra.clear();
    const run = await dev.browser.fetch('POST', '/api/v1/main/executions/ops/manual');
    expect(run.status).toBe(503);
    expect(run.headers['retry-after']).toBe('300');
    expect(run.json.message).toMatch(/maintenance/);
    const hook = await exchange(`${perch.url}/api/v1/main/executions/webhook/ops/hook/s3cret-key`, 'POST', { json: { a: 1 } });
    expect(hook.status).toBe(503);
    // A signed-in GET would take the proxy's fast lane: maintenance stops it there too.
    expect((await dev.browser.fetch('GET', '/api/v1/main/executions/webhook/ops/hook/s3cret-key')).status).toBe(503);
    // The owner's executions wait too.
    expect((await admin.fetch('POST', '/api/v1/main/executions/ops/manual')).status).toBe(503);
    const edit = await dev.browser.fetch('PUT', '/api/v1/main/flows/ops/manual', { body: logFlow('ops', 'manual').replace('hi', 'edited'), headers: { 'content-type': 'application/x-yaml' } });
    expect(edit.status).toBe(503);
    expect(edit.json.message).toMatch(/instance owner/);
    expect(kestra.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    // Reads go on, and an owner may still edit.
    expect((await dev.browser.fetch('GET', '/api/v1/main/flows/ops/manual')).status).toBe(200);
    const ownerEdit = await admin.fetch('PUT', '/api/v1/main/flows/ops/manual', { body: logFlow('ops', 'manual').replace('hi', 'edited'), headers: { 'content-type': 'application/x-yaml' } });
    expect(ownerEdit.status, ownerEdit.text).toBe(200);

    const exited = await admin.fetch('POST', '/api/v1/instance/maintenance/exit');
    expect(exited.status, exited.text).toBe(200);
    expect(exited.json).toMatchObject({ maintenance: false, disabledTriggers: 0 });
    expect(await triggerStates(kestra)).toEqual({ 'every-night': false, 'off-in-yaml': true, 'off-by-api': true, incoming: false });
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/exit')).status).toBe(409);
    expect((await dev.browser.fetch('POST', '/api/v1/main/executions/ops/manual')).status).toBe(200);
    expect((await dev.browser.fetch('GET', '/perch/api/ui-config')).json.inMaintenance).toBe(false);
  });

  it('survives a restart in maintenance, then leaves it with the triggers it disabled', async () => {
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(200);
    await perch.close();
    ({ perch, admin } = await startBehind(kestra, databaseUrl, {}, false));
    dev.browser = new Browser(perch);
    await dev.browser.login((await perch.perch.ctx.db.selectFrom('users').select('email').where('id', '=', dev.id).executeTakeFirstOrThrow()).email, PASSWORD);
    kestra.clear();
    expect((await dev.browser.fetch('POST', '/api/v1/main/executions/ops/manual')).status).toBe(503);
    expect(executionPosts(kestra)).toEqual([]);
    expect((await admin.fetch('GET', '/api/v1/instance/maintenance/status')).json).toMatchObject({ maintenance: true, disabledTriggers: 2 });
    expect(await triggerStates(kestra)).toEqual({ 'every-night': true, 'off-in-yaml': true, 'off-by-api': true, incoming: false });
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/exit')).status).toBe(200);
    expect(await triggerStates(kestra)).toEqual({ 'every-night': false, 'off-in-yaml': true, 'off-by-api': false, incoming: false });
    // And a restart out of maintenance stays out.
    await perch.close();
    ({ perch, admin } = await startBehind(kestra, databaseUrl, {}, false));
    expect((await admin.fetch('POST', '/api/v1/main/executions/ops/manual')).status).toBe(200);
  });

  it('puts everything back when Kestra fails half way through entering', async () => {
    kestra.addFlow(flowWith('ops', 'second', `  - id: second-night\n    type: ${SCHEDULE}\n    cron: "0 5 * * *"\n`));
    let puts = 0;
    kestra.setJsonTransform((body, info) => {
      if (info.method === 'PUT' && info.pathname.endsWith('/triggers/set-disabled') && ++puts === 2) throw new Error('Kestra broke');
      return body;
    });
    try {
      const entered = await admin.fetch('POST', '/api/v1/instance/maintenance/enter');
      expect(entered.status, entered.text).toBe(502);
      expect(entered.json.message).toMatch(/put back/);
    } finally {
      kestra.setJsonTransform(null);
    }
    expect(await triggerStates(kestra)).toMatchObject({ 'every-night': false, 'second-night': false });
    expect((await admin.fetch('GET', '/api/v1/instance/maintenance/status')).json).toMatchObject({ maintenance: false, disabledTriggers: 0 });
  });
});

describe('maintenance mode, holding new work', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    seedFlows(kestra);
    ({ perch, admin } = await startBehind(kestra, await storeTargets()[0]!.url(), { maintenance: { onExecution: 'hold' } }));
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });

  it('holds execution requests in order and replays them on exit, each audited with its original caller', async () => {
    const dev = await editor(perch, admin, 'maint-holder');
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(200);
    kestra.clear();
    const first = await dev.browser.fetch('POST', '/api/v1/main/executions/ops/manual?labels=order:first');
    expect(first.status, first.text).toBe(202);
    expect(first.json).toMatchObject({ held: true });
    const second = await exchange(`${perch.url}/api/v1/main/executions/webhook/ops/hook/s3cret-key`, 'POST', { json: { order: 'second' } });
    expect(second.status).toBe(202);
    expect(second.json.position).toBeGreaterThan(first.json.position);
    expect(executionPosts(kestra)).toEqual([]);
    expect((await admin.fetch('GET', '/api/v1/instance/maintenance/status')).json.held).toBe(2);

    const exited = await admin.fetch('POST', '/api/v1/instance/maintenance/exit');
    expect(exited.status, exited.text).toBe(200);
    expect(exited.json).toMatchObject({ maintenance: false, held: 0 });
    expect(executionPosts(kestra)).toEqual(['POST /api/v1/main/executions/ops/manual?labels=order:first', 'POST /api/v1/main/executions/webhook/ops/hook/s3cret-key']);
    const webhookCall = kestra.requests.find((r) => r.url.includes('/webhook/'))!;
    expect(JSON.parse(webhookCall.body.toString('utf8'))).toEqual({ order: 'second' });

    const replays = (await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('details', 'like', '%replayedAfterMaintenance%').orderBy('seq').execute()).map((e) => ({ ...e, details: JSON.parse(e.details) }));
    expect(replays.map((e) => [e.actor_type, e.actor_id, e.upstream_status, e.details.path])).toEqual([
      ['USER', dev.id, 200, '/api/v1/{tenant}/executions/{namespace}/{id}'],
      ['ANONYMOUS', null, 200, '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}'],
    ]);
    // The webhook key is a shared secret: never in the audit log.
    expect(JSON.stringify(replays)).not.toContain('s3cret-key');
    expect(await perch.perch.ctx.db.selectFrom('maintenance_held').selectAll().execute()).toEqual([]);
  });

  it('does not replay the request of someone who lost the right meanwhile: refused in the audit log, nothing sent', async () => {
    const leaver = await editor(perch, admin, 'maint-leaver');
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(200);
    expect((await leaver.browser.fetch('POST', '/api/v1/main/executions/ops/manual?labels=who:leaver')).status).toBe(202);
    expect((await admin.fetch('DELETE', `/api/v1/users/${leaver.id}`)).status).toBe(204);
    kestra.clear();
    expect((await admin.fetch('POST', '/api/v1/instance/maintenance/exit')).status).toBe(200);
    expect(executionPosts(kestra)).toEqual([]);
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('actor_id', '=', leaver.id).where('details', 'like', '%replayedAfterMaintenance%').executeTakeFirstOrThrow();
    expect([entry.outcome, entry.upstream_status]).toEqual(['REFUSED', null]);
  });
});

describe.skipIf(!postgresAvailable())('maintenance mode on two PostgreSQL replicas', () => {
  let kestra: KestraDouble;
  let a: { perch: RunningPerch; admin: Browser };
  let b: { perch: RunningPerch; admin: Browser };

  beforeAll(async () => {
    kestra = await startKestraDouble();
    seedFlows(kestra);
    const databaseUrl = await storeTargets()[1]!.url();
    a = await startBehind(kestra, databaseUrl);
    b = await startBehind(kestra, databaseUrl, {}, false);
  });
  afterAll(async () => {
    await a?.perch.close();
    await b?.perch.close();
    await kestra?.close();
  });

  /** Asks `replica` until it answers `status` (the change feed is asynchronous), at most 50 times. */
  async function eventually(replica: { admin: Browser }, status: number): Promise<number> {
    let last = 0;
    for (let i = 0; i < 50; i++) {
      last = (await replica.admin.fetch('POST', '/api/v1/main/executions/ops/manual')).status;
      if (last === status) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    return last;
  }

  it('agree: entered on one, the other refuses new work; left on the other, both let it through', async () => {
    expect((await a.admin.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(200);
    expect(await eventually(b, 503)).toBe(503);
    expect((await b.admin.fetch('GET', '/api/v1/instance/maintenance/status')).json.maintenance).toBe(true);
    expect((await b.admin.fetch('POST', '/api/v1/instance/maintenance/enter')).status).toBe(409);
    expect((await b.admin.fetch('POST', '/api/v1/instance/maintenance/exit')).status).toBe(200);
    expect(await eventually(a, 200)).toBe(200);
    expect((await triggerStates(kestra))['every-night']).toBe(false);
  });
});
