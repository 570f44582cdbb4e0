import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, exchange, startPerch, type RunningPerch } from '../support/perch.js';

describe('cross-site request forgery protection on cookie-authenticated writes', () => {
  let perch: RunningPerch;
  let admin: Browser;
  beforeAll(async () => {
    perch = await startPerch();
    admin = new Browser(perch);
    await admin.login();
  });
  afterAll(() => perch?.close());

  const create = (headers: Record<string, string>, email: string) =>
    admin.fetch('POST', '/api/v1/users', { json: { email }, headers });

  it('accepts a write from Perch’s own origin', async () => {
    expect((await create({ origin: perch.origin }, 'same-origin@example.com')).status).toBe(201);
    expect((await create({ 'sec-fetch-site': 'same-origin' }, 'fetch-meta@example.com')).status).toBe(201);
  });

  it.each([
    ['another site', { origin: 'https://evil.example' }],
    ['a look-alike port', { origin: 'http://127.0.0.1:1' }],
    ['Origin: null (sandboxed frame, file://)', { origin: 'null' }],
    ['no Origin and a cross-site fetch', { origin: '', 'sec-fetch-site': 'cross-site' }],
    ['no Origin and same-site (sibling subdomain)', { origin: '', 'sec-fetch-site': 'same-site' }],
    ['neither Origin nor Sec-Fetch-Site', { origin: '' }],
  ])('refuses a write from %s with 403 and writes nothing', async (_name, headers) => {
    const h: Record<string, string> = { ...headers };
    if (h.origin === '') {
      delete h.origin;
      // Browser.fetch adds Origin unless the key is present: send the request by hand.
      const { request } = await import('undici');
      const res = await request(`${perch.url}/api/v1/users`, {
        method: 'POST',
        headers: { ...h, cookie: admin.cookieHeader()!, 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'csrf-victim@example.com' }),
      });
      expect(res.statusCode).toBe(403);
      expect((await res.body.json()) as object).toHaveProperty('message');
    } else {
      const res = await create(h, 'csrf-victim@example.com');
      expect(res.status).toBe(403);
      expect(res.json.message).toMatch(/Cross-site/);
    }
    expect((await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=csrf-victim')).json.total).toBe(0);
  });

  it('refuses cross-site logout and sign-in (login CSRF)', async () => {
    expect((await admin.fetch('POST', '/api/v1/logout', { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await admin.fetch('GET', '/api/v1/me')).status).toBe(200);
    const res = await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD }, headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    // A browser's cross-site mark without Origin is refused too; a script, with neither, signs in.
    const marked = await exchange(`${perch.url}/perch/api/login`, 'POST', { json: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(marked.status).toBe(403);
    expect((await exchange(`${perch.url}/perch/api/login`, 'POST', { json: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD } })).status).toBe(204);
  });
});

describe('sign-in throttling and temporary lockout', () => {
  let perch: RunningPerch;
  beforeAll(async () => {
    perch = await startPerch({ config: { login: { maxFailures: 3, lockDuration: 'PT10M', failureWindow: 'PT10M', perIpPerMinute: 20 } } });
  });
  afterAll(() => perch?.close());

  it('locks an account after repeated failures, even against the right password, and says for how long', async () => {
    const browser = new Browser(perch);
    for (let i = 0; i < 3; i++) {
      const res = await browser.fetch('POST', '/perch/api/login', { json: { username: ADMIN_EMAIL, password: `wrong ${i}` } });
      expect(res.status).toBe(401);
      expect(res.json.message).toBe('Email or password is incorrect');
    }
    const locked = await browser.fetch('POST', '/perch/api/login', { json: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    expect(locked.status).toBe(429);
    expect(locked.json.message).toMatch(/locked for 10 more minute/);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(590);
  });

  it('answers an unknown email exactly like a wrong password, and locks it the same way (no enumeration)', async () => {
    const browser = new Browser(perch);
    const unknown = await browser.fetch('POST', '/perch/api/login', { json: { username: 'nobody@example.com', password: 'whatever it is' } });
    const [wrongUser] = [unknown];
    expect(wrongUser.status).toBe(401);
    expect(wrongUser.json).toEqual({ message: 'Email or password is incorrect' });
    for (let i = 0; i < 2; i++) await browser.fetch('POST', '/perch/api/login', { json: { username: 'nobody@example.com', password: 'x' } });
    expect((await browser.fetch('POST', '/perch/api/login', { json: { username: 'nobody@example.com', password: 'x' } })).status).toBe(429);
  });

  it('lets an instance owner lift a lockout by setting a new password', async () => {
    const other = await startPerch({ config: { login: { maxFailures: 2, perIpPerMinute: 50 } } });
    try {
      const admin = new Browser(other);
      await admin.login();
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'forgetful@example.com', password: 'the first password' } });
      const person = new Browser(other);
      for (let i = 0; i < 2; i++) await person.fetch('POST', '/perch/api/login', { json: { username: 'forgetful@example.com', password: 'bad' } });
      expect((await person.fetch('POST', '/perch/api/login', { json: { username: 'forgetful@example.com', password: 'the first password' } })).status).toBe(429);
      expect((await admin.fetch('PATCH', `/api/v1/users/${created.json.id}/password`, { json: { password: 'the second password' } })).status).toBe(200);
      await person.login('forgetful@example.com', 'the second password');
    } finally {
      await other.close();
    }
  });

  it('caps attempts per client address whatever the account', async () => {
    const other = await startPerch({ config: { login: { maxFailures: 100, perIpPerMinute: 5 } } });
    try {
      const browser = new Browser(other);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        statuses.push((await browser.fetch('POST', '/perch/api/login', { json: { username: `user${i}@example.com`, password: 'x' } })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    } finally {
      await other.close();
    }
  });

  it('refuses a malformed sign-in body with 400', async () => {
    const res = await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: ADMIN_EMAIL } });
    expect(res.status).toBe(400);
  });
});
