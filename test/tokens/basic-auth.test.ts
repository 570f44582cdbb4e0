import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../backend/config/config.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { basic, bearer, call } from './helpers.js';

describe('Basic authentication for scripts', () => {
  it('is off unless configured', () => {
    expect(parseConfig({}).auth.basic.enabled).toBe(false);
    expect(parseConfig({ auth: { basic: { enabled: true } } }).auth.basic.enabled).toBe(true);
    expect(() => parseConfig({ auth: { basic: { enabled: true, realm: 'x' } } })).toThrow(/unknown key auth\.basic\.realm/);
  });

  describe('when disabled (the default)', () => {
    let perch: RunningPerch;
    beforeAll(async () => {
      perch = await startPerch();
    });
    afterAll(() => perch?.close());

    it('answers 401 to correct Basic credentials', async () => {
      const res = await call(perch.url, 'GET', '/api/v1/me', { authorization: basic(ADMIN_EMAIL, ADMIN_PASSWORD) });
      expect(res.status).toBe(401);
    });
  });

  describe('when enabled', () => {
    let perch: RunningPerch;
    beforeAll(async () => {
      perch = await startPerch({ config: { auth: { basic: { enabled: true } }, login: { maxFailures: 3 } } });
    });
    afterAll(() => perch?.close());

    it('authenticates a person by email and password, CSRF-free, and caches the check briefly', async () => {
      const admin = new Browser(perch);
      await admin.login();
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'script@example.com', password: 'a good long password' } });
      const auth = basic('script@example.com', 'a good long password');
      const me = await call(perch.url, 'GET', '/api/v1/me', { authorization: auth });
      expect(me.status).toBe(200);
      expect(me.json.id).toBe(created.json.id);
      const started = Date.now();
      for (let i = 0; i < 20; i++) expect((await call(perch.url, 'GET', '/api/v1/me', { authorization: auth })).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2000); // no Argon2 per call
      const write = await call(perch.url, 'POST', '/api/v1/me/api-tokens', { authorization: auth, json: { name: 'from-basic' }, headers: { origin: 'https://evil.example' } });
      expect(write.status).toBe(200);
      expect((await call(perch.url, 'GET', '/api/v1/me', { authorization: bearer(write.json.fullToken) })).json.id).toBe(created.json.id);

      // A new password ends the cached credentials at once.
      expect((await admin.fetch('PATCH', `/api/v1/users/${created.json.id}/password`, { json: { password: 'another long password' } })).status).toBe(200);
      expect((await call(perch.url, 'GET', '/api/v1/me', { authorization: auth })).status).toBe(401);
    });

    it('counts wrong passwords toward the account lockout, shared with the sign-in form', async () => {
      const admin = new Browser(perch);
      await admin.login();
      await admin.fetch('POST', '/api/v1/users', { json: { email: 'victim@example.com', password: 'the right password' } });
      // Accepted once, so remembered for a while: the lock below must end that too.
      expect((await call(perch.url, 'GET', '/api/v1/me', { authorization: basic('victim@example.com', 'the right password') })).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        const res = await call(perch.url, 'GET', '/api/v1/me', { authorization: basic('victim@example.com', `wrong ${i}`) });
        expect(res.status).toBe(401);
        expect(res.json.message).toBe('Email or password is incorrect');
      }
      // The third failure comes from the sign-in form: the account locks for both.
      expect((await call(perch.url, 'POST', '/perch/api/login', { json: { username: 'victim@example.com', password: 'wrong 3' } })).status).toBe(401);
      const locked = await call(perch.url, 'GET', '/api/v1/me', { authorization: basic('victim@example.com', 'the right password') });
      expect(locked.status).toBe(429);
      expect(locked.headers['retry-after']).toBeDefined();
      expect(locked.json.message).toMatch(/locked/);
    });

    it('refuses service accounts and bad headers, without falling back to the cookie', async () => {
      const admin = new Browser(perch);
      await admin.login();
      await admin.fetch('POST', '/api/v1/service-accounts', { json: { name: 'robot' } });
      expect((await call(perch.url, 'GET', '/api/v1/me', { authorization: basic('robot', 'anything at all') })).status).toBe(401);
      expect((await call(perch.url, 'GET', '/api/v1/me', { authorization: 'Basic !!!' })).status).toBe(401);
      expect((await admin.fetch('GET', '/api/v1/me', { headers: { authorization: basic(ADMIN_EMAIL, 'wrong') } })).status).toBe(401);
    });
  });
});
