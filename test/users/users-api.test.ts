import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFailures } from '../../backend/audit/auth-failures.js';
import { INSTANCE_CHAIN } from '../../lib/schemas/audit.js';
import { apiMeSchema, apiUserSchema, apiUserSummarySchema, pagedResultsSchema } from '../../lib/schemas/users.js';
import { storeTargets } from '../support/databases.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, startSignedIn, type RunningPerch } from '../support/perch.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`users and /me on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('creates, reads, lists, updates and deletes a user with the EE shapes', async () => {
      const created = await admin.fetch('POST', '/api/v1/users', {
        json: { email: 'Ada@Example.com', firstName: 'Ada', lastName: 'Lovelace', password: 'analytical engine 1843' },
      });
      expect(created.status).toBe(201);
      const user = apiUserSchema.parse(created.json);
      expect(user).toMatchObject({ email: 'ada@example.com', username: 'ada@example.com', displayName: 'Ada Lovelace', superAdmin: false, disabled: false });
      expect(user.tenants).toEqual([{ id: 'main', name: 'main' }]);
      expect(created.text).not.toContain('analytical engine');
      expect(created.text).not.toMatch(/argon2/);

      const fetched = await admin.fetch('GET', `/api/v1/users/${user.id}`);
      expect(apiUserSchema.parse(fetched.json)).toEqual(user);

      const list = await admin.fetch('GET', '/api/v1/users?page=1&size=10&filters[q][EQUALS]=lovelace');
      const page = pagedResultsSchema(apiUserSummarySchema).parse(list.json);
      expect(page.total).toBe(1);
      expect(page.results[0]!.id).toBe(user.id);

      const everyone = pagedResultsSchema(apiUserSummarySchema).parse((await admin.fetch('GET', '/api/v1/users?size=1&sort=email:asc')).json);
      expect(everyone.total).toBe(2);
      expect(everyone.results).toHaveLength(1);
      expect(everyone.results[0]!.username).toBe('ada@example.com'); // sorted by email: ada < admin

      const patched = await admin.fetch('PATCH', `/api/v1/users/${user.id}`, { json: { firstName: 'Augusta' } });
      expect(patched.status).toBe(200);
      expect(patched.json.displayName).toBe('Augusta Lovelace');

      const put = await admin.fetch('PUT', `/api/v1/users/${user.id}`, { json: { email: 'ada@example.com', firstName: 'Ada' } });
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({ firstName: 'Ada', lastName: null });

      expect((await admin.fetch('DELETE', `/api/v1/users/${user.id}`)).status).toBe(204);
      expect((await admin.fetch('GET', `/api/v1/users/${user.id}`)).status).toBe(404);
    });

    it('refuses bad input with 422 naming the field, and duplicates with 409, writing nothing', async () => {
      const bad = await admin.fetch('POST', '/api/v1/users', { json: { email: 'not-an-email' } });
      expect(bad.status).toBe(422);
      expect(bad.json.message).toMatch(/email/);
      expect(bad.json.errors[0].path).toBe('email');

      const weak = await admin.fetch('POST', '/api/v1/users', { json: { email: 'weak@example.com', password: 'short' } });
      expect(weak.status).toBe(422);
      expect(weak.json.message).toMatch(/at least 12 characters/);
      expect((await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=weak')).json.total).toBe(0);

      const dup = await admin.fetch('POST', '/api/v1/users', { json: { email: ADMIN_EMAIL.toUpperCase() } });
      expect(dup.status).toBe(409);

      const notJson = await admin.fetch('POST', '/api/v1/users', { body: '{"email":', headers: { 'content-type': 'application/json' } });
      expect(notJson.status).toBe(400);
      expect(notJson.json.message).toBeTruthy();
    });

    it('keeps the last instance owner', async () => {
      const me = apiMeSchema.parse((await admin.fetch('GET', '/api/v1/me')).json);
      expect(me.superAdmin).toBe(true);
      expect((await admin.fetch('DELETE', `/api/v1/users/${me.id}`)).status).toBe(409);
      expect((await admin.fetch('PATCH', `/api/v1/users/${me.id}/superadmin`, { json: { superAdmin: false } })).status).toBe(409);
      expect((await admin.fetch('PATCH', `/api/v1/users/${me.id}`, { json: { disabled: true } })).status).toBe(409);
      expect((await admin.fetch('GET', '/api/v1/me')).status).toBe(200);
    });

    it('lets only instance owners manage users, and everyone read and edit themselves', async () => {
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'viewer@example.com', password: 'just a viewer here' } });
      const person = new Browser(perch);
      await person.login('viewer@example.com', 'just a viewer here');
      expect((await person.fetch('GET', '/api/v1/users')).status).toBe(403);
      expect((await person.fetch('POST', '/api/v1/users', { json: { email: 'x@example.com' } })).status).toBe(403);
      expect((await person.fetch('PATCH', `/api/v1/users/${created.json.id}/superadmin`, { json: { superAdmin: true } })).status).toBe(403);

      const me = await person.fetch('GET', '/api/v1/me');
      expect(apiMeSchema.parse(me.json)).toMatchObject({ id: created.json.id, superAdmin: false, profile: { email: 'viewer@example.com' } });
      const renamed = await person.fetch('PATCH', '/api/v1/me', { json: { firstName: 'Vera', disabled: true } });
      expect(renamed.json.profile.firstName).toBe('Vera');
      expect((await admin.fetch('GET', `/api/v1/users/${created.json.id}`)).json.disabled).toBe(false);

      // Granting instance owner takes effect on the person's next request, no re-login needed.
      expect((await admin.fetch('PATCH', `/api/v1/users/${created.json.id}/superadmin`, { json: { superAdmin: true } })).status).toBe(200);
      expect((await person.fetch('GET', '/api/v1/users')).status).toBe(200);
    });

    it('changes the own password only with the current one, ending the other sessions', async () => {
      await admin.fetch('POST', '/api/v1/users', { json: { email: 'changer@example.com', password: 'first password here' } });
      const laptop = new Browser(perch);
      const phone = new Browser(perch);
      await laptop.login('changer@example.com', 'first password here');
      await phone.login('changer@example.com', 'first password here');

      const wrong = await laptop.fetch('PUT', '/api/v1/me/password', { json: { oldPassword: 'nope', newPassword: 'second password here' } });
      expect(wrong.status).toBe(422);
      const weak = await laptop.fetch('PUT', '/api/v1/me/password', { json: { oldPassword: 'first password here', newPassword: 'short' } });
      expect(weak.status).toBe(422);
      const ok = await laptop.fetch('PUT', '/api/v1/me/password', { json: { oldPassword: 'first password here', newPassword: 'second password here' } });
      expect(ok.status).toBe(200);

      expect((await laptop.fetch('GET', '/api/v1/me')).status).toBe(200);
      expect((await phone.fetch('GET', '/api/v1/me')).status).toBe(401);
      await expect(new Browser(perch).login('changer@example.com', 'first password here')).rejects.toThrow(/401/);
      await new Browser(perch).login('changer@example.com', 'second password here');
    });

    it('counts wrong current passwords on a password change towards the sign-in lock, and says nothing about one with a weak new password', async () => {
      await admin.fetch('POST', '/api/v1/users', { json: { email: 'guessed@example.com', password: 'the real password' } });
      // A thief holding the session (or a token) guesses at the password through this route.
      const thief = new Browser(perch);
      await thief.login('guessed@example.com', 'the real password');
      const change = (oldPassword: string, newPassword = 'a new long password') => thief.fetch('PUT', '/api/v1/me/password', { json: { oldPassword, newPassword } });
      // A weak new password is refused before the current one is looked at: right and wrong guesses answer alike.
      for (const guess of ['the real password', 'a wrong guess']) {
        const weak = await change(guess, 'short');
        expect(weak.status).toBe(422);
        expect(weak.json.errors).toEqual([{ path: 'newPassword', message: 'Password must be at least 12 characters long' }]);
      }
      const maxFailures = perch.perch.ctx.config.login.maxFailures;
      for (let i = 1; i <= maxFailures; i++) expect((await change(`wrong guess ${i}`)).status).toBe(422);
      // Locked now: the right password is not even checked, here or at sign-in.
      const locked = await change('the real password');
      expect(locked.status).toBe(429);
      expect(locked.headers['retry-after']).toBeDefined();
      expect((await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: 'guessed@example.com', password: 'the real password' } })).status).toBe(429);
      const user = (await admin.fetch('GET', '/api/v1/users?q=guessed')).json.results[0];
      await authFailures(perch.perch.ctx).flush();
      const events = await perch.perch.ctx.db.selectFrom('audit_log').select(['action', 'details']).where('resource_id', '=', user.id).where('action', 'in', ['LOGIN_FAILURE', 'ACCOUNT_LOCKED']).execute();
      // One entry counting every wrong guess of the minute.
      const wrong = events.filter((e) => e.action === 'LOGIN_FAILURE' && JSON.parse(e.details).reason === 'wrong current password (password change)');
      expect(wrong.map((e) => JSON.parse(e.details).count)).toEqual([maxFailures]);
      expect(events.filter((e) => e.action === 'ACCOUNT_LOCKED')).toHaveLength(1);
      // An instance owner's new password lifts the lock.
      expect((await admin.fetch('PATCH', `/api/v1/users/${user.id}/password`, { json: { password: 'set by the owner' } })).status).toBeLessThan(300);
      await new Browser(perch).login('guessed@example.com', 'set by the owner');
    });

    it('refuses a NUL character in any JSON or form body with 400, signed in or not', async () => {
      const signIn = await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: '\u0000', password: 'x' } });
      expect(signIn.status).toBe(400);
      expect(signIn.json.message).toMatch(/NUL character/);
      const form = await new Browser(perch).fetch('POST', '/perch/login', { body: 'username=a%00b&password=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(form.status).toBe(400);
      const me = (await admin.fetch('GET', '/api/v1/me')).json;
      const renamed = await admin.fetch('PATCH', '/api/v1/me', { json: { firstName: 'a\u0000b' } });
      expect(renamed.status).toBe(400);
      expect((await admin.fetch('GET', '/api/v1/me')).json.profile).toEqual(me.profile);
      expect((await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'r\u0000', permissions: {} } })).status).toBe(400);
    });

    it("gives a user EE's tenants: each must exist, a create grants them, an update sets exactly them, leaving them out changes nothing", async () => {
      const ids = (tenants: Array<{ id: string }>) => tenants.map((t) => t.id);
      expect((await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'Acme', isolation: { mode: 'NAMESPACE', namespaces: ['acme'] } } })).status).toBe(200);
      expect((await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'gone', name: 'Gone', isolation: { mode: 'NAMESPACE', namespaces: ['gone'] } } })).status).toBe(200);
      expect((await admin.fetch('DELETE', '/api/v1/tenants/gone')).status).toBe(204);

      // An unknown or deleted tenant: 404 naming it, and no user.
      for (const tenant of ['nowhere', 'gone']) {
        const refused = await admin.fetch('POST', '/api/v1/users', { json: { email: 'ghost@example.com', tenants: ['main', 'acme', tenant] } });
        expect(refused.status).toBe(404);
        expect(refused.json.message).toBe(`Tenant ${tenant} not found`);
      }
      expect((await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=ghost')).json.total).toBe(0);
      expect(await perch.perch.ctx.db.selectFrom('users').select('id').where('email', '=', 'ghost@example.com').execute()).toEqual([]);

      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'multi@example.com', password: 'two tenants at once', tenants: ['main', 'acme'] } });
      expect(created.status, created.text).toBe(201);
      const user = apiUserSchema.parse(created.json);
      expect(ids(user.tenants)).toEqual(['acme', 'main']);
      expect(ids((await admin.fetch('GET', `/api/v1/users/${user.id}`)).json.tenants)).toEqual(['acme', 'main']);
      const person = new Browser(perch);
      await person.login('multi@example.com', 'two tenants at once');
      expect(ids((await person.fetch('GET', '/api/v1/me')).json.tenants)).toEqual(['acme', 'main']);
      expect((await person.fetch('GET', `/api/v1/acme/tenant-access/${user.id}`)).status).toBe(200); // enters acme
      expect((await admin.fetch('GET', '/api/v1/acme/tenant-access')).json.results.map((u: { id: string }) => u.id)).toEqual([user.id]);

      // `tenants` left out: access unchanged.
      const renamed = await admin.fetch('PUT', `/api/v1/users/${user.id}`, { json: { email: 'multi@example.com', firstName: 'Multi' } });
      expect(renamed.status).toBe(200);
      expect(ids(renamed.json.tenants)).toEqual(['acme', 'main']);

      // `tenants` given: exactly those; acme's access is revoked, and the person can no longer enter it.
      const narrowed = await admin.fetch('PUT', `/api/v1/users/${user.id}`, { json: { email: 'multi@example.com', firstName: 'Multi', tenants: ['main'] } });
      expect(narrowed.status, narrowed.text).toBe(200);
      expect(ids(narrowed.json.tenants)).toEqual(['main']);
      expect(ids((await person.fetch('GET', '/api/v1/me')).json.tenants)).toEqual(['main']);
      expect((await person.fetch('GET', `/api/v1/acme/tenant-access/${user.id}`)).status).toBe(403);
      expect((await admin.fetch('GET', '/api/v1/acme/tenant-access')).json.total).toBe(0);
      // An unknown tenant on update: 404, access unchanged.
      expect((await admin.fetch('PUT', `/api/v1/users/${user.id}`, { json: { email: 'multi@example.com', tenants: ['main', 'acme', 'nowhere'] } })).status).toBe(404);
      expect(ids((await admin.fetch('GET', `/api/v1/users/${user.id}`)).json.tenants)).toEqual(['main']);

      // Audited with the user's tenants before and after.
      const db = perch.perch.ctx.db;
      const entries = await db.selectFrom('audit_log').selectAll().where('tenant_id', '=', INSTANCE_CHAIN).where('resource_id', '=', user.id).where('action', '=', 'UPDATE').orderBy('seq').execute();
      const state = await db.selectFrom('audit_states').selectAll().where('entry_id', '=', entries.at(-1)!.id).executeTakeFirstOrThrow();
      expect(ids(JSON.parse(state.before!).tenants)).toEqual(['acme', 'main']);
      expect(ids(JSON.parse(state.after!).tenants)).toEqual(['main']);
    });

    it('stores passwords only as Argon2id hashes', async () => {
      const row = await perch.perch.ctx.db.selectFrom('users').select(['password_hash']).where('email', '=', ADMIN_EMAIL).executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.password_hash).not.toContain(ADMIN_PASSWORD);
    });
  });
}
