import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiBindingDetailSchema } from '../../lib/schemas/iam.js';
import { pagedResultsSchema } from '../../lib/schemas/users.js';
import { forgetUserInIam, loadAuthzFacts } from '../../backend/iam/iam-store.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';
import { bind, createPerson } from './iam-helpers.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`IAM bindings on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('creates, reads, finds and deletes a binding, and the decision index follows at once', async () => {
      const authz = perch.perch.ctx.authz;
      const dana = await createPerson(admin, 'dana');
      expect(authz.allows('main', dana.id, 'FLOW', 'VIEW', 'prod.eng')).toBe(false);

      const created = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: dana.id, roleId: 'viewer', namespaceId: 'prod' } });
      expect(created.status).toBe(200);
      const binding = apiBindingDetailSchema.parse(created.json);
      expect(binding).toEqual({
        id: binding.id, type: 'USER', namespace: 'prod', role: { id: 'viewer', name: 'Viewer' }, group: null,
        user: { id: dana.id, username: dana.email, displayName: dana.email, type: 'STANDARD' },
      });
      expect(authz.allows('main', dana.id, 'FLOW', 'VIEW', 'prod.eng')).toBe(true);
      expect(authz.allows('main', dana.id, 'FLOW', 'VIEW', 'production')).toBe(false);
      expect(authz.allows('main', dana.id, 'FLOW', 'CREATE', 'prod')).toBe(false);

      expect(apiBindingDetailSchema.parse((await admin.fetch('GET', `/api/v1/main/bindings/${binding.id}`)).json)).toEqual(binding);
      const search = (query: string) => admin.fetch('GET', `/api/v1/main/bindings/search?${query}`).then((r) => pagedResultsSchema(apiBindingDetailSchema).parse(r.json));
      expect((await search(`type=USER&id=${dana.id}`)).results).toEqual([binding]);
      expect((await search(`id=${dana.id}&namespace=prod`)).total).toBe(1);
      expect((await search(`id=${dana.id}&namespace=dev`)).total).toBe(0);
      expect((await search(`type=GROUP&id=${dana.id}`)).total).toBe(0);
      expect((await admin.fetch('GET', '/api/v1/main/bindings/search?type=ROBOT')).status).toBe(422);

      const again = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: dana.id, roleId: 'viewer', namespaceId: 'prod' } });
      expect(again.status).toBe(409);
      // The same role elsewhere is another binding.
      const tenantWide = await bind(admin, { type: 'USER', externalId: dana.id, roleId: 'viewer' });
      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${tenantWide}`)).status).toBe(204);

      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${binding.id}`)).status).toBe(204);
      expect(authz.allows('main', dana.id, 'FLOW', 'VIEW', 'prod.eng')).toBe(false);
      expect((await admin.fetch('GET', `/api/v1/main/bindings/${binding.id}`)).status).toBe(404);
      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${binding.id}`)).status).toBe(404);
    });

    it('has no update: bindings are immutable', async () => {
      const erin = await createPerson(admin, 'erin');
      const id = await bind(admin, { type: 'USER', externalId: erin.id, roleId: 'viewer', namespaceId: 'ns' });
      for (const method of ['PUT', 'PATCH']) {
        const res = await admin.fetch(method, `/api/v1/main/bindings/${id}`, { json: { type: 'USER', externalId: erin.id, roleId: 'admin' } });
        expect(res.status).toBe(405);
        expect(res.json.message).toMatch(/immutable/);
      }
      expect((await admin.fetch('GET', `/api/v1/main/bindings/${id}`)).json.role.id).toBe('viewer');
    });

    it('validates the namespace and requires the role and subject to exist', async () => {
      const fay = await createPerson(admin, 'fay');
      for (const namespaceId of ['Prod', 'a..b', 'a.', '../etc', '']) {
        const res = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: fay.id, roleId: 'viewer', namespaceId } });
        expect(res.status, namespaceId).toBe(422);
        expect(res.json.errors[0].path).toBe('namespaceId');
      }
      const noRole = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: fay.id, roleId: 'nope' } });
      expect(noRole.status).toBe(404);
      expect(noRole.json.message).toBe('Role nope not found');
      const noUser = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: 'ghost', roleId: 'viewer' } });
      expect(noUser.status).toBe(404);
      expect(noUser.json.message).toBe('User ghost not found');
      const noGroup = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'GROUP', externalId: fay.id, roleId: 'viewer' } });
      expect(noGroup.status).toBe(404);
      expect((await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'ROBOT', externalId: fay.id, roleId: 'viewer' } })).status).toBe(422);
      // `namespace` (the answers' name) for `namespaceId` is refused, never a tenant-wide binding; in bulk too.
      const misnamed = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: fay.id, roleId: 'viewer', namespace: 'company' } });
      expect(misnamed.status).toBe(422);
      expect(JSON.stringify(misnamed.json.errors)).toContain('namespace');
      expect((await admin.fetch('POST', '/api/v1/main/bindings/bulk', { json: [{ type: 'USER', externalId: fay.id, roleId: 'viewer', namespace: 'company' }] })).status).toBe(422);
      expect((await admin.fetch('GET', `/api/v1/main/bindings/search?id=${fay.id}`)).json.total).toBe(0);
    });

    it('grants a group binding to its members, with the group in the detail', async () => {
      const gus = await createPerson(admin, 'gus');
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Launchers', membersId: [gus.id] } })).json;
      const res = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'GROUP', externalId: group.id, roleId: 'launcher', namespaceId: 'jobs' } });
      expect(apiBindingDetailSchema.parse(res.json)).toMatchObject({ type: 'GROUP', group: { id: group.id, name: 'Launchers' }, user: null, namespace: 'jobs' });
      expect(perch.perch.ctx.authz.allows('main', gus.id, 'FLOW', 'EXECUTE', 'jobs.nightly')).toBe(true);
    });

    it('creates bulk bindings all or nothing', async () => {
      const authz = perch.perch.ctx.authz;
      const hal = await createPerson(admin, 'hal');
      const ivy = await createPerson(admin, 'ivy');
      const failing = await admin.fetch('POST', '/api/v1/main/bindings/bulk', {
        json: [
          { type: 'USER', externalId: hal.id, roleId: 'viewer', namespaceId: 'bulk' },
          { type: 'USER', externalId: ivy.id, roleId: 'no-such-role' },
        ],
      });
      expect(failing.status).toBe(404);
      expect(failing.json.message).toBe('Role no-such-role not found (binding 2)');
      expect((await admin.fetch('GET', `/api/v1/main/bindings/search?id=${hal.id}`)).json.total).toBe(0);
      expect(authz.allows('main', hal.id, 'FLOW', 'VIEW', 'bulk')).toBe(false);

      const repeated = await admin.fetch('POST', '/api/v1/main/bindings/bulk', {
        json: [
          { type: 'USER', externalId: hal.id, roleId: 'viewer', namespaceId: 'bulk' },
          { type: 'USER', externalId: hal.id, roleId: 'viewer', namespaceId: 'bulk' },
        ],
      });
      expect(repeated.status).toBe(409);
      expect((await admin.fetch('GET', `/api/v1/main/bindings/search?id=${hal.id}`)).json.total).toBe(0);

      const invalid = await admin.fetch('POST', '/api/v1/main/bindings/bulk', { json: [{ type: 'USER', externalId: hal.id, roleId: 'viewer', namespaceId: 'BAD' }] });
      expect(invalid.status).toBe(422);
      expect(invalid.json.errors[0].path).toBe('0.namespaceId');

      const ok = await admin.fetch('POST', '/api/v1/main/bindings/bulk', {
        json: [
          { type: 'USER', externalId: hal.id, roleId: 'viewer', namespaceId: 'bulk' },
          { type: 'USER', externalId: ivy.id, roleId: 'editor', namespaceId: null },
        ],
      });
      expect(ok.status).toBe(200);
      expect(ok.json.map((b: unknown) => apiBindingDetailSchema.parse(b).role.id)).toEqual(['viewer', 'editor']);
      expect(authz.allows('main', hal.id, 'FLOW', 'VIEW', 'bulk')).toBe(true);
      expect(authz.allows('main', ivy.id, 'FLOW', 'CREATE', 'x')).toBe(true);
      expect((await admin.fetch('POST', '/api/v1/main/bindings/bulk', { json: [] })).json).toEqual([]);
    });

    it('forgets a deleted user: bindings and memberships go from the store and the index', async () => {
      const authz = perch.perch.ctx.authz;
      const jo = await createPerson(admin, 'jo');
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Jo group', membersId: [jo.id] } })).json;
      await bind(admin, { type: 'GROUP', externalId: group.id, roleId: 'viewer', namespaceId: 'g' });
      await bind(admin, { type: 'USER', externalId: jo.id, roleId: 'editor', namespaceId: 'u' });
      expect(authz.allows('main', jo.id, 'FLOW', 'VIEW', 'g')).toBe(true);

      expect((await admin.fetch('DELETE', `/api/v1/users/${jo.id}`)).status).toBe(204);
      await forgetUserInIam(perch.perch.ctx, jo.id);
      expect(authz.allows('main', jo.id, 'FLOW', 'VIEW', 'g')).toBe(false);
      expect(authz.allows('main', jo.id, 'FLOW', 'CREATE', 'u')).toBe(false);
      expect((await admin.fetch('GET', `/api/v1/main/bindings/search?id=${jo.id}`)).json.total).toBe(0);
      expect((await admin.fetch('GET', `/api/v1/main/groups/${group.id}/members`)).json.total).toBe(0);

      // What the store says is what the index says after a restart.
      const facts = await loadAuthzFacts(perch.perch.ctx.db);
      expect(facts.bindings.some((b) => b.subjectId === jo.id)).toBe(false);
      expect(facts.memberships.some((m) => m.userId === jo.id)).toBe(false);
      expect(facts.bindings.find((b) => b.subjectId === group.id)?.permissions.FLOW).toContain('VIEW');
    });
  });
}
