import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, grantRole, startBehindKestra, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

const FLOW = 'id: audited\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n';

describe('audit log of Kestra calls through the proxy', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;

  let close: () => Promise<void>;

  beforeAll(async () => ({ kestra, perch, admin, close } = await startBehindKestra()));
  afterAll(() => close?.());
  beforeEach(() => kestra.clear());

  const rows = () => perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main');

  it('records a flow created, updated and deleted, with its namespace and Kestra’s status, before answering', async () => {
    const created = await admin.fetch('POST', '/api/v1/main/flows', { body: FLOW, headers: { 'content-type': 'application/x-yaml' } });
    expect(created.status).toBe(200);
    const create = await rows().where('action', '=', 'CREATE').where('resource_type', '=', 'FLOW').executeTakeFirstOrThrow();
    expect(create).toMatchObject({ namespace: 'company.team', upstream_status: 200, outcome: 'SUCCESS', actor_type: 'USER' });
    expect(JSON.parse(create.details)).toMatchObject({ method: 'POST', path: '/api/v1/{tenant}/flows', permission: 'FLOW:CREATE' });

    // Creating it again: Kestra refuses (422 or 409); the failure is recorded with Kestra's status.
    const again = await admin.fetch('POST', '/api/v1/main/flows', { body: FLOW, headers: { 'content-type': 'application/x-yaml' } });
    expect(again.status).toBeGreaterThanOrEqual(400);
    const failed = await rows().where('outcome', '=', 'FAILURE').where('resource_type', '=', 'FLOW').executeTakeFirstOrThrow();
    expect(failed.upstream_status).toBe(again.status);

    expect((await admin.fetch('DELETE', '/api/v1/main/flows/company.team/audited')).status).toBeLessThan(300);
    expect(await rows().where('action', '=', 'DELETE').where('resource_id', '=', 'audited').executeTakeFirst()).toMatchObject({ namespace: 'company.team', resource_type: 'FLOW' });
    // Reads are not recorded.
    const count = (await rows().execute()).length;
    await admin.fetch('GET', '/api/v1/main/flows/search');
    expect((await rows().execute()).length).toBe(count);
  });

  it('records a KV write without its value', async () => {
    const res = await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/kv/api_password', { body: '"TOP-SECRET-VALUE"', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const row = await rows().where('resource_type', '=', 'KVSTORE').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ resource_id: 'api_password', namespace: 'company.team', action: 'UPDATE', upstream_status: 200 });
    expect(JSON.stringify(row)).not.toContain('TOP-SECRET-VALUE');
  });

  it('records a refused Kestra write as REFUSED, with what it targeted', async () => {
    const viewer = await signedInPerson(perch, admin, 'audit-viewer');
    await grantRole(perch.perch, viewer.id, 'viewer', 'company');
    const res = await viewer.browser.fetch('DELETE', '/api/v1/main/flows/company.team/audited');
    expect(res.status).toBe(403);
    expect(kestra.requests).toHaveLength(0);
    const row = await rows().where('actor_id', '=', viewer.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ outcome: 'REFUSED', action: 'DELETE', resource_type: 'FLOW', resource_id: 'audited', namespace: 'company.team', upstream_status: null });
  });
});
