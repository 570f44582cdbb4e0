/**
 * Tenants as Kestra EE has them (issue 20, point 1): `/api/v1/tenants` for instance owners, tenant
 * access (`/api/v1/{tenant}/tenant-access`), a user's tenants (`/api/v1/me`), audited with before
 * and after; an INSTANCE tenant's Kestra is checked with its credentials before anything is stored,
 * and its password is never answered, logged or audited. Answers are checked against the EE spec.
 */
import { Writable } from 'node:stream';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { INSTANCE_CHAIN } from '../../lib/schemas/audit.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { createPerson, signedInPerson, PASSWORD } from '../iam/iam-helpers.js';

const TENANT_PASSWORD = 'Tenant-Kestra-Secret-9f3a';

/** Ajv errors of an answer against the EE spec's schema for operation + status (empty: valid). */
function specErrors() {
  const derived = loadDerivedContract();
  const ajv = contractAjv(convertComponents(derived.schemas));
  const ops = new Map(derived.operations.map((op) => [op.operationId, op.responses]));
  return (operationId: string, status: number, body: unknown): string[] => {
    const schema = ops.get(operationId)?.[String(status)]?.['application/json'];
    if (!schema) throw new Error(`${operationId} ${status} has no JSON schema`);
    const validate: ValidateFunction = ajv.compile(convertSchema(schema, 'root') as object);
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  };
}

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`tenants on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    let kestra: KestraDouble;
    const logs: string[] = [];
    const errors = specErrors();

    beforeAll(async () => {
      kestra = await startKestraDouble({ username: 'acme@kestra.test', password: TENANT_PASSWORD });
      perch = await startPerch({
        databaseUrl: await target.url(),
        logStream: new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } }),
        config: { logLevel: 'debug' },
      });
      admin = new Browser(perch);
      await admin.login();
    });
    afterAll(async () => {
      await perch?.close();
      await kestra?.close();
    });

    const instance = (password: string | undefined, url = kestra.url) => ({ mode: 'INSTANCE', kestraUrl: url, username: 'acme@kestra.test', ...(password ? { password } : {}) });

    it('existing installs show as tenant main, its own Kestra, that can be neither deleted nor moved', async () => {
      const main = await admin.fetch('GET', '/api/v1/tenants/main');
      expect(main.status).toBe(200);
      expect(errors('get_3', 200, main.json)).toEqual([]);
      expect(main.json).toEqual({ id: 'main', name: 'main', deleted: false, isolation: { mode: 'INSTANCE', kestraUrl: null, username: null } });
      expect((await admin.fetch('DELETE', '/api/v1/tenants/main')).status).toBe(409);
      const move = await admin.fetch('PUT', '/api/v1/tenants/main', { json: { id: 'main', name: 'Main', isolation: { mode: 'NAMESPACE', namespaces: ['x'] } } });
      expect(move.status).toBe(422);
    });

    it('creates, reads, searches, updates and deletes a NAMESPACE tenant (EE shapes), audited with before and after', async () => {
      const created = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'globex', name: 'Globex', deleted: false, isolation: { mode: 'NAMESPACE', namespaces: ['globex'] } } });
      expect(created.status, created.text).toBe(200);
      expect(errors('create_2', 200, created.json)).toEqual([]);
      expect(created.json).toEqual({ id: 'globex', name: 'Globex', deleted: false, isolation: { mode: 'NAMESPACE', namespaces: ['globex'] } });
      expect((await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'globex', name: 'Again', isolation: { mode: 'NAMESPACE', namespaces: ['other'] } } })).status).toBe(409);

      const search = await admin.fetch('GET', '/api/v1/tenants/search?page=1&size=10&filters[q][EQUALS]=glob');
      expect(errors('find', 200, search.json)).toEqual([]);
      expect(search.json.total).toBe(1);
      expect(search.json.results.map((t: { id: string }) => t.id)).toEqual(['globex']);

      const updated = await admin.fetch('PUT', '/api/v1/tenants/globex', { json: { id: 'globex', name: 'Globex Corp', deleted: false } });
      expect(updated.status, updated.text).toBe(200);
      expect(errors('update_2', 200, updated.json)).toEqual([]);
      expect(updated.json.isolation).toEqual({ mode: 'NAMESPACE', namespaces: ['globex'] });

      const deleted = await admin.fetch('DELETE', '/api/v1/tenants/globex');
      expect(deleted.status, deleted.text).toBe(204);
      expect((await admin.fetch('GET', '/api/v1/tenants/globex')).status).toBe(404);

      const db = perch.perch.ctx.db;
      const entries = await db.selectFrom('audit_log').selectAll().where('resource_id', '=', 'globex').orderBy('seq').execute();
      // Tenants are instance-level: the instance chain records them.
      expect(entries.map((e) => [e.action, e.resource_type, e.tenant_id])).toEqual(['CREATE', 'UPDATE', 'DELETE'].map((a) => [a, 'TENANT_SETTINGS', INSTANCE_CHAIN]));
      const states = await db.selectFrom('audit_states').selectAll().where('entry_id', 'in', entries.map((e) => e.id)).execute();
      const byEntry = new Map(states.map((s) => [s.entry_id, s]));
      const update = byEntry.get(entries[1]!.id)!;
      expect(JSON.parse(update.before!).name).toBe('Globex');
      expect(JSON.parse(update.after!).name).toBe('Globex Corp');
      expect(JSON.parse(byEntry.get(entries[2]!.id)!.before!).id).toBe('globex');
      expect(byEntry.get(entries[2]!.id)!.after).toBeNull();
    });

    it('refuses overlapping namespace roots, within a tenant or across two, storing nothing', async () => {
      expect((await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'initech', name: 'Initech', isolation: { mode: 'NAMESPACE', namespaces: ['initech'] } } })).status).toBe(200);
      const across = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'sub', name: 'Sub', isolation: { mode: 'NAMESPACE', namespaces: ['initech.team'] } } });
      expect(across.status).toBe(409);
      expect(across.json.message).toMatch(/initech\.team overlaps initech of tenant initech/);
      const above = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'sub', name: 'Sub', isolation: { mode: 'NAMESPACE', namespaces: ['acme', 'acme.x'] } } });
      expect(above.status).toBe(422);
      expect((await admin.fetch('GET', '/api/v1/tenants/sub')).status).toBe(404);
      expect((await admin.fetch('DELETE', '/api/v1/tenants/initech')).status).toBe(204);
    });

    it('an INSTANCE tenant: its Kestra is checked with the credentials (422 refused, 502 unreachable, nothing stored); the password is sealed and never answered, logged or audited', async () => {
      const wrong = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'Acme', isolation: instance('not-the-password') } });
      expect(wrong.status, wrong.text).toBe(422);
      expect(wrong.json.message).toContain(kestra.url);
      const unreachable = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'Acme', isolation: instance(TENANT_PASSWORD, 'http://127.0.0.1:9') } });
      expect(unreachable.status, unreachable.text).toBe(502);
      expect(unreachable.json.message).toContain('http://127.0.0.1:9');
      expect((await admin.fetch('GET', '/api/v1/tenants/acme')).status).toBe(404);
      const missing = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'Acme', isolation: instance(undefined) } });
      expect(missing.status).toBe(422);

      const answers = [];
      const created = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'Acme', isolation: instance(TENANT_PASSWORD) } });
      expect(created.status, created.text).toBe(200);
      expect(created.json.isolation).toEqual({ mode: 'INSTANCE', kestraUrl: kestra.url, username: 'acme@kestra.test' });
      answers.push(created.text);
      // Kestra was asked with the tenant's credentials.
      expect(kestra.requests.some((r) => r.url === '/api/v1/configs' && r.headers.authorization === `Basic ${Buffer.from(`acme@kestra.test:${TENANT_PASSWORD}`).toString('base64')}`)).toBe(true);
      // An update without a password keeps (and checks again) the stored one.
      const renamed = await admin.fetch('PUT', '/api/v1/tenants/acme', { json: { id: 'acme', name: 'Acme Inc', isolation: instance(undefined) } });
      expect(renamed.status, renamed.text).toBe(200);
      answers.push(renamed.text);
      const badUpdate = await admin.fetch('PUT', '/api/v1/tenants/acme', { json: { id: 'acme', name: 'Broken', isolation: instance('wrong-again') } });
      expect(badUpdate.status).toBe(422);
      answers.push((await admin.fetch('GET', '/api/v1/tenants/acme')).text, (await admin.fetch('GET', '/api/v1/tenants/search')).text);
      // The upstream health the Tenants screen shows: the tenant's Kestra, asked with its credentials.
      const health = await admin.fetch('GET', '/api/v1/tenants/acme/health');
      expect(health.json).toMatchObject({ tenantId: 'acme', kestraUrl: kestra.url, ready: true });
      answers.push(health.text);
      expect(JSON.parse(answers[2]!).name).toBe('Acme Inc');

      const db = perch.perch.ctx.db;
      const row = await db.selectFrom('tenants').selectAll().where('id', '=', 'acme').executeTakeFirstOrThrow();
      expect(row.kestra_password).toMatch(/^perch-sealed\./);
      expect(perch.perch.ctx.envelope.openText(row.kestra_password!, { table: 'tenants', column: 'kestra_password', id: 'acme' })).toBe(TENANT_PASSWORD);
      expect(perch.perch.ctx.tenants.get('acme')?.authorization).toBe(`Basic ${Buffer.from(`acme@kestra.test:${TENANT_PASSWORD}`).toString('base64')}`);

      const audit = JSON.stringify(await db.selectFrom('audit_log').selectAll().execute()) + JSON.stringify(await db.selectFrom('audit_states').selectAll().execute());
      expect(audit).toContain('acme');
      for (const text of [...answers, audit, logs.join('')]) expect(text).not.toContain(TENANT_PASSWORD);
      expect(logs.join('')).toContain('/api/v1/tenants');
    });

    it('only instance owners manage tenants', async () => {
      const { browser } = await signedInPerson(perch, admin, 'tenant-outsider');
      for (const [method, path] of [['GET', '/api/v1/tenants/search'], ['GET', '/api/v1/tenants/main'], ['POST', '/api/v1/tenants'], ['DELETE', '/api/v1/tenants/acme']] as const) {
        const res = await browser.fetch(method, path, method === 'POST' ? { json: { id: 'x', name: 'X', isolation: { mode: 'NAMESPACE', namespaces: ['x'] } } } : {});
        expect(res.status, `${method} ${path}`).toBe(403);
      }
      expect((await admin.fetch('GET', '/api/v1/tenants/x')).status).toBe(404);
    });

    it('tenant access: grant by email, list, autocomplete, read, revoke; a tenant without access is 403, an unknown one 404; /me lists the tenants one may enter', async () => {
      expect((await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'umbrella', name: 'Umbrella', isolation: { mode: 'NAMESPACE', namespaces: ['umbrella'] } } })).status).toBe(200);
      const person = await signedInPerson(perch, admin, 'tenant-member');
      expect((await person.browser.fetch('GET', '/api/v1/umbrella/roles/search')).status).toBe(403);
      expect((await person.browser.fetch('GET', '/api/v1/nowhere/roles/search')).status).toBe(404);
      expect((await person.browser.fetch('GET', '/api/v1/me')).json.tenants).toEqual([{ id: 'main', name: 'main', logo: null }]);

      expect((await admin.fetch('POST', '/api/v1/nowhere/tenant-access', { json: { email: person.email } })).status).toBe(404);
      expect((await admin.fetch('POST', '/api/v1/umbrella/tenant-access', { json: { email: 'nobody@example.com' } })).status).toBe(404);
      const granted = await admin.fetch('POST', '/api/v1/umbrella/tenant-access', { json: { email: person.email } });
      expect(granted.status, granted.text).toBe(204);
      expect((await admin.fetch('POST', '/api/v1/umbrella/tenant-access', { json: { email: person.email } })).status).toBe(409);

      const list = await admin.fetch('GET', '/api/v1/umbrella/tenant-access?page=1&size=10');
      expect(errors('listTenantAccess', 200, list.json)).toEqual([]);
      expect(list.json.results.map((u: { id: string }) => u.id)).toEqual([person.id]);
      const auto = await admin.fetch('POST', '/api/v1/umbrella/tenant-access/autocomplete', { json: { q: 'tenant-member', existingOnly: true } });
      expect(errors('autocompleteUsers', 200, auto.json)).toEqual([]);
      expect(auto.json.map((u: { id: string }) => u.id)).toEqual([person.id]);
      const entry = await person.browser.fetch('GET', `/api/v1/umbrella/tenant-access/${person.id}`);
      expect(entry.status, entry.text).toBe(200);
      expect(errors('getTenantAccess', 200, entry.json)).toEqual([]);
      expect(entry.json).toMatchObject({ tenantId: 'umbrella', userId: person.id, roles: [], superAdmin: false });

      // Entering the tenant: its IAM answers (per the person's bindings there: none, so 403 by permission, not by access).
      const roles = await person.browser.fetch('GET', '/api/v1/umbrella/roles/search');
      expect(roles.status).toBe(403);
      expect(roles.json.message).toMatch(/Permission ROLE:LIST on tenant umbrella/);
      expect((await person.browser.fetch('GET', '/api/v1/me')).json.tenants.map((t: { id: string }) => t.id)).toEqual(['main', 'umbrella']);
      expect((await admin.fetch('GET', `/api/v1/users/${person.id}`)).json.tenants.map((t: { id: string }) => t.id)).toEqual(['main', 'umbrella']);

      const revoked = await admin.fetch('DELETE', `/api/v1/umbrella/tenant-access/${person.id}`);
      expect(revoked.status).toBe(204);
      expect((await admin.fetch('DELETE', `/api/v1/umbrella/tenant-access/${person.id}`)).status).toBe(404);
      expect((await person.browser.fetch('GET', '/api/v1/umbrella/roles/search')).status).toBe(403);
      expect((await person.browser.fetch('GET', `/api/v1/umbrella/tenant-access/${person.id}`)).json.message).toMatch(/no access to tenant umbrella/);

      // Grant by id (EE's createTenantAccess_1): 201. Audited in the tenant's own chain, with before/after.
      expect((await admin.fetch('PUT', `/api/v1/umbrella/tenant-access/${person.id}`)).status).toBe(201);
      const db = perch.perch.ctx.db;
      const entries = await db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'umbrella').orderBy('seq').execute();
      expect(entries.map((e) => `${e.action} ${e.resource_type}`)).toEqual(['CREATE USER', 'DELETE USER', 'UPDATE USER']);
      const states = await db.selectFrom('audit_states').selectAll().where('entry_id', 'in', entries.map((e) => e.id)).execute();
      const revokeState = states.find((s) => s.entry_id === entries[1]!.id)!;
      expect(JSON.parse(revokeState.before!).userId).toBe(person.id);
      expect(revokeState.after).toBeNull();
      const regrant = states.find((s) => s.entry_id === entries[2]!.id)!;
      expect(regrant.before).toBeNull();
      expect(JSON.parse(regrant.after!).tenantId).toBe('umbrella');
    });

    it('deleting a tenant that still holds members or IAM needs an explicit confirmation, then removes them', async () => {
      expect((await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'hooli', name: 'Hooli', isolation: { mode: 'NAMESPACE', namespaces: ['hooli'] } } })).status).toBe(200);
      const person = await createPerson(admin, 'hooli-member');
      expect((await admin.fetch('POST', '/api/v1/hooli/tenant-access', { json: { email: person.email } })).status).toBe(204);
      expect((await admin.fetch('POST', '/api/v1/hooli/groups', { json: { name: 'devs' } })).status).toBe(200);
      const refused = await admin.fetch('DELETE', '/api/v1/tenants/hooli');
      expect(refused.status).toBe(409);
      expect(refused.json.holds).toEqual({ members: 1, groups: 1 });
      expect((await admin.fetch('GET', '/api/v1/tenants/hooli')).status).toBe(200);
      expect((await admin.fetch('DELETE', '/api/v1/tenants/hooli?confirm=hooli')).status).toBe(204);
      const db = perch.perch.ctx.db;
      expect(await db.selectFrom('groups').selectAll().where('tenant_id', '=', 'hooli').execute()).toEqual([]);
      expect(await db.selectFrom('tenant_access').selectAll().where('tenant_id', '=', 'hooli').execute()).toEqual([]);
      // The person keeps their account and main.
      const signedIn = new Browser(perch);
      await signedIn.login(person.email, PASSWORD);
      expect((await signedIn.fetch('GET', '/api/v1/me')).json.tenants.map((t: { id: string }) => t.id)).toEqual(['main']);
    });
  });
}
