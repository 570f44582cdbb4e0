import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGED_ROLES, PERMISSION_CATALOGUE } from '../../lib/authz/catalogue.js';
import { aclTemplatesSchema, apiRoleDetailSchema, apiRoleSchema, apiRoleSummarySchema } from '../../lib/schemas/iam.js';
import { pagedResultsSchema } from '../../lib/schemas/users.js';
import { defaultRoleFor, ensureManagedRoles } from '../../backend/iam/iam-store.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';
import { bind, createPerson, signedInPerson } from './iam-helpers.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`IAM roles on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('seeds the five managed roles, idempotently, with the catalogue permission sets', async () => {
      await ensureManagedRoles(perch.perch.ctx.db, 'main'); // a second run changes nothing
      const page = pagedResultsSchema(apiRoleSummarySchema).parse((await admin.fetch('GET', '/api/v1/main/roles/search?size=50')).json);
      expect(page.total).toBe(5);
      expect(page.results.map((r) => r.name)).toEqual(['Admin', 'Developer', 'Editor', 'Launcher', 'Viewer']);
      expect(page.results.every((r) => r.isManaged && !r.isDefault)).toBe(true);

      for (const managed of MANAGED_ROLES) {
        const res = await admin.fetch('GET', `/api/v1/main/roles/${managed.id}`);
        expect(res.status).toBe(200);
        const role = apiRoleDetailSchema.parse(res.json);
        expect(role).toEqual({ id: managed.id, name: managed.name, description: managed.description, permissions: managed.permissions, isDefault: false, isManaged: true });
      }
    });

    it('refuses to edit or delete a managed role, but lets it become the default', async () => {
      const viewer = MANAGED_ROLES.find((r) => r.id === 'viewer')!;
      const edit = await admin.fetch('PUT', '/api/v1/main/roles/viewer', { json: { name: 'Viewer', permissions: { FLOW: ['VIEW'] } } });
      expect(edit.status).toBe(403);
      expect(edit.json.message).toMatch(/managed/);
      const rename = await admin.fetch('PUT', '/api/v1/main/roles/viewer', { json: { name: 'Watcher', permissions: viewer.permissions } });
      expect(rename.status).toBe(403);
      const del = await admin.fetch('DELETE', '/api/v1/main/roles/admin');
      expect(del.status).toBe(403);
      expect(del.json.message).toMatch(/managed.*cannot be deleted/);
      expect((await admin.fetch('GET', '/api/v1/main/roles/admin')).json.permissions).toEqual(MANAGED_ROLES[0]!.permissions);

      const makeDefault = await admin.fetch('PUT', '/api/v1/main/roles/viewer', { json: { name: 'Viewer', permissions: viewer.permissions, isDefault: true } });
      expect(makeDefault.status).toBe(200);
      expect(makeDefault.json).toMatchObject({ id: 'viewer', isDefault: true, isManaged: true });
      expect((await defaultRoleFor(perch.perch.ctx.db, 'main'))?.id).toBe('viewer');
      await admin.fetch('PUT', '/api/v1/main/roles/viewer', { json: { name: 'Viewer', permissions: viewer.permissions, isDefault: false } });
      expect(await defaultRoleFor(perch.perch.ctx.db, 'main')).toBeUndefined();
    });

    it('creates, reads, finds, updates and deletes a custom role with the EE shapes', async () => {
      const created = await admin.fetch('POST', '/api/v1/main/roles', {
        json: { name: 'Flow author', description: 'Writes flows', permissions: { FLOW: ['CREATE', 'VIEW', 'VIEW'], NAMESPACE: ['LIST'] } },
      });
      expect(created.status).toBe(200);
      const role = apiRoleDetailSchema.parse(created.json);
      expect(role).toMatchObject({ name: 'Flow author', description: 'Writes flows', isDefault: false, isManaged: false });
      expect(role.permissions).toEqual({ FLOW: ['VIEW', 'CREATE'], NAMESPACE: ['LIST'] });

      expect(apiRoleDetailSchema.parse((await admin.fetch('GET', `/api/v1/main/roles/${role.id}`)).json)).toEqual(role);

      const found = pagedResultsSchema(apiRoleSummarySchema).parse((await admin.fetch('GET', '/api/v1/main/roles/search?filters[q][EQUALS]=author')).json);
      expect(found).toEqual({ total: 1, results: [{ id: role.id, name: 'Flow author', isDefault: false, isManaged: false, permissionCount: 3 }] });
      const paged = pagedResultsSchema(apiRoleSummarySchema).parse((await admin.fetch('GET', '/api/v1/main/roles/search?page=2&size=2&sort=name:asc')).json);
      expect(paged.total).toBe(6);
      expect(paged.results.map((r) => r.name)).toEqual(['Editor', 'Flow author']);

      const auto = await admin.fetch('POST', '/api/v1/main/roles/autocomplete', { json: { q: 'aut', ids: ['viewer'] } });
      expect(auto.status).toBe(200);
      expect(auto.json.map((r: { id: string }) => r.id)).toEqual(['viewer', role.id]);
      auto.json.forEach((r: unknown) => apiRoleSummarySchema.parse(r));

      const ids = await admin.fetch('POST', '/api/v1/main/roles/ids', { json: { ids: [role.id, 'admin', 'nope'] } });
      expect(ids.json.map((r: unknown) => apiRoleSchema.parse(r)).map((r: { id: string; deleted: boolean }) => [r.id, r.deleted])).toEqual([
        ['admin', false], [role.id, false],
      ]);

      // Legacy 1.x payloads are converted with the 2.0 migration table.
      const updated = await admin.fetch('PUT', `/api/v1/main/roles/${role.id}`, { json: { name: 'Flow reader', permissions: { FLOW: ['READ'] } } });
      expect(updated.status).toBe(200);
      expect(apiRoleDetailSchema.parse(updated.json)).toEqual({ ...role, name: 'Flow reader', description: null, permissions: { FLOW: ['VIEW', 'LIST', 'EXPORT'] } });

      expect((await admin.fetch('DELETE', `/api/v1/main/roles/${role.id}`)).status).toBe(204);
      expect((await admin.fetch('GET', `/api/v1/main/roles/${role.id}`)).status).toBe(404);
      expect((await admin.fetch('DELETE', `/api/v1/main/roles/${role.id}`)).status).toBe(404);
      expect((await admin.fetch('PUT', `/api/v1/main/roles/${role.id}`, { json: { name: 'x', permissions: {} } })).status).toBe(404);
    });

    it('answers 422 naming the field, 409 on a duplicate name, and writes nothing', async () => {
      const badAction = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Bad', permissions: { FLOW: ['FLY'] } } });
      expect(badAction.status).toBe(422);
      expect(badAction.json.errors[0].path).toBe('permissions.FLOW.0');
      expect(badAction.json.message).toMatch(/FLY/);
      const badResource = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Bad', permissions: { SPACESHIP: ['VIEW'] } } });
      expect(badResource.status).toBe(422);
      const noName = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: '  ', permissions: {} } });
      expect(noName.status).toBe(422);
      expect(noName.json.errors[0].path).toBe('name');
      expect((await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'No permissions' } })).status).toBe(422);

      expect((await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Admin', permissions: {} } })).status).toBe(409);
      const first = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Unique', permissions: {} } });
      expect(first.status).toBe(200);
      expect((await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Unique', permissions: {} } })).status).toBe(409);
      const other = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Other', permissions: {} } });
      const clash = await admin.fetch('PUT', `/api/v1/main/roles/${other.json.id}`, { json: { name: 'Unique', permissions: {} } });
      expect(clash.status).toBe(409);
      expect(clash.json.message).toBe('A role named Unique already exists');

      expect((await admin.fetch('GET', '/api/v1/main/roles/search?q=Bad')).json.total).toBe(0);
      expect((await admin.fetch('GET', '/api/v1/main/roles/search?size=0')).status).toBe(422);
    });

    it('keeps one default role: the last one set wins', async () => {
      const a = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Default A', permissions: { FLOW: ['VIEW'] }, isDefault: true } });
      expect(a.json.isDefault).toBe(true);
      const b = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Default B', permissions: { FLOW: ['LIST'] }, isDefault: true } });
      expect(b.json.isDefault).toBe(true);
      expect((await admin.fetch('GET', `/api/v1/main/roles/${a.json.id}`)).json.isDefault).toBe(false);
      expect((await defaultRoleFor(perch.perch.ctx.db, 'main'))?.id).toBe(b.json.id);

      // PUT without isDefault leaves it as it was.
      await admin.fetch('PUT', `/api/v1/main/roles/${b.json.id}`, { json: { name: 'Default B', permissions: { FLOW: ['LIST'] } } });
      expect((await defaultRoleFor(perch.perch.ctx.db, 'main'))?.id).toBe(b.json.id);
      await admin.fetch('PUT', `/api/v1/main/roles/${a.json.id}`, { json: { name: 'Default A', permissions: { FLOW: ['VIEW'] }, isDefault: true } });
      expect((await defaultRoleFor(perch.perch.ctx.db, 'main'))?.id).toBe(a.json.id);
      expect((await admin.fetch('GET', `/api/v1/main/roles/${b.json.id}`)).json.isDefault).toBe(false);
      await admin.fetch('PUT', `/api/v1/main/roles/${a.json.id}`, { json: { name: 'Default A', permissions: { FLOW: ['VIEW'] }, isDefault: false } });
    });

    it('refuses to delete a role that is bound, and re-resolves its bindings when its permissions change', async () => {
      const authz = perch.perch.ctx.authz;
      const person = await createPerson(admin);
      const role = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Evolving', permissions: { FLOW: ['VIEW'] } } });
      const bindingId = await bind(admin, { type: 'USER', externalId: person.id, roleId: role.json.id, namespaceId: 'team' });
      expect(authz.allows('main', person.id, 'FLOW', 'VIEW', 'team.a')).toBe(true);
      expect(authz.allows('main', person.id, 'FLOW', 'CREATE', 'team.a')).toBe(false);

      const inUse = await admin.fetch('DELETE', `/api/v1/main/roles/${role.json.id}`);
      expect(inUse.status).toBe(409);
      expect(inUse.json.message).toMatch(/used by 1 binding/);

      await admin.fetch('PUT', `/api/v1/main/roles/${role.json.id}`, { json: { name: 'Evolving', permissions: { FLOW: ['VIEW', 'CREATE'] } } });
      expect(authz.allows('main', person.id, 'FLOW', 'CREATE', 'team.a')).toBe(true);
      await admin.fetch('PUT', `/api/v1/main/roles/${role.json.id}`, { json: { name: 'Evolving', permissions: { FLOW: ['CREATE'] } } });
      expect(authz.allows('main', person.id, 'FLOW', 'VIEW', 'team.a')).toBe(false);

      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${bindingId}`)).status).toBe(204);
      expect((await admin.fetch('DELETE', `/api/v1/main/roles/${role.json.id}`)).status).toBe(204);
    });

    it('serves the permission catalogue and the managed templates', async () => {
      const permissions = await admin.fetch('GET', '/api/v1/main/acls/permissions');
      expect(permissions.status).toBe(200);
      expect(permissions.json).toEqual(JSON.parse(JSON.stringify(PERMISSION_CATALOGUE)));
      const templates = aclTemplatesSchema.parse((await admin.fetch('GET', '/api/v1/main/acls/templates')).json);
      expect(Object.keys(templates).sort()).toEqual(['ADMIN', 'DEVELOPER', 'EDITOR', 'LAUNCHER', 'VIEWER']);
      expect(templates.VIEWER).toEqual(MANAGED_ROLES.find((r) => r.id === 'viewer')!.permissions);
    });

    it('knows only the main tenant, and lets nobody in without a session or a permission', async () => {
      for (const [method, path] of [['GET', '/api/v1/other/roles/search'], ['GET', '/api/v1/other/acls/permissions'], ['POST', '/api/v1/other/roles']] as const) {
        const res = await admin.fetch(method, path, method === 'POST' ? { json: { name: 'x', permissions: {} } } : {});
        expect(res.status).toBe(404);
        expect(res.json.message).toBe('Tenant other not found');
      }
      expect((await new Browser(perch).fetch('GET', '/api/v1/main/roles/search')).status).toBe(401);

      const nobody = await signedInPerson(perch, admin, 'nobody');
      const refused = await nobody.browser.fetch('GET', '/api/v1/main/roles/search');
      expect(refused.status).toBe(403);
      expect(refused.json.message).toMatch(/ROLE:LIST/);
      expect((await nobody.browser.fetch('POST', '/api/v1/main/roles', { json: { name: 'Mine', permissions: {} } })).status).toBe(403);
      expect((await nobody.browser.fetch('GET', '/api/v1/main/acls/permissions')).status).toBe(200);
    });
  });
}
