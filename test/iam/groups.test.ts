import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiGroupDetailSchema, apiGroupMemberSchema, apiGroupSummarySchema } from '../../lib/schemas/iam.js';
import { pagedResultsSchema } from '../../lib/schemas/users.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';
import { bind, createPerson, signedInPerson } from './iam-helpers.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`IAM groups on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('creates, reads, finds, updates and deletes a group with the EE shapes', async () => {
      const ada = await createPerson(admin, 'ada');
      const created = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Data team', description: 'Pipelines', membersId: [ada.id] } });
      expect(created.status).toBe(200);
      const group = apiGroupDetailSchema.parse(created.json);
      expect(group).toMatchObject({ name: 'Data team', description: 'Pipelines' });

      expect(apiGroupDetailSchema.parse((await admin.fetch('GET', `/api/v1/main/groups/${group.id}`)).json)).toEqual(group);
      const found = pagedResultsSchema(apiGroupSummarySchema).parse((await admin.fetch('GET', '/api/v1/main/groups/search?q=data')).json);
      expect(found).toEqual({ total: 1, results: [{ ...group, securityIntegrationName: null }] });

      await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Ops' } });
      const auto = await admin.fetch('POST', '/api/v1/main/groups/autocomplete', { json: { q: 'op', ids: [group.id] } });
      expect(auto.json.map((g: unknown) => apiGroupSummarySchema.parse(g).name)).toEqual(['Data team', 'Ops']);
      const ids = await admin.fetch('POST', '/api/v1/main/groups/ids', { json: { ids: [group.id, 'missing'] } });
      expect(ids.json).toEqual([{ ...group, securityIntegrationName: null }]);

      const members = await admin.fetch('GET', `/api/v1/main/groups/${group.id}/members`);
      expect(members.status).toBe(200);
      const page = pagedResultsSchema(apiGroupMemberSchema).parse(members.json);
      expect(page).toEqual({ total: 1, results: [{ id: ada.id, username: ada.email, displayName: ada.email, groups: [{ id: group.id, name: 'Data team', external: false, membership: 'MEMBER' }] }] });

      const renamed = await admin.fetch('PUT', `/api/v1/main/groups/${group.id}`, { json: { name: 'Data platform' } });
      expect(renamed.status).toBe(200);
      expect(renamed.json).toEqual({ id: group.id, name: 'Data platform', description: null });

      const deleted = await admin.fetch('DELETE', `/api/v1/main/groups/${group.id}`);
      expect(deleted.status).toBe(200);
      expect((await admin.fetch('GET', `/api/v1/main/groups/${group.id}`)).status).toBe(404);
      expect((await admin.fetch('DELETE', `/api/v1/main/groups/${group.id}`)).status).toBe(404);
      expect((await admin.fetch('GET', `/api/v1/main/groups/${group.id}/members`)).status).toBe(404);
    });

    it('answers 409 on duplicate names, 404 on unknown members, 422 on bad input, writing nothing', async () => {
      expect((await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Twins' } })).status).toBe(200);
      const dup = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Twins' } });
      expect(dup.status).toBe(409);
      expect(dup.json.message).toBe('A group named Twins already exists');
      const other = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Single' } });
      expect((await admin.fetch('PUT', `/api/v1/main/groups/${other.json.id}`, { json: { name: 'Twins' } })).status).toBe(409);

      const ghost = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Haunted', membersId: ['no-such-user'] } });
      expect(ghost.status).toBe(404);
      expect(ghost.json.message).toBe('User no-such-user not found');
      expect((await admin.fetch('GET', '/api/v1/main/groups/search?q=haunted')).json.total).toBe(0);

      const noName = await admin.fetch('POST', '/api/v1/main/groups', { json: { description: 'nameless' } });
      expect(noName.status).toBe(422);
      expect(noName.json.errors[0].path).toBe('name');
      expect((await admin.fetch('PUT', '/api/v1/main/groups/nope', { json: { name: 'x' } })).status).toBe(404);
    });

    it('adds, promotes and removes members with the EE 409 and 404 cases', async () => {
      const bob = await createPerson(admin, 'bob');
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Members' } })).json;
      const base = `/api/v1/main/groups/${group.id}/members`;

      const added = await admin.fetch('PUT', `${base}/${bob.id}`);
      expect(added.status).toBe(200);
      expect(apiGroupMemberSchema.parse(added.json).groups).toEqual([{ id: group.id, name: 'Members', external: false, membership: 'MEMBER' }]);
      expect((await admin.fetch('PUT', `${base}/${bob.id}`)).status).toBe(409);
      expect((await admin.fetch('PUT', `${base}/no-such-user`)).status).toBe(404);
      expect((await admin.fetch('PUT', `/api/v1/main/groups/no-such-group/members/${bob.id}`)).status).toBe(404);

      const promoted = await admin.fetch('PUT', `${base}/membership/${bob.id}?membership=OWNER`);
      expect(promoted.status).toBe(200);
      expect(promoted.json.groups[0].membership).toBe('OWNER');
      expect((await admin.fetch('PUT', `${base}/membership/${bob.id}?membership=KING`)).status).toBe(422);
      expect((await admin.fetch('PUT', `${base}/membership/${bob.id}`)).status).toBe(422);

      const removed = await admin.fetch('DELETE', `${base}/${bob.id}`);
      expect(removed.status).toBe(200);
      expect(removed.json).toEqual({ id: bob.id, username: bob.email, displayName: bob.email, groups: [] });
      expect((await admin.fetch('DELETE', `${base}/${bob.id}`)).status).toBe(409);
      expect((await admin.fetch('PUT', `${base}/membership/${bob.id}?membership=MEMBER`)).status).toBe(409);
      expect((await admin.fetch('GET', base)).json.total).toBe(0);
    });

    it('lets a group OWNER manage its members without GROUP:MANAGE_MEMBERS, and a plain member not', async () => {
      const owner = await signedInPerson(perch, admin, 'owner');
      const member = await signedInPerson(perch, admin, 'member');
      const newcomer = await createPerson(admin, 'newcomer');
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Owned', membersId: [owner.id, member.id] } })).json;
      const base = `/api/v1/main/groups/${group.id}/members`;
      await admin.fetch('PUT', `${base}/membership/${owner.id}?membership=OWNER`);
      // The group grants something, which its owner holds through membership.
      await bind(admin, { type: 'GROUP', externalId: group.id, roleId: 'viewer', namespaceId: 'owned' });

      const byMember = await member.browser.fetch('PUT', `${base}/${newcomer.id}`);
      expect(byMember.status).toBe(403);
      expect(byMember.json.message).toMatch(/GROUP:MANAGE_MEMBERS/);
      expect((await member.browser.fetch('GET', base)).status).toBe(403);

      expect((await owner.browser.fetch('GET', base)).json.total).toBe(2);
      expect((await owner.browser.fetch('GET', `/api/v1/main/groups/${group.id}`)).status).toBe(200);
      const byOwner = await owner.browser.fetch('PUT', `${base}/${newcomer.id}`);
      expect(byOwner.status).toBe(200);
      expect(perch.perch.ctx.authz.allows('main', newcomer.id, 'FLOW', 'VIEW', 'owned.x')).toBe(true);
      expect((await owner.browser.fetch('DELETE', `${base}/${member.id}`)).status).toBe(200);
      expect(perch.perch.ctx.authz.allows('main', member.id, 'FLOW', 'VIEW', 'owned')).toBe(false);
      // Owning a group is not GROUP:UPDATE.
      expect((await owner.browser.fetch('PUT', `/api/v1/main/groups/${group.id}`, { json: { name: 'Mine now' } })).status).toBe(403);
    });

    it('deleting a group removes every permission granted through it, the users remain', async () => {
      const authz = perch.perch.ctx.authz;
      const carol = await createPerson(admin, 'carol');
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Short-lived', membersId: [carol.id] } })).json;
      const bindingId = await bind(admin, { type: 'GROUP', externalId: group.id, roleId: 'editor', namespaceId: null });
      expect(authz.allows('main', carol.id, 'FLOW', 'CREATE', 'any.where')).toBe(true);

      expect((await admin.fetch('DELETE', `/api/v1/main/groups/${group.id}`)).status).toBe(200);
      expect(authz.allows('main', carol.id, 'FLOW', 'CREATE', 'any.where')).toBe(false);
      expect((await admin.fetch('GET', `/api/v1/main/bindings/${bindingId}`)).status).toBe(404);
      expect((await admin.fetch('GET', `/api/v1/users/${carol.id}`)).status).toBe(200);
      // The role is free again.
      expect((await admin.fetch('GET', `/api/v1/main/bindings/search?type=GROUP&id=${group.id}`)).json.total).toBe(0);
    });
  });
}
