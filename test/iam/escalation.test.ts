import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPerch } from '../../backend/server.js';
import { parseConfig } from '../../backend/config/config.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { bind, createPerson, signedInPerson } from './iam-helpers.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`IAM authorization and anti-escalation on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    let databaseUrl: string;

    beforeAll(async () => {
      databaseUrl = await target.url();
      perch = await startPerch({ databaseUrl });
      admin = new Browser(perch);
      await admin.login();
    });
    afterAll(() => perch?.close());

    /** A user who may create roles and bindings, and otherwise only views flows under `prod`. */
    async function clerk() {
      const person = await signedInPerson(perch, admin, 'clerk');
      const role = await admin.fetch('POST', '/api/v1/main/roles', {
        json: { name: `IAM clerk ${person.id}`, permissions: { ROLE: ['VIEW', 'LIST', 'CREATE'], BINDING: ['VIEW', 'LIST', 'CREATE'] } },
      });
      await bind(admin, { type: 'USER', externalId: person.id, roleId: role.json.id });
      await bind(admin, { type: 'USER', externalId: person.id, roleId: 'viewer', namespaceId: 'prod' });
      return person;
    }

    it('refuses to bind what the caller does not hold, naming what is missing', async () => {
      const me = await clerk();
      const other = await createPerson(admin, 'target');
      const authz = perch.perch.ctx.authz;

      const admin403 = await me.browser.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: other.id, roleId: 'admin' } });
      expect(admin403.status).toBe(403);
      expect(admin403.json.message).toMatch(/^You cannot bind role Admin tenant-wide: it grants permissions you do not hold tenant-wide \(missing FLOW: .*USER: .*\)$/);
      expect(admin403.json.missing.FLOW).toContain('CREATE');
      expect(authz.allows('main', other.id, 'FLOW', 'CREATE', 'prod')).toBe(false);

      // Viewer where the clerk holds Viewer: allowed, including below it.
      const ok = await me.browser.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: other.id, roleId: 'viewer', namespaceId: 'prod.team' } });
      expect(ok.status).toBe(200);
      expect(authz.allows('main', other.id, 'FLOW', 'VIEW', 'prod.team.x')).toBe(true);

      // Not above or beside it.
      for (const namespaceId of [null, 'dev', 'production']) {
        const res = await me.browser.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: other.id, roleId: 'viewer', namespaceId } });
        expect(res.status, String(namespaceId)).toBe(403);
        expect(res.json.message).toMatch(/missing FLOW: VIEW, LIST, EXPORT/);
      }
      // A bulk call with one escalating binding writes none.
      const bulk = await me.browser.fetch('POST', '/api/v1/main/bindings/bulk', {
        json: [
          { type: 'USER', externalId: other.id, roleId: 'viewer', namespaceId: 'prod.bulk' },
          { type: 'USER', externalId: other.id, roleId: 'editor', namespaceId: 'prod.bulk' },
        ],
      });
      expect(bulk.status).toBe(403);
      expect(authz.allows('main', other.id, 'FLOW', 'VIEW', 'prod.bulk')).toBe(false);
    });

    it('refuses to create or widen a role beyond what the caller holds tenant-wide', async () => {
      const me = await clerk();
      const tooMuch = await me.browser.fetch('POST', '/api/v1/main/roles', { json: { name: 'Sneaky', permissions: { FLOW: ['VIEW'] } } });
      expect(tooMuch.status).toBe(403); // Viewer under prod is not FLOW:VIEW tenant-wide
      expect(tooMuch.json.message).toMatch(/missing FLOW: VIEW/);
      const within = await me.browser.fetch('POST', '/api/v1/main/roles', { json: { name: `Helper ${me.id}`, permissions: { BINDING: ['VIEW'] } } });
      expect(within.status).toBe(200);
      // No ROLE:UPDATE.
      const update = await me.browser.fetch('PUT', `/api/v1/main/roles/${within.json.id}`, { json: { name: 'x', permissions: {} } });
      expect(update.status).toBe(403);
      expect(update.json.message).toMatch(/ROLE:UPDATE/);
    });

    it('checks each IAM action tenant-wide, and lets an instance owner do everything', async () => {
      const viewerOnly = await signedInPerson(perch, admin, 'viewer');
      await bind(admin, { type: 'USER', externalId: viewerOnly.id, roleId: 'viewer' });
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Guarded' } })).json;
      const cases: Array<[string, string, unknown?]> = [
        ['GET', '/api/v1/main/roles/search'],
        ['GET', '/api/v1/main/roles/admin'],
        ['POST', '/api/v1/main/roles/ids', { ids: ['admin'] }],
        ['DELETE', '/api/v1/main/roles/admin'],
        ['GET', '/api/v1/main/groups/search'],
        ['POST', '/api/v1/main/groups', { name: 'Nope' }],
        ['GET', `/api/v1/main/groups/${group.id}`],
        ['DELETE', `/api/v1/main/groups/${group.id}`],
        ['PUT', `/api/v1/main/groups/${group.id}/members/${viewerOnly.id}`],
        ['GET', '/api/v1/main/bindings/search'],
        ['POST', '/api/v1/main/bindings', { type: 'USER', externalId: viewerOnly.id, roleId: 'viewer', namespaceId: 'x' }],
      ];
      for (const [method, path, json] of cases) {
        const res = await viewerOnly.browser.fetch(method, path, json === undefined ? {} : { json });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.json.message).toBeTruthy();
      }

      // The role alone is enough: GROUP:LIST granted through a custom role.
      const lister = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Group lister', permissions: { GROUP: ['LIST'] } } });
      const bindingId = await bind(admin, { type: 'USER', externalId: viewerOnly.id, roleId: lister.json.id });
      expect((await viewerOnly.browser.fetch('GET', '/api/v1/main/groups/search')).status).toBe(200);
      await admin.fetch('DELETE', `/api/v1/main/bindings/${bindingId}`);
      expect((await viewerOnly.browser.fetch('GET', '/api/v1/main/groups/search')).status).toBe(403);
    });

    it('refuses to add members to a group whose bindings the caller does not hold', async () => {
      const manager = await signedInPerson(perch, admin, 'manager');
      const role = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Member manager', permissions: { GROUP: ['VIEW', 'LIST', 'MANAGE_MEMBERS'] } } });
      await bind(admin, { type: 'USER', externalId: manager.id, roleId: role.json.id });
      const admins = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Admins' } })).json;
      await bind(admin, { type: 'GROUP', externalId: admins.id, roleId: 'admin' });
      const plain = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Plain' } })).json;

      const self = await manager.browser.fetch('PUT', `/api/v1/main/groups/${admins.id}/members/${manager.id}`);
      expect(self.status).toBe(403);
      expect(self.json.message).toMatch(/add members to group Admins/);
      expect(perch.perch.ctx.authz.allows('main', manager.id, 'FLOW', 'CREATE', null)).toBe(false);
      expect((await manager.browser.fetch('PUT', `/api/v1/main/groups/${plain.id}/members/${manager.id}`)).status).toBe(200);
    });

    it('loads the bindings from the store at start', async () => {
      const kim = await createPerson(admin, 'kim');
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Restart', membersId: [kim.id] } })).json;
      await bind(admin, { type: 'GROUP', externalId: group.id, roleId: 'developer', namespaceId: 'restart' });
      await bind(admin, { type: 'USER', externalId: kim.id, roleId: 'launcher', namespaceId: 'solo' });

      const again = await buildPerch(parseConfig({ port: 0, dataDir: perch.perch.ctx.config.dataDir, databaseUrl, logLevel: 'silent', kestra: { url: 'http://127.0.0.1:9' } }), { logger: false });
      try {
        expect(again.ctx.authz.allows('main', kim.id, 'SECRET', 'CREATE', 'restart.x')).toBe(true);
        expect(again.ctx.authz.allows('main', kim.id, 'FLOW', 'EXECUTE', 'solo')).toBe(true);
        expect(again.ctx.authz.allows('main', kim.id, 'FLOW', 'EXECUTE', 'other')).toBe(false);
      } finally {
        await again.close();
      }
    });
  });
}
