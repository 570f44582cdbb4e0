/**
 * INSTANCE tenants (issue 20, point 2): `/api/v1/{tenant}/…` of a tenant goes to that tenant's own
 * Kestra, rewritten to `/api/v1/main/…` (the tenant Kestra OSS serves), with its credentials, and is
 * authorized by the caller's rights in that tenant. Unknown tenant → 404, no access → 403, both JSON,
 * and nothing reaches either Kestra for them (asserted on both doubles' recorded calls).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';

describe('routing to an INSTANCE tenant’s own Kestra', () => {
  let mainKestra: KestraDouble;
  let acmeKestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let member: Awaited<ReturnType<typeof signedInPerson>>;
  let outsider: Awaited<ReturnType<typeof signedInPerson>>;

  beforeAll(async () => {
    mainKestra = await startKestraDouble();
    acmeKestra = await startKestraDouble({ username: 'acme@kestra.test', password: 'Acme-Kestra-7' });
    perch = await startPerch({ config: { kestra: { url: mainKestra.url, username: mainKestra.username, password: mainKestra.password } } });
    admin = new Browser(perch);
    await admin.login();
    const created = await admin.fetch('POST', '/api/v1/tenants', {
      json: { id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: acmeKestra.url, username: 'acme@kestra.test', password: 'Acme-Kestra-7' } },
    });
    expect(created.status, created.text).toBe(200);
    member = await signedInPerson(perch, admin, 'acme-admin');
    outsider = await signedInPerson(perch, admin, 'acme-outsider');
    expect((await admin.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: member.email } })).status).toBe(204);
    const binding = await admin.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: member.id, roleId: 'admin' } });
    expect(binding.status, binding.text).toBe(200);
    acmeKestra.addFlow(logFlow('acme.sales', 'invoice'));
    mainKestra.addFlow(logFlow('company.team', 'payroll'));
  });
  afterAll(async () => {
    await perch?.close();
    await mainKestra?.close();
    await acmeKestra?.close();
  });
  beforeEach(() => {
    mainKestra.clear();
    acmeKestra.clear();
  });

  it('reads go to the tenant’s Kestra as /api/v1/main/…, with its credentials; main’s Kestra sees nothing', async () => {
    const search = await member.browser.fetch('GET', '/api/v1/acme/flows/search?page=1&size=10');
    expect(search.status, search.text).toBe(200);
    expect(search.json.results.map((f: { id: string }) => f.id)).toEqual(['invoice']);
    expect(acmeKestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/flows/search?page=1&size=10']);
    expect(acmeKestra.requests[0]!.headers.authorization).toBe(acmeKestra.authorization);
    expect(mainKestra.requests).toEqual([]);
    // A single object by path, streamed by the direct forwarder.
    const flow = await member.browser.fetch('GET', '/api/v1/acme/flows/acme.sales/invoice');
    expect(flow.status, flow.text).toBe(200);
    expect(flow.json.id).toBe('invoice');
    // The member has no binding in main: main's flows stay out of reach.
    expect((await member.browser.fetch('GET', '/api/v1/main/flows/company.team/payroll')).status).toBe(403);
    expect(mainKestra.requests).toEqual([]);
  });

  it('writes go to the tenant’s Kestra too, and are audited in the tenant’s chain', async () => {
    const yaml = logFlow('acme.ops', 'nightly');
    const created = await member.browser.fetch('POST', '/api/v1/acme/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    expect(created.status, created.text).toBe(200);
    expect(acmeKestra.requests.map((r) => `${r.method} ${r.url}`)).toContain('POST /api/v1/main/flows');
    expect(mainKestra.requests).toEqual([]);
    expect(acmeKestra.store.flows.size).toBeGreaterThan(0);
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', 'nightly').executeTakeFirstOrThrow();
    expect(entry.tenant_id).toBe('acme');
    expect(entry.namespace).toBe('acme.ops');
  });

  it('unknown tenant → 404 JSON, no access → 403 JSON, no rights there → 403; none reaches any Kestra', async () => {
    const unknown = await member.browser.fetch('GET', '/api/v1/nowhere/flows/search');
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toBe('Tenant nowhere not found');
    const write = await member.browser.fetch('POST', '/api/v1/nowhere/flows', { body: logFlow('x', 'y'), headers: { 'content-type': 'application/x-yaml' } });
    expect(write.status).toBe(404);
    const noAccess = await outsider.browser.fetch('GET', '/api/v1/acme/flows/search');
    expect(noAccess.status).toBe(403);
    expect(noAccess.json.message).toBe('You have no access to tenant acme');
    expect((await outsider.browser.fetch('DELETE', '/api/v1/acme/flows/acme.sales/invoice')).status).toBe(403);
    // Access without any binding there: refused by permission.
    expect((await admin.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: outsider.email } })).status).toBe(204);
    const noRights = await outsider.browser.fetch('GET', '/api/v1/acme/flows/acme.sales/invoice');
    expect(noRights.status).toBe(403);
    expect(noRights.json.message).toMatch(/FLOW VIEW/);
    expect(acmeKestra.requests).toEqual([]);
    expect(mainKestra.requests).toEqual([]);
    expect((await admin.fetch('DELETE', `/api/v1/acme/tenant-access/${outsider.id}`)).status).toBe(204);
  });

  it('revoking access to main closes main’s Kestra to that person (fast lane included)', async () => {
    expect((await member.browser.fetch('GET', '/api/v1/me')).json.tenants.map((t: { id: string }) => t.id)).toEqual(['acme', 'main']);
    expect((await admin.fetch('DELETE', `/api/v1/main/tenant-access/${member.id}`)).status).toBe(204);
    const refused = await member.browser.fetch('GET', '/api/v1/main/flows/search');
    expect(refused.status).toBe(403);
    expect(refused.json.message).toBe('You have no access to tenant main');
    expect(mainKestra.requests).toEqual([]);
    expect((await admin.fetch('PUT', `/api/v1/main/tenant-access/${member.id}`)).status).toBe(201);
  });

  it('a tenant whose Kestra moved: the next call goes to the new one', async () => {
    const moved = await startKestraDouble({ username: 'acme@kestra.test', password: 'Acme-Kestra-7' });
    try {
      moved.addFlow(logFlow('acme.sales', 'moved'));
      const update = await admin.fetch('PUT', '/api/v1/tenants/acme', { json: { id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: moved.url, username: 'acme@kestra.test' } } });
      expect(update.status, update.text).toBe(200);
      const search = await member.browser.fetch('GET', '/api/v1/acme/flows/search');
      expect(search.json.results.map((f: { id: string }) => f.id)).toEqual(['moved']);
      expect(acmeKestra.requests).toEqual([]);
    } finally {
      const back = await admin.fetch('PUT', '/api/v1/tenants/acme', { json: { id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: acmeKestra.url, username: 'acme@kestra.test' } } });
      expect(back.status).toBe(200);
      await moved.close();
    }
  });

  it('a session selects a tenant without signing out: the stock UI’s /api/v1/main/… calls then go to that tenant', async () => {
    expect((await bind(admin, { type: 'USER', externalId: member.id, roleId: 'viewer' })).length).toBeGreaterThan(0);
    expect((await member.browser.fetch('GET', '/api/v1/main/flows/search')).json.results.map((f: { id: string }) => f.id)).toEqual(['payroll']);
    expect((await outsider.browser.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'acme' } })).status).toBe(403);
    expect((await member.browser.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'nowhere' } })).status).toBe(404);
    mainKestra.clear();

    // The switcher lists the tenants the person may enter, the session's one current.
    expect((await member.browser.fetch('GET', '/perch/api/ui-config')).json).toMatchObject({ tenants: [{ id: 'acme', name: 'Acme' }, { id: 'main', name: 'main' }] });
    expect((await member.browser.fetch('GET', '/api/v1/me')).json.selectedTenant).toBe('main');
    expect((await outsider.browser.fetch('GET', '/perch/api/ui-config')).json.tenants).toEqual([{ id: 'main', name: 'main' }]);
    const selected = await member.browser.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'acme' } });
    expect(selected.status, selected.text).toBe(200);
    expect((await member.browser.fetch('GET', '/api/v1/me')).json.selectedTenant).toBe('acme');
    const inAcme = await member.browser.fetch('GET', '/api/v1/main/flows/search');
    expect(inAcme.status, inAcme.text).toBe(200);
    expect(inAcme.json.results.map((f: { id: string }) => f.id).sort()).toEqual(['invoice', 'nightly']);
    expect(acmeKestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/flows/search']);
    expect(mainKestra.requests).toEqual([]);

    expect((await member.browser.fetch('POST', '/api/v1/me/tenant', { json: { tenantId: 'main' } })).status).toBe(200);
    expect((await member.browser.fetch('GET', '/api/v1/main/flows/search')).json.results.map((f: { id: string }) => f.id)).toEqual(['payroll']);
  });

  it('an API token belongs to one tenant: on another tenant’s path it is refused (403), and reaches no Kestra', async () => {
    const minted = await member.browser.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'scripts' } });
    expect(minted.status, minted.text).toBe(200);
    const headers = { authorization: `Bearer ${minted.json.fullToken}` };
    const token = new Browser(perch);
    expect((await token.fetch('GET', '/api/v1/main/flows/search', { headers })).status).toBe(200);
    mainKestra.clear();
    for (const path of ['/api/v1/acme/flows/search', '/api/v1/acme/flows/acme.sales/invoice', '/api/v1/acme/tenant-access']) {
      const refused = await token.fetch('GET', path, { headers });
      expect(refused.status, path).toBe(403);
      expect(refused.json.message).toBe('This API token belongs to tenant main: it cannot act in tenant acme');
    }
    expect(acmeKestra.requests).toEqual([]);
    expect(mainKestra.requests).toEqual([]);
  });
});
