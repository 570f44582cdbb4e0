import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/databases.js';
import { Browser, startPerch, startSignedIn, type RunningPerch } from '../support/perch.js';
import { linkIn, startSmtp, tokenOf } from './smtp.js';

const ACCEPT = '/perch/invitations/accept';
const PASSWORD = 'a long enough passphrase';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`invitations (${target.name})`, () => {
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    let perch: RunningPerch;
    let admin: Browser;
    let groupId: string;

    beforeAll(async () => {
      smtp = await startSmtp();
      ({ perch, admin } = await startSignedIn({
        databaseUrl: await target.url(),
        config: { mail: { smtp: { host: '127.0.0.1', port: smtp.port, from: 'Perch <perch@example.com>' } } },
      }));
      const group = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'team-a', description: null } });
      expect(group.status).toBe(200);
      groupId = group.json.id;
    });
    afterAll(async () => {
      await perch?.close();
      await smtp?.close();
    });

    it('mails a single-use link that creates the account with the bindings and groups, and signs the person in', async () => {
      const created = await admin.fetch('POST', '/api/v1/main/invitations', {
        json: { email: 'New.Person@Example.com', roles: [{ id: 'developer', namespaces: ['team.a'] }], groups: [groupId] },
      });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ email: 'new.person@example.com', status: 'PENDING', mailed: true, link: null, tenantId: 'main' });
      expect(created.json.bindings).toEqual([{ roleId: 'developer', namespace: 'team.a' }]);
      expect(created.json.groups.map((g: { id: string }) => g.id)).toEqual([groupId]);

      const [mail] = await smtp.waitFor(1);
      expect(mail!.to).toEqual(['new.person@example.com']);
      expect(mail!.raw).toMatch(/Subject: You are invited to Kestra/);
      const link = linkIn(mail!, ACCEPT);
      expect(link.startsWith(`${perch.url}${ACCEPT}?token=`)).toBe(true);
      const token = tokenOf(link);

      // Only the token's SHA-256 is in the database.
      const row = await perch.perch.ctx.db.selectFrom('invitations').selectAll().where('id', '=', created.json.id).executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(token);

      const page = await new Browser(perch).fetch('GET', `${ACCEPT}?token=${token}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('new.person@example.com');

      const person = new Browser(perch);
      const weak = await person.fetch('POST', '/perch/api/invitations/accept', { json: { token, password: 'short' } });
      expect(weak.status).toBe(422);
      expect(weak.json.message).toMatch(/at least 12 characters/);

      const accepted = await person.fetch('POST', '/perch/api/invitations/accept', { json: { token, password: PASSWORD, firstName: 'New' } });
      expect(accepted.status).toBe(200);
      const me = await person.fetch('GET', '/api/v1/me');
      expect(me.status).toBe(200);
      expect(me.json.profile.email).toBe('new.person@example.com');
      const userId: string = me.json.id;
      expect(accepted.json.userId).toBe(userId);

      const authz = perch.perch.ctx.authz;
      expect(authz.allows('main', userId, 'FLOW', 'CREATE', 'team.a')).toBe(true);
      expect(authz.allows('main', userId, 'FLOW', 'CREATE', 'team.b')).toBe(false);
      const members = await perch.perch.ctx.db.selectFrom('group_members').selectAll().where('user_id', '=', userId).execute();
      expect(members.map((m) => m.group_id)).toEqual([groupId]);
      // Survives a reload from the store.
      await perch.perch.reloadAuthorization();
      expect(authz.allows('main', userId, 'FLOW', 'CREATE', 'team.a')).toBe(true);

      await new Browser(perch).login('new.person@example.com', PASSWORD);

      // Single use.
      const again = await new Browser(perch).fetch('POST', '/perch/api/invitations/accept', { json: { token, password: 'another long passphrase' } });
      expect(again.status).toBe(410);
      expect(again.json.message).toMatch(/already been used/);
      expect((await new Browser(perch).fetch('GET', `${ACCEPT}?token=${token}`)).status).toBe(410);

      const detail = await admin.fetch('GET', `/api/v1/main/invitations/${created.json.id}`);
      expect(detail.json).toMatchObject({ status: 'ACCEPTED', link: null });
      expect(detail.json.acceptedAt).toEqual(expect.any(String));
    });

    it('the HTML form accepts too, redirecting to the UI signed in', async () => {
      const created = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'form@example.com', roles: [{ id: 'viewer' }] } });
      expect(created.status).toBe(201);
      const mails = await smtp.waitFor(2);
      const token = tokenOf(linkIn(mails[1]!, ACCEPT));
      const person = new Browser(perch);
      const res = await person.fetch('POST', ACCEPT, {
        body: new URLSearchParams({ token, password: PASSWORD }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/ui/');
      expect((await person.fetch('GET', '/api/v1/me')).status).toBe(200);
    });

    it('refuses an expired invitation with a clear message', async () => {
      const created = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'late@example.com' } });
      expect(created.status).toBe(201);
      const mails = await smtp.waitFor(3);
      const token = tokenOf(linkIn(mails[2]!, ACCEPT));
      await perch.perch.ctx.db.updateTable('invitations').set({ expires_at: Date.now() - 1000 }).where('id', '=', created.json.id).execute();
      const res = await new Browser(perch).fetch('POST', '/perch/api/invitations/accept', { json: { token, password: PASSWORD } });
      expect(res.status).toBe(410);
      expect(res.json.message).toMatch(/expired/);
      const page = await new Browser(perch).fetch('GET', `${ACCEPT}?token=${token}`);
      expect(page.status).toBe(410);
      expect(page.text).toMatch(/expired/);
      const search = await admin.fetch('GET', '/api/v1/main/invitations/search?status=EXPIRED');
      expect(search.json.results.map((r: { email: string }) => r.email)).toContain('late@example.com');
      // An expired invitation can be issued again.
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'late@example.com' } })).status).toBe(201);
    });

    it('refuses duplicates, existing accounts, unknown roles, an unknown token, and a caller without INVITATION:CREATE', async () => {
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'dup@example.com' } })).status).toBe(201);
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'dup@example.com' } })).status).toBe(409);
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'admin@perch.test' } })).status).toBe(409);
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'x@example.com', roles: [{ id: 'nope' }] } })).status).toBe(404);
      // The answers' shapes sent back are refused, not an invitation that grants nothing (or something else).
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'shape@example.com', bindings: [{ roleId: 'viewer', namespace: 'company' }] } })).status).toBe(422);
      expect((await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'shape@example.com', roles: [{ id: 'viewer', namespace: 'company' }] } })).status).toBe(422);
      // A role's namespaces are checked as a binding's are, when the invitation is made (not when it is accepted).
      for (const namespace of ['a'.repeat(200), 'a..b', 'UPPER', 'a b', '../x', '*']) {
        const bad = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'ns@example.com', roles: [{ id: 'viewer', namespaces: [namespace] }] } });
        expect(bad.status, namespace).toBe(422);
      }
      expect((await new Browser(perch).fetch('POST', '/perch/api/invitations/accept', { json: { token: 'not-a-token', password: PASSWORD } })).status).toBe(404);

      // The new.person account (developer on team.a, default role) may not invite.
      const person = new Browser(perch);
      await person.login('new.person@example.com', PASSWORD);
      const refused = await person.fetch('POST', '/api/v1/main/invitations', { json: { email: 'other@example.com' } });
      expect(refused.status).toBe(403);
    });

    it('lets an inviter hand out only what they hold', async () => {
      // Someone who may create invitations but holds only the developer role on team.a.
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'lead@example.com', password: PASSWORD } });
      const role = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Inviter', permissions: { INVITATION: ['CREATE', 'VIEW'] } } });
      expect(role.status).toBe(200);
      for (const [roleId, namespaceId] of [[role.json.id, null], ['developer', 'team.a']]) {
        const b = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: created.json.id, roleId, namespaceId } });
        expect(b.status).toBe(200);
      }
      const lead = new Browser(perch);
      await lead.login('lead@example.com', PASSWORD);
      const ok = await lead.fetch('POST', '/api/v1/main/invitations', { json: { email: 'dev1@example.com', roles: [{ id: 'developer', namespaces: ['team.a'] }] } });
      expect(ok.status).toBe(201);
      const tooMuch = await lead.fetch('POST', '/api/v1/main/invitations', { json: { email: 'dev2@example.com', roles: [{ id: 'developer', namespaces: ['team.b'] }] } });
      expect(tooMuch.status).toBe(403);
      expect(tooMuch.json.message).toMatch(/permissions you do not hold/);
      const owner = await lead.fetch('POST', '/api/v1/main/invitations', { json: { email: 'dev3@example.com', superAdmin: true } });
      expect(owner.status).toBe(403);
    });

    it('lists, shows to the invitee, and deletes invitations', async () => {
      const created = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'gone@example.com' } });
      const search = await admin.fetch('GET', '/api/v1/main/invitations/search?filters[email][EQUALS]=gone@example.com');
      expect(search.json.total).toBe(1);
      expect((await admin.fetch('GET', '/api/v1/main/invitations/email/gone@example.com')).json).toHaveLength(1);
      expect((await admin.fetch('GET', '/api/v1/me/invitations')).json).toEqual([]);
      expect((await admin.fetch('DELETE', `/api/v1/main/invitations/${created.json.id}`)).status).toBe(204);
      expect((await admin.fetch('GET', `/api/v1/main/invitations/${created.json.id}`)).status).toBe(404);
    });
  });
}

describe('invitations without SMTP', () => {
  let perch: RunningPerch;
  let admin: Browser;
  beforeAll(async () => {
    perch = await startPerch({ config: { publicUrl: 'https://perch.example.com', invitations: { expireAfter: 'PT1S' } } });
    // Perch checks writes against its public origin.
    admin = new Browser({ url: perch.url, origin: 'https://perch.example.com' });
    await admin.login();
  });
  afterAll(() => perch?.close());

  it('returns the link once, for the admin to pass on; the link expires after invitations.expireAfter', async () => {
    const created = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'hand@example.com' } });
    expect(created.status).toBe(201);
    expect(created.json.mailed).toBe(false);
    expect(created.json.link).toMatch(/^https:\/\/perch\.example\.com\/perch\/invitations\/accept\?token=[A-Za-z0-9_-]{43}$/);
    expect((await admin.fetch('GET', `/api/v1/main/invitations/${created.json.id}`)).json.link).toBeNull();
    expect(new Date(created.json.expiredAt).getTime() - new Date(created.json.sentAt).getTime()).toBe(1000);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await exchangeAccept(perch, tokenOf(created.json.link));
    expect(res.status).toBe(410);
  });
});

async function exchangeAccept(perch: RunningPerch, token: string) {
  return new Browser({ url: perch.url, origin: 'https://perch.example.com' }).fetch('POST', '/perch/api/invitations/accept', { json: { token, password: PASSWORD } });
}
