import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFailures } from '../../backend/audit/auth-failures.js';
import { parseConfig } from '../../backend/config/config.js';
import { insertGroup } from '../../backend/iam/iam-store.js';
import { findUserByEmail, updateUser } from '../../backend/users/user-store.js';
import { storeTargets } from '../support/databases.js';
import { Browser, exchange, startPerch, type RunningPerch } from '../support/perch.js';
import { Agent, CLIENT_ID, CLIENT_SECRET, startIdp, type Hop, type TestIdp } from './idp.js';

const PROVIDER = 'test-idp';

describe('SSO configuration', () => {
  it('has no providers by default, and refuses unknown keys and duplicate ids', () => {
    expect(parseConfig({}).sso.providers).toEqual([]);
    const provider = { id: 'corp', name: 'Corp', issuer: 'https://idp.example', clientId: 'a', clientSecret: 'b' };
    const parsed = parseConfig({ sso: { providers: [provider] } }).sso.providers[0]!;
    expect(parsed.scopes).toEqual(['openid', 'email', 'profile']);
    expect(parsed.groupsClaim).toBe('groups');
    expect(() => parseConfig({ sso: { providers: [{ ...provider, extra: 1 }] } })).toThrow(/unknown key/);
    expect(() => parseConfig({ sso: { providers: [provider, provider] } })).toThrow(/used twice/);
    expect(() => parseConfig({ sso: { providers: [{ ...provider, id: 'Bad/Id' }] } })).toThrow(/sso\.providers\.0\.id/);
  });
});

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`single sign-on with OpenID Connect (${target.name})`, () => {
    let idp: TestIdp;
    let perch: RunningPerch;
    let devsGroupId: string;

    beforeAll(async () => {
      idp = await startIdp();
      perch = await startPerch({
        databaseUrl: await target.url(),
        config: {
          sso: {
            providers: [{
              id: PROVIDER, name: 'Test IdP', issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET,
              scopes: ['openid', 'email', 'profile', 'groups'],
            }],
          },
        },
      });
      idp.register(`${perch.url}/perch/sso/${PROVIDER}/callback`);
      const db = perch.perch.ctx.db;
      // The tenant's default role, bound to people created at their first SSO sign-in.
      await db.updateTable('roles').set({ is_default: 1 }).where('tenant_id', '=', 'main').where('id', '=', 'viewer').execute();
      devsGroupId = (await insertGroup(db, 'main', { name: 'developers', description: null })).id;
      await perch.perch.reloadAuthorization();
      perch.perch.ctx.config.sso.providers[0]!.groupMapping = { 'idp-devs': devsGroupId, 'idp-unknown': 'no-such-group' };
    });
    afterAll(async () => {
      await perch?.close();
      await idp?.close();
    });

    const isCallback = (url: string) => url.startsWith(`${perch.url}/perch/sso/${PROVIDER}/callback`);

    /** Start at Perch, sign in and consent at the provider; stops just before Perch's callback. */
    async function toCallback(agent: Agent, login: string, from = '/ui/flows'): Promise<string> {
      let hop: Hop = await agent.go('GET', `${perch.url}/perch/sso/${PROVIDER}/login?from=${encodeURIComponent(from)}`, undefined, isCallback);
      for (let i = 0; i < 4 && !(hop.location && isCallback(hop.location)); i++) {
        if (hop.text.includes('name="login"')) hop = await agent.submitForm(hop, { login, password: 'anything' }, isCallback);
        else if (hop.text.includes('value="consent"')) hop = await agent.submitForm(hop, {}, isCallback);
        else throw new Error(`unexpected provider page ${hop.url} ${hop.status}: ${hop.text.slice(0, 400)}`);
      }
      expect(hop.location && isCallback(hop.location)).toBeTruthy();
      return hop.location!;
    }

    async function signIn(agent: Agent, login: string, from?: string): Promise<Hop> {
      return agent.send('GET', await toCallback(agent, login, from));
    }

    const perchCookie = (agent: Agent) => agent.jar(perch.origin).get('perch_session');
    const me = (agent: Agent) => agent.send('GET', `${perch.url}/api/v1/me`);

    it('creates the user at the first sign-in, with the default role, mapped groups and a working session', async () => {
      idp.accounts.set('alice', { email: 'Alice@Example.com', email_verified: true, groups: ['idp-devs', 'idp-other', 'idp-unknown'], given_name: 'Alice', family_name: 'Liddell' });
      const agent = new Agent();
      const done = await signIn(agent, 'alice', '/ui/flows');
      expect(done.status).toBe(303);
      expect(done.location).toBe(`${perch.url}/ui/flows`);
      expect(perchCookie(agent)).toBeTruthy();
      expect(agent.jar(perch.origin).has('perch_sso')).toBe(false);

      const user = (await findUserByEmail(perch.perch.ctx.db, 'alice@example.com'))!;
      expect(user).toBeDefined();
      expect(user.password_hash).toBeNull();
      expect([user.first_name, user.last_name]).toEqual(['Alice', 'Liddell']);
      const answer = await me(agent);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).id).toBe(user.id);

      const db = perch.perch.ctx.db;
      const bindings = await db.selectFrom('bindings').selectAll().where('subject_id', '=', user.id).execute();
      expect(bindings.map((b) => [b.role_id, b.namespace])).toEqual([['viewer', null]]);
      const groups = await db.selectFrom('group_members').select('group_id').where('user_id', '=', user.id).execute();
      expect(groups.map((g) => g.group_id)).toEqual([devsGroupId]);
      const link = await db.selectFrom('sso_identities').selectAll().where('user_id', '=', user.id).execute();
      expect(link.map((l) => [l.provider_id, l.subject])).toEqual([[PROVIDER, 'alice']]);
    });

    it('signs the same person in again, even after their email changed at the provider', async () => {
      const before = (await findUserByEmail(perch.perch.ctx.db, 'alice@example.com'))!;
      const again = new Agent();
      expect((await signIn(again, 'alice')).status).toBe(303);
      expect(JSON.parse((await me(again)).text).id).toBe(before.id);

      idp.accounts.set('alice', { email: 'alice.liddell@example.com', email_verified: true, groups: ['idp-devs'] });
      const renamed = new Agent();
      expect((await signIn(renamed, 'alice')).status).toBe(303);
      expect(JSON.parse((await me(renamed)).text).id).toBe(before.id);
      expect(await findUserByEmail(perch.perch.ctx.db, 'alice.liddell@example.com')).toBeUndefined();
      const count = await perch.perch.ctx.db.selectFrom('group_members').select('group_id').where('user_id', '=', before.id).execute();
      expect(count).toHaveLength(1);
    });

    it('links an existing Perch account by its verified email', async () => {
      const admin = perch.perch.ctx.db;
      idp.accounts.set('bob-at-idp', { email: 'admin@perch.test', email_verified: true });
      const agent = new Agent();
      expect((await signIn(agent, 'bob-at-idp')).status).toBe(303);
      const owner = (await findUserByEmail(admin, 'admin@perch.test'))!;
      expect(JSON.parse((await me(agent)).text).id).toBe(owner.id);
    });

    it('cannot be pointed at someone else: an email a user gives themselves is refused, so the IdP’s person gets their own account', async () => {
      const admin = new Browser(perch);
      await admin.login();
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'mallory@example.com', password: 'mallory long password' } });
      expect(created.status).toBe(201);
      const mallory = new Browser(perch);
      await mallory.login('mallory@example.com', 'mallory long password');
      // Mallory claims the email of someone who has not signed in yet (their SSO groups would follow it).
      const claim = await mallory.fetch('PATCH', '/api/v1/me', { json: { email: 'newhire@example.com' } });
      expect(claim.status).toBe(403);
      expect(claim.json.message).toMatch(/Only an instance owner can change an account’s email/);
      expect((await mallory.fetch('PATCH', '/api/v1/me', { json: { email: 'mallory@example.com', firstName: 'Mal' } })).status).toBe(200);

      idp.accounts.set('newhire', { email: 'newhire@example.com', email_verified: true, groups: ['idp-devs'] });
      const newhire = new Agent();
      expect((await signIn(newhire, 'newhire')).status).toBe(303);
      expect(JSON.parse((await me(newhire)).text).id).not.toBe(created.json.id);
      const groups = await perch.perch.ctx.db.selectFrom('group_members').select('group_id').where('user_id', '=', created.json.id).execute();
      expect(groups).toEqual([]);
    });

    it('refuses a wrong state with 400 and no session', async () => {
      idp.accounts.set('carol', { email: 'carol@example.com', email_verified: true });
      const agent = new Agent();
      const callback = new URL(await toCallback(agent, 'carol'));
      callback.searchParams.set('state', 'forged-state');
      const res = await agent.send('GET', callback.href);
      expect(res.status).toBe(400);
      expect(perchCookie(agent)).toBeUndefined();
      expect(await findUserByEmail(perch.perch.ctx.db, 'carol@example.com')).toBeUndefined();
    });

    it('refuses a replayed callback and a callback from another browser', async () => {
      idp.accounts.set('dave', { email: 'dave@example.com', email_verified: true });
      const agent = new Agent();
      const callback = await toCallback(agent, 'dave');
      const stolen = new Agent(); // no sign-in cookie: login CSRF attempt
      expect((await stolen.send('GET', callback)).status).toBe(400);
      expect(perchCookie(stolen)).toBeUndefined();
      // The right browser finishes it once; the same callback again (same cookies) is refused.
      const handle = agent.jar(perch.origin).get('perch_sso')!;
      expect((await agent.send('GET', callback)).status).toBe(303);
      const replay = new Agent();
      replay.jar(perch.origin).set('perch_sso', handle);
      expect((await replay.send('GET', callback)).status).toBe(400);
      expect(perchCookie(replay)).toBeUndefined();
    });

    it('refuses an ID token whose nonce does not match the sign-in started here', async () => {
      idp.accounts.set('erin', { email: 'erin@example.com', email_verified: true });
      const agent = new Agent();
      const callback = await toCallback(agent, 'erin');
      await perch.perch.ctx.db.updateTable('sso_logins').set({ nonce: 'tampered-nonce' }).where('provider_id', '=', PROVIDER).execute();
      const res = await agent.send('GET', callback);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/could not be verified/);
      expect(perchCookie(agent)).toBeUndefined();
      expect(await findUserByEmail(perch.perch.ctx.db, 'erin@example.com')).toBeUndefined();
    });

    it('refuses an email the provider has not verified', async () => {
      idp.accounts.set('frank', { email: 'frank@example.com', email_verified: false });
      const agent = new Agent();
      const res = await signIn(agent, 'frank');
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/not verified/);
      expect(perchCookie(agent)).toBeUndefined();
      expect(await findUserByEmail(perch.perch.ctx.db, 'frank@example.com')).toBeUndefined();
      // Nor may it take over an existing account.
      idp.accounts.set('mallory', { email: 'admin@perch.test', email_verified: false });
      expect((await signIn(new Agent(), 'mallory')).status).toBe(403);
    });

    it('refuses a disabled user', async () => {
      idp.accounts.set('grace', { email: 'grace@example.com', email_verified: true });
      expect((await signIn(new Agent(), 'grace')).status).toBe(303);
      const grace = (await findUserByEmail(perch.perch.ctx.db, 'grace@example.com'))!;
      await updateUser(perch.perch.ctx.db, grace.id, { disabled: true });
      const agent = new Agent();
      const res = await signIn(agent, 'grace');
      expect(res.status).toBe(403);
      expect(res.text).toMatch(/disabled/);
      expect(perchCookie(agent)).toBeUndefined();
    });

    it('never leaves Perch after signing in (open redirect)', async () => {
      idp.accounts.set('heidi', { email: 'heidi@example.com', email_verified: true });
      for (const from of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
        const res = await signIn(new Agent(), 'heidi', from);
        expect(res.status).toBe(303);
        expect(res.location).toBe(`${perch.url}/ui/`);
      }
    });

    it('lists the provider on the login page and in /api/v1/auths', async () => {
      const page = await exchange(`${perch.url}/perch/login?from=%2Fui%2Fflows`, 'GET');
      expect(page.status).toBe(200);
      expect(page.text).toContain(`href="/perch/sso/${PROVIDER}/login?from=%2Fui%2Fflows"`);
      expect(page.text).toContain('Sign in with Test IdP');
      const auths = await exchange(`${perch.url}/api/v1/auths`, 'GET');
      expect(auths.status).toBe(200);
      expect(auths.json).toMatchObject({ loginPassword: true, passwordless: false, oauths: [PROVIDER], providers: [{ id: PROVIDER, name: 'Test IdP', loginUrl: `/perch/sso/${PROVIDER}/login` }] });
      expect((await exchange(`${perch.url}/perch/sso/nope/login`, 'GET')).status).toBe(404);
    });

    it('records sign-ins and refusals in the audit log without secrets', async () => {
      // Refusals are counted per account and address for a minute, then written: here, at once.
      await authFailures(perch.perch.ctx).flush();
      const rows = await perch.perch.ctx.db.selectFrom('audit_log').select(['action', 'details', 'ip']).where('action', 'in', ['LOGIN', 'LOGIN_FAILURE']).execute();
      expect(rows.some((r) => r.action === 'LOGIN' && r.details.includes(`SSO ${PROVIDER}`))).toBe(true);
      const refused = rows.find((r) => r.action === 'LOGIN_FAILURE' && r.details.includes('not verified'));
      expect(JSON.parse(refused!.details)).toMatchObject({ authMethod: 'sso', count: 1 });
      expect(refused!.ip).toBe('127.0.0.1');
      expect(rows.map((r) => r.details).join('\n')).not.toContain(CLIENT_SECRET);
    });
  });
}
