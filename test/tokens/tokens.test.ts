import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiServiceAccountResponseSchema, apiTokenListSchema, createApiTokenResponseSchema } from '../../lib/schemas/tokens.js';
import { insertBinding, insertRole, toBindingFact } from '../../backend/iam/iam-store.js';
import { hashToken } from '../../backend/tokens/token-format.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { storeTargets } from '../support/databases.js';
import { Browser, grantRole, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { bearer, call, sleep } from './helpers.js';

const PASSWORD = 'a good long password';
const yaml = { 'content-type': 'application/x-yaml' };

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`service accounts and API tokens on ${target.name}`, () => {
    let kestra: KestraDouble;
    let perch: RunningPerch;
    let admin: Browser;
    let adminId: string;
    const api = (method: string, path: string, init: Parameters<typeof call>[3] = {}) => call(perch.url, method, path, init);

    async function person(email: string): Promise<{ id: string; browser: Browser }> {
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email, password: PASSWORD } });
      expect(created.status).toBe(201);
      const browser = new Browser(perch);
      await browser.login(email, PASSWORD);
      return { id: created.json.id, browser };
    }

    async function serviceAccount(name: string): Promise<string> {
      const created = await admin.fetch('POST', '/api/v1/main/service-accounts', { json: { name, description: `${name} robot` } });
      expect(created.status).toBe(200);
      return apiServiceAccountResponseSchema.parse(created.json).id;
    }

    async function mint(browser: Browser, path: string, body: Record<string, unknown>, status = 200) {
      const res = await browser.fetch('POST', path, { json: body });
      expect(res.status, res.text).toBe(status);
      return createApiTokenResponseSchema.parse(res.json);
    }

    beforeAll(async () => {
      kestra = await startKestraDouble();
      perch = await startPerch({ databaseUrl: await target.url(), config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
      admin = new Browser(perch);
      await admin.login();
      adminId = (await admin.fetch('GET', '/api/v1/me')).json.id;
      for (const [ns, id] of [['company.team', 'hello'], ['company.finance', 'payroll']]) {
        expect((await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow(ns!, id!), headers: yaml })).status).toBe(200);
      }
    });
    afterAll(async () => {
      await perch?.close();
      await kestra?.close();
    });

    it('creates, lists and deletes my tokens; the secret is shown once and revocation bites on the next call', async () => {
      const created = await mint(admin, '/api/v1/me/api-tokens', { name: 'laptop', description: 'my scripts' });
      expect(created.fullToken).toMatch(/^perch_[0-9A-Za-z]{49}$/);
      expect(created.prefix).toBe(created.fullToken.slice(0, 12));
      expect(created.exp).toBeNull();

      const me = await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) });
      expect(me.status).toBe(200);
      expect(me.json.id).toBe(adminId);

      const list = await admin.fetch('GET', '/api/v1/me/api-tokens');
      expect(list.status).toBe(200);
      const tokens = apiTokenListSchema.parse(list.json);
      expect(tokens.total).toBe(1);
      expect(tokens.results[0]).toMatchObject({ id: created.id, name: 'laptop', description: 'my scripts', prefix: created.prefix, exp: null, extended: false, expired: false });
      expect(list.text).not.toContain(created.fullToken.slice(12));

      // Names are DNS labels, unique per account.
      expect((await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'Not_A_Label' } })).status).toBe(422);
      expect((await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'laptop' } })).status).toBe(409);
      expect((await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'bad-age', maxAge: 'thirty days' } })).status).toBe(422);

      // Warm the cache, then revoke: the very next call is refused.
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
      const deleted = await admin.fetch('DELETE', `/api/v1/me/api-tokens/${created.id}`);
      expect(deleted.status).toBe(200);
      const after = await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) });
      expect(after.status).toBe(401);
      expect(after.json.message).toMatch(/unknown or was revoked/);
      expect((await admin.fetch('DELETE', `/api/v1/me/api-tokens/${created.id}`)).status).toBe(404);
    });

    it('refuses every token-minting route to a call authenticated by an API token, so revoking it ends all it gave', async () => {
      const origin = await mint(admin, '/api/v1/me/api-tokens', { name: 'origin' });
      const accountId = await serviceAccount('mint-target');
      const botToken = (await mint(admin, `/api/v1/main/service-accounts/${accountId}/api-tokens`, { name: 'bot-origin' })).fullToken;
      const before = await perch.perch.ctx.db.selectFrom('api_tokens').select('id').execute();
      const routes = [
        '/api/v1/me/api-tokens',
        `/api/v1/users/${adminId}/api-tokens`,
        `/api/v1/service-accounts/${accountId}/api-tokens`,
        `/api/v1/main/service-accounts/${accountId}/api-tokens`,
      ];
      // The instance owner's own token, and a service account's token, on every route (Bearer in any case).
      for (const authorization of [bearer(origin.fullToken), `bearer ${origin.fullToken}`, bearer(botToken)]) {
        for (const path of routes) {
          const refused = await api('POST', path, { authorization, json: { name: 'child', extended: true } });
          expect(refused.status, `${path} ${authorization.slice(0, 12)} ${refused.text}`).toBe(403);
          // A service account is no instance owner: the instance-wide routes refuse it before anything else.
          const ownersRoute = !path.includes('/main/') && !path.includes('/me/');
          expect(refused.json.message).toMatch(authorization.endsWith(botToken) && ownersRoute ? /Only an instance owner/ : /authenticated by an API token cannot create API tokens/);
        }
      }
      expect(await perch.perch.ctx.db.selectFrom('api_tokens').select('id').execute()).toEqual(before);
      // The same token still reads and lists: only minting is refused.
      expect((await api('GET', '/api/v1/me/api-tokens', { authorization: bearer(origin.fullToken) })).status).toBe(200);
      // Revoking the origin leaves nothing behind that it could have given.
      expect((await admin.fetch('DELETE', `/api/v1/me/api-tokens/${origin.id}`)).status).toBe(200);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(origin.fullToken) })).status).toBe(401);
      expect((await admin.fetch('GET', '/api/v1/me/api-tokens')).json.results.map((t: { name: string }) => t.name)).not.toContain('child');
      // A session (a person who signed in) still mints.
      await mint(admin, `/api/v1/main/service-accounts/${accountId}/api-tokens`, { name: 'from-session' });
    });

    it('keeps only the SHA-256 of a token in the database', async () => {
      const created = await mint(admin, '/api/v1/me/api-tokens', { name: 'hash-only' });
      const rows = await perch.perch.ctx.db.selectFrom('api_tokens').selectAll().where('id', '=', created.id).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.secret_hash).toBe(hashToken(created.fullToken));
      const everything = JSON.stringify(await perch.perch.ctx.db.selectFrom('api_tokens').selectAll().execute());
      expect(everything).not.toContain(created.fullToken);
      expect(everything).not.toContain(created.fullToken.slice(12, 40));
      // Nor does any other table (the audit log included) after the token was used.
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
      await sleep(50);
      for (const table of ['users', 'sessions', 'bindings', 'audit_log'] as const) {
        expect(JSON.stringify(await perch.perch.ctx.db.selectFrom(table).selectAll().execute())).not.toContain(created.fullToken.slice(6));
      }
    });

    it('records the last use without slowing the call', async () => {
      const created = await mint(admin, '/api/v1/me/api-tokens', { name: 'last-used' });
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
      let lastUsed: string | null = null;
      for (let i = 0; i < 50 && !lastUsed; i++) {
        const list = apiTokenListSchema.parse((await admin.fetch('GET', '/api/v1/me/api-tokens')).json);
        lastUsed = list.results.find((t) => t.id === created.id)!.lastUsed;
        if (!lastUsed) await sleep(20);
      }
      expect(lastUsed).not.toBeNull();
    });

    it('refuses malformed tokens, and never falls back to the session cookie', async () => {
      const created = await mint(admin, '/api/v1/me/api-tokens', { name: 'checksum' });
      const last = created.fullToken.at(-1)!;
      const broken = created.fullToken.slice(0, -1) + (last === 'A' ? 'B' : 'A');
      const res = await api('GET', '/api/v1/me', { authorization: bearer(broken) });
      expect(res.status).toBe(401);
      expect(res.json.message).toMatch(/malformed/);
      expect((await api('GET', '/api/v1/me', { authorization: 'Bearer not-a-token' })).status).toBe(401);
      // A cookie that would be accepted does not rescue a bad token.
      expect((await admin.fetch('GET', '/api/v1/me', { headers: { authorization: bearer(broken) } })).status).toBe(401);
    });

    it('expires a token after its maxAge', async () => {
      const created = await mint(admin, '/api/v1/me/api-tokens', { name: 'short', maxAge: 'PT1S' });
      expect(created.exp).not.toBeNull();
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
      await sleep(1100);
      const res = await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) });
      expect(res.status).toBe(401);
      expect(res.json.message).toMatch(/expired/);
      const listed = apiTokenListSchema.parse((await admin.fetch('GET', '/api/v1/me/api-tokens')).json).results.find((t) => t.id === created.id)!;
      expect(listed.expired).toBe(true);
    });

    it('refuses a maxAge beyond 100 years or under a millisecond, storing nothing', async () => {
      const before = apiTokenListSchema.parse((await admin.fetch('GET', '/api/v1/me/api-tokens')).json).results.length;
      for (const maxAge of ['P100000000D', 'PT99999999999999999999999H', 'P99999999999999999999D', 'PT0.0001S']) {
        const res = await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'too-long', maxAge } });
        expect(res.status, maxAge).toBe(422);
        expect(res.json.message).toMatch(/maxAge/);
      }
      const after = await admin.fetch('GET', '/api/v1/me/api-tokens');
      expect(after.status).toBe(200);
      expect(apiTokenListSchema.parse(after.json).results).toHaveLength(before);
      // A fraction of a second is whole milliseconds to the store.
      expect((await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'fraction', maxAge: 'PT1.0001S' } })).status).toBe(200);
    });

    it('slides the expiry of an extended token on every use', async () => {
      const created = await mint(admin, '/api/v1/me/api-tokens', { name: 'sliding', maxAge: 'PT1S', extended: true });
      for (let i = 0; i < 4; i++) {
        expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
        await sleep(600); // 2.4 s in all: a fixed 1 s expiry would have passed
      }
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
      await sleep(1100);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(401);
    });

    it('lets an instance owner manage a user’s tokens, and nobody else', async () => {
      const bob = await person('bob@example.com');
      expect((await bob.browser.fetch('GET', `/api/v1/users/${bob.id}/api-tokens`)).status).toBe(403);
      expect((await bob.browser.fetch('POST', `/api/v1/users/${adminId}/api-tokens`, { json: { name: 'steal' } })).status).toBe(403);

      const created = await mint(admin, `/api/v1/users/${bob.id}/api-tokens`, { name: 'for-bob' }, 201);
      const me = await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) });
      expect(me.json.id).toBe(bob.id);
      expect(me.json.superAdmin).toBe(false);
      // Bob sees it among his own tokens; an owner-only route stays closed to Bob's token.
      expect(apiTokenListSchema.parse((await bob.browser.fetch('GET', '/api/v1/me/api-tokens')).json).results.map((t) => t.id)).toEqual([created.id]);
      expect((await api('GET', '/api/v1/users', { authorization: bearer(created.fullToken) })).status).toBe(403);
      expect(apiTokenListSchema.parse((await admin.fetch('GET', `/api/v1/users/${bob.id}/api-tokens`)).json).total).toBe(1);
      expect((await admin.fetch('GET', '/api/v1/users/no-such-user/api-tokens')).status).toBe(404);
      expect((await admin.fetch('DELETE', `/api/v1/users/${bob.id}/api-tokens/${created.id}`)).status).toBe(204);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(401);
    });

    it('ends a disabled user’s tokens at once and restores them when re-enabled', async () => {
      const carol = await person('carol@example.com');
      const created = await mint(admin, `/api/v1/users/${carol.id}/api-tokens`, { name: 'carol-ci' }, 201);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
      expect((await admin.fetch('PATCH', `/api/v1/users/${carol.id}`, { json: { disabled: true } })).status).toBe(200);
      const refused = await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) });
      expect(refused.status).toBe(401);
      expect(refused.json.message).toMatch(/disabled/);
      expect((await admin.fetch('PATCH', `/api/v1/users/${carol.id}`, { json: { disabled: false } })).status).toBe(200);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(created.fullToken) })).status).toBe(200);
    });

    it('sends a service account’s Bearer calls through RBAC to Kestra, without the token', async () => {
      const id = await serviceAccount('ci-reader');
      await grantRole(perch.perch, id, 'viewer', 'company.team');
      const token = (await mint(admin, `/api/v1/main/service-accounts/${id}/api-tokens`, { name: 'pipeline' })).fullToken;

      kestra.clear();
      const read = await api('GET', '/api/v1/main/flows/company.team/hello', { authorization: bearer(token) });
      expect(read.status).toBe(200);
      expect(kestra.requests).toHaveLength(1);
      const seen = kestra.requests[0]!;
      expect(seen.headers.authorization).toBe(kestra.authorization);
      expect(JSON.stringify(seen.headers)).not.toContain(token);
      expect(JSON.stringify(seen.rawHeaders)).not.toContain(token);

      const elsewhere = await api('GET', '/api/v1/main/flows/company.finance/payroll', { authorization: bearer(token) });
      expect(elsewhere.status).toBe(403);
      expect((await api('PUT', '/api/v1/main/flows/company.team/hello', { authorization: bearer(token), body: logFlow('company.team', 'hello'), headers: yaml })).status).toBe(403);
      const search = await api('GET', '/api/v1/main/flows/search', { authorization: bearer(token) });
      expect(search.json.results.map((f: { namespace: string }) => f.namespace)).toEqual(['company.team']);

      // /me works for a service account, which cannot change a profile or password.
      const me = await api('GET', '/api/v1/me', { authorization: bearer(token) });
      expect(me.json).toMatchObject({ id, restricted: true });
      expect((await api('PATCH', '/api/v1/me', { authorization: bearer(token), json: { firstName: 'x' } })).status).toBe(403);
    });

    it('needs no CSRF proof for Bearer writes (cookie writes still do)', async () => {
      const token = (await mint(admin, '/api/v1/me/api-tokens', { name: 'writer' })).fullToken;
      const evil = { origin: 'https://evil.example' };
      const viaToken = await api('POST', '/api/v1/main/flows', { authorization: bearer(token), body: logFlow('company.team', 'by-token'), headers: { ...yaml, ...evil } });
      expect(viaToken.status).toBe(200);
      const viaCookie = await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'by-cookie'), headers: { ...yaml, ...evil } });
      expect(viaCookie.status).toBe(403);
    });

    it('manages service accounts instance-wide: create, get, patch, owner flag, list, delete with tokens and bindings', async () => {
      const created = await admin.fetch('POST', '/api/v1/service-accounts', { json: { name: 'deployer', description: 'CD', tenants: ['main'] } });
      expect(created.status).toBe(200);
      expect(created.json).toMatchObject({ name: 'deployer', description: 'CD', tenants: [{ id: 'main', name: 'main' }], superAdmin: false });
      const id = created.json.id as string;
      expect((await admin.fetch('POST', '/api/v1/service-accounts', { json: { name: 'deployer' } })).status).toBe(409);
      expect((await admin.fetch('POST', '/api/v1/service-accounts', { json: { name: 'Deployer_1' } })).status).toBe(422);
      expect((await admin.fetch('POST', '/api/v1/service-accounts', { json: { name: 'x', tenants: ['other'] } })).status).toBe(404);
      expect((await admin.fetch('GET', `/api/v1/service-accounts/${id}`)).json.name).toBe('deployer');
      expect((await admin.fetch('PATCH', `/api/v1/service-accounts/${id}`, { json: { name: 'deployer-2', description: 'CD v2' } })).json).toMatchObject({ name: 'deployer-2', description: 'CD v2' });

      const token = (await mint(admin, `/api/v1/service-accounts/${id}/api-tokens`, { name: 'cd' })).fullToken;
      expect((await api('GET', '/api/v1/users', { authorization: bearer(token) })).status).toBe(403);
      expect((await admin.fetch('PATCH', `/api/v1/service-accounts/${id}/superadmin`, { json: { superAdmin: true } })).json.superAdmin).toBe(true);
      expect((await api('GET', '/api/v1/users', { authorization: bearer(token) })).status).toBe(200); // flag change seen at once
      expect((await admin.fetch('PATCH', `/api/v1/service-accounts/${id}/superadmin`, { json: { superAdmin: false } })).status).toBe(200);

      const list = await admin.fetch('GET', '/api/v1/service-accounts?q=deployer');
      expect(list.json.results.map((r: { name: string }) => r.name)).toEqual(['deployer-2']);
      // People lists do not show service accounts.
      const people = await admin.fetch('GET', '/api/v1/users?size=100');
      expect(people.json.results.map((u: { username: string }) => u.username)).not.toContain('deployer-2');

      await grantRole(perch.perch, id, 'viewer', 'company.team');
      const bindings = await admin.fetch('GET', `/api/v1/main/bindings/search?type=USER&id=${id}`);
      expect(bindings.json.results[0].user).toMatchObject({ id, username: 'deployer-2', type: 'SERVICE_ACCOUNT' });
      expect((await admin.fetch('GET', `/api/v1/service-accounts/${id}/api-tokens`)).json.total).toBe(1);
      expect((await admin.fetch('DELETE', `/api/v1/service-accounts/${id}`)).status).toBe(204);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(token) })).status).toBe(401);
      const db = perch.perch.ctx.db;
      expect(await db.selectFrom('api_tokens').selectAll().where('user_id', '=', id).execute()).toEqual([]);
      expect(await db.selectFrom('bindings').selectAll().where('subject_id', '=', id).execute()).toEqual([]);
      expect(perch.perch.ctx.authz.allows('main', id, 'FLOW', 'VIEW', 'company.team')).toBe(false);
      expect((await admin.fetch('GET', `/api/v1/service-accounts/${id}`)).status).toBe(404);
    });

    it('keeps service accounts out of password sign-in', async () => {
      const id = await serviceAccount('no-login');
      // Even with a password set behind Perch's back, the sign-in route never finds a service account.
      const { hashPassword } = await import('../../backend/auth/passwords.js');
      await perch.perch.ctx.db.updateTable('users').set({ password_hash: await hashPassword(PASSWORD) }).where('id', '=', id).execute();
      const res = await api('POST', '/perch/api/login', { json: { username: 'no-login', password: PASSWORD } });
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('guards the tenant routes with SERVICE_ACCOUNT permissions and anti-escalation', async () => {
      const dave = await person('dave@example.com');
      expect((await dave.browser.fetch('GET', '/api/v1/main/service-accounts')).status).toBe(403);
      expect((await dave.browser.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'sneaky' } })).status).toBe(403);

      // Dave may manage service accounts, and read company.team, nothing more.
      const role = await insertRole(perch.perch.ctx.db, 'main', {
        name: 'SA manager', description: null, isDefault: false,
        permissions: { SERVICE_ACCOUNT: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] },
      });
      const binding = await insertBinding(perch.perch.ctx.db, 'main', { type: 'USER', subjectId: dave.id, roleId: role.id, namespace: null });
      perch.perch.ctx.authz.addBinding(toBindingFact(binding, { SERVICE_ACCOUNT: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] }));
      await grantRole(perch.perch, dave.id, 'viewer', 'company.team');

      expect((await dave.browser.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'root-bot', superAdmin: true } })).status).toBe(403);
      const made = await dave.browser.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'team-bot', description: 'reads team' } });
      expect(made.status).toBe(200);
      const botId = made.json.id as string;
      expect(made.json).toMatchObject({ name: 'team-bot', description: 'reads team', groups: [], superAdmin: false });
      expect((await dave.browser.fetch('GET', '/api/v1/main/service-accounts')).json.results.map((r: { username: string }) => r.username)).toContain('team-bot');
      expect((await dave.browser.fetch('GET', `/api/v1/main/service-accounts/${botId}`)).json.name).toBe('team-bot');
      expect((await dave.browser.fetch('PUT', `/api/v1/main/service-accounts/${botId}`, { json: { name: 'team-bot', description: 'still reads team' } })).json.description).toBe('still reads team');

      // Same reach as Dave: he may mint its tokens. Wider reach: he may not.
      await grantRole(perch.perch, botId, 'viewer', 'company.team');
      const token = await mint(dave.browser, `/api/v1/main/service-accounts/${botId}/api-tokens`, { name: 'ok' });
      expect((await api('GET', '/api/v1/main/flows/company.team/hello', { authorization: bearer(token.fullToken) })).status).toBe(200);
      await grantRole(perch.perch, botId, 'editor', 'company.finance');
      const refused = await dave.browser.fetch('POST', `/api/v1/main/service-accounts/${botId}/api-tokens`, { json: { name: 'too-much' } });
      expect(refused.status).toBe(403);
      expect(refused.json.message).toMatch(/do not hold/);
      expect((await dave.browser.fetch('GET', `/api/v1/main/service-accounts/${botId}/api-tokens`)).json.total).toBe(1);
      expect((await dave.browser.fetch('DELETE', `/api/v1/main/service-accounts/${botId}/api-tokens/${token.id}`)).status).toBe(200);
      expect((await api('GET', '/api/v1/me', { authorization: bearer(token.fullToken) })).status).toBe(401);

      // Groups: unknown group 404; joining needs GROUP:MANAGE_MEMBERS.
      expect((await dave.browser.fetch('PUT', `/api/v1/main/service-accounts/${botId}`, { json: { name: 'team-bot', groups: [{ id: 'nope' }] } })).status).toBe(404);
      const group = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Bots' } });
      expect((await dave.browser.fetch('PUT', `/api/v1/main/service-accounts/${botId}`, { json: { name: 'team-bot', groups: [{ id: group.json.id }] } })).status).toBe(403);
      const joined = await admin.fetch('PUT', `/api/v1/main/service-accounts/${botId}`, { json: { name: 'team-bot', groups: [{ id: group.json.id }] } });
      expect(joined.json.groups).toEqual([{ id: group.json.id }]);

      expect((await dave.browser.fetch('DELETE', `/api/v1/main/service-accounts/${botId}`)).status).toBe(200);
      expect((await dave.browser.fetch('GET', `/api/v1/main/service-accounts/${botId}`)).status).toBe(404);
      expect((await admin.fetch('GET', '/api/v1/other/service-accounts')).status).toBe(404);
    });

    it('changes a service account all or nothing: a taken name leaves its groups as they were, and the index too', async () => {
      const group = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Deployers' } });
      const bound = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'GROUP', externalId: group.json.id, roleId: 'editor', namespaceId: 'company.finance' } });
      expect(bound.status).toBe(200);
      const a = await serviceAccount('bot-a');
      await serviceAccount('bot-b');
      const renamed = await admin.fetch('PUT', `/api/v1/main/service-accounts/${a}`, { json: { name: 'bot-b', groups: [{ id: group.json.id }] } });
      expect(renamed.status).toBe(409);
      const after = await admin.fetch('GET', `/api/v1/main/service-accounts/${a}`);
      expect(after.json).toMatchObject({ name: 'bot-a', groups: [] });
      // Nothing of the group reached the decision index either.
      expect(perch.perch.ctx.authz.effective('main', a).namespaces['company.finance']).toBeUndefined();

      // The same on creation: an account with a taken name is not half-made in a group.
      const members = async () => (await perch.perch.ctx.db.selectFrom('group_members').select('user_id').where('group_id', '=', group.json.id).execute()).length;
      const taken = await admin.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'bot-b', groups: [{ id: group.json.id }] } });
      expect(taken.status).toBe(409);
      expect(await members()).toBe(0);
      const made = await admin.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'bot-c', groups: [{ id: group.json.id }] } });
      expect(made.json.groups).toEqual([{ id: group.json.id }]);
      expect(perch.perch.ctx.authz.effective('main', made.json.id).namespaces['company.finance']).toBeDefined();
    });
  });
}
