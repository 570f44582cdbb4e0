/**
 * Perch's own tenant-scoped routes follow a browser session's selected tenant as the proxy does
 * (issue 20, point 3): the stock UI knows only `main`, so a session's `/api/v1/main/…` on IAM, the
 * audit log and the other routes Perch serves itself means the tenant it selected — reads, writes and
 * the audit chain alike. An explicitly named tenant stays what it names, and an API token keeps its
 * own tenant whatever its owner's session selected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

type Named = { results: Array<{ name: string }> };
type AuditPage = { results: Array<{ auditLog: { tenantId: string; detail: { id: string | null } } }> };

describe('a session’s /api/v1/main/… on Perch’s own routes', () => {
  let mainKestra: KestraDouble;
  let acmeKestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let member: Awaited<ReturnType<typeof signedInPerson>>;
  const groupNames = async (browser: Browser, path: string) => {
    const res = await browser.fetch('GET', path);
    expect(res.status, `${path}: ${res.text}`).toBe(200);
    return (res.json as Named).results.map((g) => g.name).sort();
  };

  beforeAll(async () => {
    mainKestra = await startKestraDouble();
    acmeKestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: mainKestra.url, username: mainKestra.username, password: mainKestra.password } } });
    admin = new Browser(perch);
    await admin.login();
    const created = await admin.fetch('POST', '/api/v1/tenants', {
      json: { id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: acmeKestra.url, username: acmeKestra.username, password: acmeKestra.password } },
    });
    expect(created.status, created.text).toBe(200);
    member = await signedInPerson(perch, admin, 'acme-admin');
    for (const tenant of ['main', 'acme']) {
      if (tenant === 'acme') expect((await admin.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: member.email } })).status).toBe(204);
      const binding = await admin.fetch('POST', `/api/v1/${tenant}/bindings`, { json: { type: 'USER', externalId: member.id, roleId: 'admin' } });
      expect(binding.status, binding.text).toBe(200);
      const group = await admin.fetch('POST', `/api/v1/${tenant}/groups`, { json: { name: `${tenant}-ops` } });
      expect(group.status, group.text).toBe(200);
    }
  });
  afterAll(async () => {
    await perch?.close();
    await mainKestra?.close();
    await acmeKestra?.close();
  });

  it('reads and writes the selected tenant’s IAM and audit chain; explicit tenants and API tokens keep theirs', async () => {
    const minted = await member.browser.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'main-scripts' } });
    expect(minted.status, minted.text).toBe(200);
    const token = { authorization: `Bearer ${minted.json.fullToken}` };
    expect(await groupNames(member.browser, '/api/v1/main/groups/search')).toEqual(['main-ops']);

    expect((await member.browser.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'acme' } })).status).toBe(200);
    expect(await groupNames(member.browser, '/api/v1/main/groups/search')).toEqual(['acme-ops']);
    const audit = await member.browser.fetch('GET', '/api/v1/main/auditlogs/search?size=100');
    expect(audit.status, audit.text).toBe(200);
    const entries = (audit.json as AuditPage).results.map((r) => r.auditLog);
    expect(new Set(entries.map((e) => e.tenantId))).toEqual(new Set(['acme']));

    // A write under main lands in acme, is audited in acme's chain, and main never sees it.
    const made = await member.browser.fetch('POST', '/api/v1/main/groups', { json: { name: 'made-under-main' } });
    expect(made.status, made.text).toBe(200);
    expect(await groupNames(member.browser, '/api/v1/acme/groups/search')).toEqual(['acme-ops', 'made-under-main']);
    expect(await groupNames(admin, '/api/v1/main/groups/search')).toEqual(['main-ops']);
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').select('tenant_id').where('resource_id', '=', made.json.id).executeTakeFirstOrThrow();
    expect(entry.tenant_id).toBe('acme');

    // A token belongs to main, whatever the session that minted it selected since.
    const byToken = await new Browser(perch).fetch('GET', '/api/v1/main/groups/search', { headers: token });
    expect(byToken.status, byToken.text).toBe(200);
    expect((byToken.json as Named).results.map((g) => g.name)).toEqual(['main-ops']);

    // Losing access to the selected tenant closes it under main too (403 JSON), as on the proxy.
    expect((await admin.fetch('DELETE', `/api/v1/acme/tenant-access/${member.id}`)).status).toBe(204);
    const refused = await member.browser.fetch('GET', '/api/v1/main/groups/search');
    expect(refused.status).toBe(403);
    expect(refused.json.message).toBe('You have no access to tenant acme');

    expect((await member.browser.fetch('PUT', '/api/v1/me/tenant', { json: { tenantId: 'main' } })).status).toBe(200);
    expect(await groupNames(member.browser, '/api/v1/main/groups/search')).toEqual(['main-ops']);
  });
});
