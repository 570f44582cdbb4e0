import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAuditLogItemSchema } from '../../lib/schemas/audit.js';
import { pagedResultsSchema } from '../../lib/schemas/users.js';
import { verifyAllChains } from '../../backend/audit/verify.js';
import { authFailures } from '../../backend/audit/auth-failures.js';
import { storeTargets } from '../support/databases.js';
import { ADMIN_EMAIL, Browser, startSignedIn, type RunningPerch } from '../support/perch.js';
import { bind, createPerson, PASSWORD, signedInPerson } from '../iam/iam-helpers.js';

const SECRET_PASSWORD = 'a very secret password 42';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`audit log over HTTP on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url(), config: { login: { maxFailures: 3 } } })));
    afterAll(() => perch?.close());

    const rows = () => perch.perch.ctx.db.selectFrom('audit_log').selectAll();

    it('records user create, update and delete before answering, without the password', async () => {
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'audited@example.com', password: SECRET_PASSWORD } });
      expect(created.status).toBe(201);
      // Acknowledged means recorded: the entry is there the moment the answer arrives.
      const create = await rows().where('resource_id', '=', created.json.id).where('action', '=', 'CREATE').executeTakeFirst();
      expect(create).toMatchObject({ tenant_id: '_instance', resource_type: 'USER', actor_type: 'USER', actor_email: ADMIN_EMAIL, outcome: 'SUCCESS' });
      expect(create!.details).not.toContain(SECRET_PASSWORD);
      expect(JSON.parse(create!.details).request).toMatchObject({ email: 'audited@example.com', password: '[redacted]' });

      const updated = await admin.fetch('PUT', `/api/v1/users/${created.json.id}`, { json: { email: 'audited@example.com', firstName: 'Aud', password: `${SECRET_PASSWORD}!` } });
      expect(updated.status).toBe(200);
      const update = await rows().where('resource_id', '=', created.json.id).where('action', '=', 'UPDATE').executeTakeFirstOrThrow();
      expect(update.details).not.toContain(SECRET_PASSWORD);

      const password = await admin.fetch('PATCH', `/api/v1/users/${created.json.id}/password`, { json: { password: `${SECRET_PASSWORD}?` } });
      expect(password.status).toBe(200);
      const patch = await rows().where('resource_id', '=', created.json.id).where('details', 'like', '%"subresource":"password"%').executeTakeFirstOrThrow();
      expect(patch.action).toBe('UPDATE');
      expect(patch.details).not.toContain(SECRET_PASSWORD);

      expect((await admin.fetch('DELETE', `/api/v1/users/${created.json.id}`)).status).toBe(204);
      expect(await rows().where('resource_id', '=', created.json.id).where('action', '=', 'DELETE').executeTakeFirst()).toBeDefined();
      // A failed validation changed nothing: not recorded.
      const before = (await rows().execute()).length;
      expect((await admin.fetch('POST', '/api/v1/users', { json: { email: 'not an email' } })).status).toBe(422);
      expect((await rows().execute()).length).toBe(before);
    });

    it('records binding create and delete in the tenant chain', async () => {
      const dana = await createPerson(admin, 'audit-dana');
      const id = await bind(admin, { type: 'USER', externalId: dana.id, roleId: 'viewer', namespaceId: 'prod' });
      const create = await rows().where('resource_id', '=', id).executeTakeFirstOrThrow();
      expect(create).toMatchObject({ tenant_id: 'main', resource_type: 'BINDING', action: 'CREATE', outcome: 'SUCCESS' });
      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${id}`)).status).toBe(204);
      expect(await rows().where('resource_id', '=', id).where('action', '=', 'DELETE').executeTakeFirst()).toMatchObject({ tenant_id: 'main', resource_type: 'BINDING' });
    });

    it('records a refused write as REFUSED', async () => {
      const eve = await signedInPerson(perch, admin, 'audit-eve');
      const refused = await eve.browser.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: eve.id, roleId: 'admin' } });
      expect(refused.status).toBe(403);
      expect(await rows().where('actor_id', '=', eve.id).where('outcome', '=', 'REFUSED').executeTakeFirst()).toMatchObject({ resource_type: 'BINDING', action: 'CREATE', tenant_id: 'main' });
      const notOwner = await eve.browser.fetch('DELETE', `/api/v1/users/${eve.id}`);
      expect(notOwner.status).toBe(403);
      expect(await rows().where('actor_id', '=', eve.id).where('resource_type', '=', 'USER').where('outcome', '=', 'REFUSED').executeTakeFirst()).toMatchObject({ resource_id: eve.id, action: 'DELETE' });
    });

    it('records a refusal naming a tenant that does not exist in the instance chain, starting no chain of that name', async () => {
      const mal = await signedInPerson(perch, admin, 'audit-mal');
      // Refused (a foreign Origin) before the tenant is looked at: recorded, with the tenant it named.
      const forged = await mal.browser.fetch('POST', '/api/v1/chain-of-my-own/roles', { json: {}, headers: { origin: 'http://evil.example' } });
      expect(forged.status).toBe(403);
      const chains = (await perch.perch.ctx.db.selectFrom('audit_log').select('tenant_id').distinct().execute()).map((r) => r.tenant_id);
      expect(chains.filter((c) => c !== 'main' && c !== '_instance')).toEqual([]);
      const recorded = await rows().where('actor_id', '=', mal.id).where('outcome', '=', 'REFUSED').execute();
      expect(recorded.map((r) => [r.tenant_id, r.resource_type, JSON.parse(r.details).tenant])).toEqual([['_instance', 'ROLE', 'chain-of-my-own']]);
    });

    it('records sign-in, failed sign-in, lockout and sign-out', async () => {
      const fay = await createPerson(admin, 'audit-fay');
      const browser = new Browser(perch);
      await browser.login(fay.email, PASSWORD);
      expect(await rows().where('action', '=', 'LOGIN').where('actor_id', '=', fay.id).executeTakeFirst()).toMatchObject({ tenant_id: '_instance', outcome: 'SUCCESS', ip: '127.0.0.1' });
      expect((await browser.fetch('POST', '/perch/api/logout')).status).toBe(204);
      expect(await rows().where('action', '=', 'LOGOUT').where('actor_id', '=', fay.id).executeTakeFirst()).toBeDefined();
      for (let i = 0; i < 3; i++) {
        const res = await browser.fetch('POST', '/perch/api/login', { json: { username: fay.email, password: 'wrong wrong wrong' } });
        expect(res.status).toBe(401);
      }
      expect((await browser.fetch('POST', '/perch/api/login', { json: { username: fay.email, password: PASSWORD } })).status).toBe(429);
      expect((await browser.fetch('POST', '/perch/api/login', { json: { username: 'nobody@example.com', password: 'x' } })).status).toBe(401);
      // Failures are counted per account and address for a minute, then written: here, at once.
      await authFailures(perch.perch.ctx).flush();
      const failures = await rows().where('action', '=', 'LOGIN_FAILURE').where('actor_email', '=', fay.email).where('details', 'like', '%wrong password%').execute();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ tenant_id: '_instance', outcome: 'FAILURE', resource_id: fay.id, ip: '127.0.0.1' });
      expect(JSON.parse(failures[0]!.details)).toMatchObject({ count: 3, authMethod: 'password', reason: 'wrong password' });
      expect(failures[0]!.details).not.toContain('wrong wrong wrong');
      expect(await rows().where('action', '=', 'ACCOUNT_LOCKED').where('actor_email', '=', fay.email).executeTakeFirst()).toMatchObject({ outcome: 'FAILURE', resource_id: fay.id, ip: '127.0.0.1' });
      const locked = await rows().where('action', '=', 'LOGIN_FAILURE').where('actor_email', '=', fay.email).where('details', 'like', '%account locked%').executeTakeFirst();
      expect(locked).toBeDefined();
      expect(await rows().where('action', '=', 'LOGIN_FAILURE').where('actor_email', '=', 'nobody@example.com').executeTakeFirst()).toMatchObject({ actor_type: 'ANONYMOUS' });
    });

    it('searches with filters and paging, newest first', async () => {
      const paged = pagedResultsSchema(apiAuditLogItemSchema);
      const search = async (query: string, base = '/api/v1/main/auditlogs/search') => {
        const res = await admin.fetch('GET', `${base}?${query}`);
        expect(res.status, res.text).toBe(200);
        return paged.parse(res.json);
      };
      const all = await search('size=1000');
      expect(all.total).toBeGreaterThanOrEqual(3);
      expect(all.results.every((r) => r.auditLog.tenantId === 'main')).toBe(true);
      const dates = all.results.map((r) => r.auditLog.date);
      expect([...dates].sort().reverse()).toEqual(dates);
      const first = await search('size=2&page=1');
      const second = await search('size=2&page=2');
      expect(first.results).toHaveLength(2);
      expect(second.results[0]!.auditLog.id).toBe(all.results[2]!.auditLog.id);
      const asc = await search('size=1&sort=date:asc');
      expect(asc.results[0]!.auditLog.id).toBe(all.results.at(-1)!.auditLog.id);

      const bindings = await search('resources=BINDING&type=DELETE');
      expect(bindings.total).toBeGreaterThanOrEqual(1);
      expect(bindings.results.every((r) => r.auditLog.detail.resourceType === 'BINDING' && r.auditLog.type === 'DELETE')).toBe(true);
      expect((await search('filters[type][EQUALS]=DELETE&filters[resource][EQUALS]=BINDING')).total).toBe(bindings.total);
      const one = bindings.results[0]!.auditLog;
      expect((await search(`id=${one.detail.id}`)).results.map((r) => r.auditLog.type).sort()).toEqual(['CREATE', 'DELETE']);
      const refused = await search('outcome=REFUSED');
      expect(refused.results[0]!.user?.username).toMatch(/audit-eve/);
      expect((await search(`userId=${refused.results[0]!.auditLog.userId}`)).total).toBeGreaterThanOrEqual(1);
      expect((await search('q=AUDIT-EVE')).total).toBeGreaterThanOrEqual(1);
      expect((await search(`startDate=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total).toBe(0);
      expect((await search(`endDate=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).total).toBe(all.total);
      expect((await search('details[namespace]=prod')).total).toBe(0); // binding namespaces live in the request body
      expect((await admin.fetch('GET', '/api/v1/main/auditlogs/search?nope=1')).status).toBe(422);
      expect((await admin.fetch('GET', '/api/v1/main/auditlogs/search?type=EXPLODE')).status).toBe(422);

      // Instance owners see every chain, sign-ins included.
      const everything = await search('size=1000', '/api/v1/auditlogs/search');
      expect(everything.results.some((r) => r.auditLog.tenantId === '_instance' && r.auditLog.type === 'LOGIN')).toBe(true);
      expect(everything.total).toBeGreaterThan(all.total);

      const found = await admin.fetch('POST', '/api/v1/main/auditlogs/find', { json: { resource: 'BINDING', type: 'DELETE', detail: { id: one.detail.id } } });
      expect(found.status).toBe(200);
      expect(apiAuditLogItemSchema.parse(found.json).auditLog.id).toBe(one.id);
      const history = await admin.fetch('GET', `/api/v1/main/auditlogs/history/${one.detail.id}`);
      expect(history.json.map((h: { username: string }) => h.username)).toEqual([ADMIN_EMAIL, ADMIN_EMAIL]);
    });

    it('needs AUDITLOG permissions; the instance-wide routes need an instance owner', async () => {
      const gus = await signedInPerson(perch, admin, 'audit-gus');
      expect((await gus.browser.fetch('GET', '/api/v1/main/auditlogs/search')).status).toBe(403);
      expect((await gus.browser.fetch('GET', '/api/v1/main/auditlogs/export')).status).toBe(403);
      expect((await gus.browser.fetch('GET', '/api/v1/auditlogs/search')).status).toBe(403);
      await bind(admin, { type: 'USER', externalId: gus.id, roleId: 'admin' });
      expect((await gus.browser.fetch('GET', '/api/v1/main/auditlogs/search')).status).toBe(200);
      expect((await gus.browser.fetch('GET', '/api/v1/auditlogs/search')).status).toBe(403);
      expect((await admin.fetch('GET', '/api/v1/other/auditlogs/search')).status).toBe(404);
    });

    it('exports CSV and JSON lines, streamed', async () => {
      const csv = await admin.fetch('GET', '/api/v1/main/auditlogs/export?resources=BINDING');
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csv.headers['transfer-encoding']).toBe('chunked');
      const lines = csv.text.trim().split('\r\n');
      expect(lines[0]).toMatch(/^date,tenantId,seq,id,action,resourceType/);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines.slice(1).every((l) => l.includes(',BINDING,'))).toBe(true);
      const json = await admin.fetch('GET', '/api/v1/auditlogs/export?format=json&type=LOGIN');
      expect(json.headers['content-type']).toMatch(/ndjson/);
      const items = json.text.trim().split('\n').map((l) => JSON.parse(l));
      expect(items.length).toBeGreaterThanOrEqual(2);
      expect(items.every((i) => i.type === 'LOGIN')).toBe(true);
    });

    it('leaves every chain verifiable', async () => {
      expect((await verifyAllChains(perch.perch.ctx.db, { key: perch.perch.auditKey.key })).map((r) => r.broken)).toEqual([null, null]);
    });
  });
}
