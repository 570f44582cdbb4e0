/**
 * Details a client generated from Kestra EE's spec trips over (issue 17, point 6): an empty JSON body
 * where the operation takes none, the spec's page sizes, `createUserIfNotExist`, the user operations
 * the spec lists, and 501 (naming the operation) for an EE operation Perch does not implement yet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUserSchema } from '../../lib/schemas/users.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startBehindKestra, startSignedIn, type RunningPerch } from '../support/perch.js';
import type { KestraDouble } from '../kestra-double/kestra-double.js';

const PASSWORD = 'a long enough passphrase';

/** A user with a password, created by the owner; returns its id and a signed-in browser. */
async function userSignedIn(perch: RunningPerch, admin: Browser, email: string): Promise<{ id: string; browser: Browser }> {
  const created = await admin.fetch('POST', '/api/v1/users', { json: { email, password: PASSWORD } });
  expect(created.status).toBe(201);
  const browser = new Browser(perch);
  await browser.login(email, PASSWORD);
  return { id: created.json.id, browser };
}

async function auditEntries(admin: Browser, resourceType: string): Promise<any[]> {
  const answer = await admin.fetch('GET', `/api/v1/main/auditlogs/search?size=100&filters[resources][EQUALS]=${resourceType}`);
  expect(answer.status).toBe(200);
  return answer.json.results;
}

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`EE client details on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('takes `Content-Type: application/json` with no body where the operation takes none, and says 422 where it needs one', async () => {
      const { id } = await userSignedIn(perch, admin, 'empty-body@example.com');
      const json = { 'content-type': 'application/json' };
      const needsBody = await admin.fetch('PATCH', `/api/v1/users/${id}/superadmin`, { headers: json, body: '' });
      expect(needsBody.status).toBe(422);
      const refresh = await admin.fetch('DELETE', `/api/v1/users/${id}/refresh-token`, { headers: json, body: '' });
      expect(refresh.status).toBe(204);
      const deleted = await admin.fetch('DELETE', `/api/v1/users/${id}`, { headers: json, body: '' });
      expect(deleted.status).toBe(204);
      expect((await admin.fetch('GET', `/api/v1/users/${id}`)).status).toBe(404);
    });

    it('serves every page size the spec allows (no maximum: int32), and refuses what it does not', async () => {
      for (const path of ['/api/v1/users', '/api/v1/main/groups/search', '/api/v1/main/invitations/search', '/api/v1/main/auditlogs/search']) {
        const large = await admin.fetch('GET', `${path}?size=5000`);
        expect(large.status, path).toBe(200);
        expect(large.json.total, path).toBeGreaterThanOrEqual(large.json.results.length);
        const far = await admin.fetch('GET', `${path}?size=2147483647&page=2147483647`);
        expect(far.status, path).toBe(200);
        expect(far.json.results, path).toEqual([]);
        expect((await admin.fetch('GET', `${path}?size=0`)).status, path).toBe(422);
        expect((await admin.fetch('GET', `${path}?size=2147483648`)).status, path).toBe(422);
      }
      const users = await admin.fetch('GET', '/api/v1/users?size=501');
      expect(users.json.results.length).toBe(users.json.total);
    });

    describe('invitations with createUserIfNotExist', () => {
      it('create the account at once, without a password, with the roles and groups, in one step that is audited', async () => {
        const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'sso-people' } })).json;
        const answer = await admin.fetch('POST', '/api/v1/main/invitations', {
          json: { email: 'Direct@Example.com', createUserIfNotExist: true, roles: [{ id: 'viewer', namespaces: ['team.a'] }], groups: [group.id] },
        });
        expect(answer.status).toBe(201);
        expect(answer.json).toMatchObject({ email: 'direct@example.com', status: 'ACCEPTED', link: null });

        const users = await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=direct@example.com');
        const user = apiUserSchema.parse((await admin.fetch('GET', `/api/v1/users/${users.json.results[0].id}`)).json);
        expect(user.auths).toEqual([]);
        expect(user.groups).toEqual([{ id: group.id, tenantId: 'main' }]);
        const bindings = await admin.fetch('GET', `/api/v1/main/bindings/search?size=100`);
        expect(bindings.json.results).toEqual(expect.arrayContaining([expect.objectContaining({ role: expect.objectContaining({ id: 'viewer' }), namespace: 'team.a', user: expect.objectContaining({ id: user.id }) })]));
        // Nothing to sign in with but single sign-on: no password works.
        expect((await perch.perch.ctx.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash).toBeNull();
        const created = (await auditEntries(admin, 'USER')).find((e) => e.id === user.id || e.resourceId === user.id || JSON.stringify(e).includes(user.id));
        expect(created).toBeDefined();
        expect(JSON.stringify(created)).toContain('createUserIfNotExist');
      });

      it('refuse an existing account (409) and what the sender does not hold (403), writing nothing', async () => {
        const existing = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'direct@example.com', createUserIfNotExist: true } });
        expect(existing.status).toBe(409);

        const role = (await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'inviter', permissions: { INVITATION: ['CREATE'] } } })).json;
        const inviter = await userSignedIn(perch, admin, 'inviter@example.com');
        expect((await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: inviter.id, roleId: role.id } })).status).toBe(200);
        const escalation = await inviter.browser.fetch('POST', '/api/v1/main/invitations', {
          json: { email: 'escalated@example.com', createUserIfNotExist: true, roles: [{ id: 'admin' }] },
        });
        expect(escalation.status).toBe(403);
        const found = await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=escalated@example.com');
        expect(found.json.total).toBe(0);
        const pending = await admin.fetch('GET', '/api/v1/main/invitations/search?filters[email][EQUALS]=escalated@example.com');
        expect(pending.json.total).toBe(0);
      });
    });

    describe('user operations of the spec', () => {
      it('patchUserDemo (PATCH /users/{id}/restricted) answers 200 and the account can no longer change itself', async () => {
        const person = await userSignedIn(perch, admin, 'restricted@example.com');
        expect((await person.browser.fetch('PATCH', '/api/v1/me', { json: { firstName: 'Before' } })).status).toBe(200);
        const answer = await admin.fetch('PATCH', `/api/v1/users/${person.id}/restricted`, { json: { restricted: true } });
        expect(answer.status).toBe(200);
        expect((await admin.fetch('GET', `/api/v1/users/${person.id}`)).json.restricted).toBe(true);
        expect((await person.browser.fetch('PATCH', '/api/v1/me', { json: { firstName: 'After' } })).status).toBe(403);
        expect((await admin.fetch('PATCH', `/api/v1/users/${person.id}/restricted`, { json: { restricted: 'yes' } })).status).toBe(422);
        expect((await admin.fetch('PATCH', '/api/v1/users/nobody/restricted', { json: { restricted: true } })).status).toBe(404);
      });

      it('deleteRefreshToken ends the user’s sessions (204), 404 for an unknown user', async () => {
        const person = await userSignedIn(perch, admin, 'refresh@example.com');
        expect((await person.browser.fetch('GET', '/api/v1/me')).status).toBe(200);
        expect((await admin.fetch('DELETE', `/api/v1/users/${person.id}/refresh-token`)).status).toBe(204);
        expect((await person.browser.fetch('GET', '/api/v1/me')).status).toBe(401);
        expect((await admin.fetch('DELETE', '/api/v1/users/nobody/refresh-token')).status).toBe(404);
      });

      it('deleteUserAuthMethod removes the password (sessions end, sign-in fails), 404 for another method, 409 for the last owner', async () => {
        const person = await userSignedIn(perch, admin, 'no-password@example.com');
        expect((await admin.fetch('DELETE', `/api/v1/users/${person.id}/auths/sso`)).status).toBe(404);
        const answer = await admin.fetch('DELETE', `/api/v1/users/${person.id}/auths/password`);
        expect(answer.status).toBe(200);
        expect(apiUserSchema.parse(answer.json).auths).toEqual([]);
        expect((await person.browser.fetch('GET', '/api/v1/me')).status).toBe(401);
        await expect(new Browser(perch).login('no-password@example.com', PASSWORD)).rejects.toThrow(/login failed/);
        expect((await admin.fetch('DELETE', `/api/v1/users/${person.id}/auths/password`)).status).toBe(404);

        const owner = (await admin.fetch('GET', '/api/v1/me')).json;
        const last = await admin.fetch('DELETE', `/api/v1/users/${owner.id}/auths/password`);
        expect(last.status).toBe(409);
        expect((await admin.fetch('GET', '/api/v1/me')).status).toBe(200);
      });

      it('updateUserGroups (PUT /{tenant}/users/{id}/groups) sets the whole set (204), 404 for an unknown group with nothing written, and the change is audited', async () => {
        const person = await userSignedIn(perch, admin, 'grouped@example.com');
        const a = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'group-a' } })).json;
        const b = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'group-b' } })).json;
        expect((await admin.fetch('PUT', `/api/v1/main/users/${person.id}/groups`, { json: { groupIds: [a.id] } })).status).toBe(204);
        expect((await admin.fetch('GET', `/api/v1/users/${person.id}`)).json.groups).toEqual([{ id: a.id, tenantId: 'main' }]);

        const unknown = await admin.fetch('PUT', `/api/v1/main/users/${person.id}/groups`, { json: { groupIds: [b.id, 'nope'] } });
        expect(unknown.status).toBe(404);
        expect((await admin.fetch('GET', `/api/v1/users/${person.id}`)).json.groups).toEqual([{ id: a.id, tenantId: 'main' }]);

        expect((await admin.fetch('PUT', `/api/v1/main/users/${person.id}/groups`, { json: { groupIds: [b.id] } })).status).toBe(204);
        expect((await admin.fetch('GET', `/api/v1/users/${person.id}`)).json.groups).toEqual([{ id: b.id, tenantId: 'main' }]);
        expect((await admin.fetch('PUT', '/api/v1/main/users/nobody/groups', { json: { groupIds: [] } })).status).toBe(404);
        expect((await admin.fetch('PUT', `/api/v1/other/users/${person.id}/groups`, { json: { groupIds: [] } })).status).toBe(404);

        const entry = (await auditEntries(admin, 'USER')).find((e) => JSON.stringify(e).includes(person.id) && JSON.stringify(e).includes('/groups'));
        expect(entry).toBeDefined();
      });

      it('updateUserGroups refuses a person who cannot manage members, or who would join someone to bindings they do not hold', async () => {
        const target = await userSignedIn(perch, admin, 'target@example.com');
        const powerful = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'powerful' } })).json;
        expect((await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'GROUP', externalId: powerful.id, roleId: 'admin' } })).status).toBe(200);
        const manager = await userSignedIn(perch, admin, 'manager@example.com');
        expect((await manager.browser.fetch('PUT', `/api/v1/main/users/${target.id}/groups`, { json: { groupIds: [] } })).status).toBe(403);
        const role = (await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'members-only', permissions: { GROUP: ['MANAGE_MEMBERS'] } } })).json;
        expect((await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: manager.id, roleId: role.id } })).status).toBe(200);
        const escalation = await manager.browser.fetch('PUT', `/api/v1/main/users/${target.id}/groups`, { json: { groupIds: [powerful.id] } });
        expect(escalation.status).toBe(403);
        expect((await admin.fetch('GET', `/api/v1/users/${target.id}`)).json.groups).toEqual([]);
      });
    });
  });
}

describe('EE operations Perch does not implement yet', () => {
  let kestra: KestraDouble;
  let admin: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => ({ kestra, admin, close } = await startBehindKestra()));
  afterAll(() => close?.());

  it('answer 501 naming the operation, forward nothing, and leave 403 for Kestra operations Perch does not know', async () => {
    kestra.clear();
    // Perch serves the Apps API (issue 23) but not EE's app runtime operations.
    const apps = await admin.fetch('GET', '/api/v1/main/apps/view/some-app');
    expect(apps.status).toBe(501);
    expect(apps.json.message).toContain('openApp');
    const policy = await admin.fetch('POST', '/api/v1/instance/policies', { json: {} });
    expect(policy.status).toBe(501);
    expect(policy.json.message).toContain('createInstancePolicy');
    // An EE write Perch lacks, with a body: refused by name, and nothing of the body comes back.
    const asset = await admin.fetch('POST', '/api/v1/main/assets', { json: { id: 'a', type: 'TABLE', token: 'sekrit-value' } });
    expect(asset.status).toBe(501);
    expect(asset.json.message).toContain('createAsset');
    expect(asset.text).not.toContain('sekrit-value');
    const unknown = await admin.fetch('GET', '/api/v1/main/not-a-kestra-route');
    expect(unknown.status).toBe(403);
    expect(kestra.requests).toHaveLength(0);
  });

  it('still ask who is calling first: 401 without a session', async () => {
    const anonymous = new Browser(admin.perch);
    expect((await anonymous.fetch('GET', '/api/v1/main/apps/view/some-app')).status).toBe(401);
  });
});
