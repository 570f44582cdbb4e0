import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiAuditLogItem } from '../../lib/schemas/audit.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';

/** The audit log for people: resources by name, and one instance-wide view narrowed by chain. */
describe('audit log: names and chains', () => {
  let perch: RunningPerch;
  let admin: Browser;

  beforeAll(async () => {
    ({ perch, admin } = await startSignedIn());
  });
  afterAll(async () => {
    await perch?.close();
  });

  const search = async (path: string): Promise<ApiAuditLogItem[]> => {
    const res = await admin.fetch('GET', path);
    expect(res.status).toBe(200);
    return res.json.results;
  };

  it('names users, groups, roles and bindings ("who → role on namespace"), and keeps the id', async () => {
    const dana = (await admin.fetch('POST', '/api/v1/users', { json: { email: 'dana@example.com', password: 'a long enough passphrase' } })).json;
    const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Data team' } })).json;
    const toDana = (await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: dana.id, roleId: 'viewer', namespaceId: 'company.data' } })).json;
    const toGroup = (await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'GROUP', externalId: group.id, roleId: 'admin' } })).json;

    const tenant = await search('/api/v1/main/auditlogs/search?size=50');
    const named = (id: string) => tenant.find((item) => item.auditLog.detail.id === id && item.auditLog.type === 'CREATE');
    expect(named(group.id)?.resourceName).toBe('Data team');
    expect(named(toDana.id)?.resourceName).toBe('dana@example.com → Viewer on company.data');
    expect(named(toGroup.id)?.resourceName).toBe('group Data team → Admin tenant-wide');
    expect(named(toDana.id)?.auditLog.detail.id).toBe(toDana.id);

    // Users live in the instance chain: an instance owner sees them there, by email.
    const instance = await search('/api/v1/auditlogs/search?size=50&chain=_instance');
    expect(instance.length).toBeGreaterThan(0);
    expect(instance.every((item) => item.auditLog.tenantId === '_instance')).toBe(true);
    expect(instance.find((item) => item.auditLog.detail.id === dana.id)?.resourceName).toBe('dana@example.com');

    // Without a chain: tenant and instance entries together.
    const all = await search('/api/v1/auditlogs/search?size=100');
    expect(new Set(all.map((item) => item.auditLog.tenantId))).toEqual(new Set(['main', '_instance']));
    const onlyMain = await search('/api/v1/auditlogs/search?size=100&chain=main');
    expect(onlyMain.every((item) => item.auditLog.tenantId === 'main')).toBe(true);

    // A deleted resource keeps its id and has no name.
    expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${toDana.id}`)).status).toBeLessThan(300);
    const after = await search('/api/v1/main/auditlogs/search?size=50');
    expect(after.find((item) => item.auditLog.detail.id === toDana.id && item.auditLog.type === 'CREATE')?.resourceName).toBeNull();
  });

  it('refuses a malformed chain, and the tenant log takes no chain at all', async () => {
    expect((await admin.fetch('GET', '/api/v1/auditlogs/search?chain=')).status).toBe(400);
    expect((await admin.fetch('GET', '/api/v1/main/auditlogs/search?chain=_instance')).status).toBe(422);
  });
});
