import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../../backend/auth/sessions.js';
import { storeTargets } from '../support/databases.js';
import { ADMIN_EMAIL, Browser, startPerch, type RunningPerch } from '../support/perch.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`sessions on ${target.name}`, () => {
    let perch: RunningPerch;

    beforeAll(async () => {
      perch = await startPerch({
        databaseUrl: await target.url(),
        config: { session: { idleTimeout: 'PT30M', absoluteTimeout: 'PT12H' } },
      });
    });
    afterAll(() => perch?.close());

    it('issues an HttpOnly SameSite session cookie and the readable Kestra login flags', async () => {
      const browser = new Browser(perch);
      const res = await browser.login();
      const cookies = [res.headers['set-cookie']].flat() as string[];
      const session = cookies.find((c) => c.startsWith('perch_session='))!;
      expect(session).toMatch(/HttpOnly/i);
      expect(session).toMatch(/SameSite=Lax/i);
      expect(session).toMatch(/Path=\//);
      expect(session).not.toMatch(/Secure/);
      const flag = cookies.find((c) => c.startsWith('kestraBasicAuthenticated='))!;
      expect(flag).toMatch(/^kestraBasicAuthenticated=true/);
      expect(flag).not.toMatch(/HttpOnly/i);
      const token = browser.cookies.get('perch_session')!;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits

      // Only the hash is stored.
      const rows = await perch.perch.ctx.db.selectFrom('sessions').select('id_hash').execute();
      expect(rows.map((r) => r.id_hash)).toContain(hashSessionId(token));
      expect(rows.map((r) => r.id_hash)).not.toContain(token);
    });

    it('rotates the session id at sign-in, so a planted cookie is worthless', async () => {
      const attacker = new Browser(perch);
      await attacker.login();
      const planted = attacker.cookies.get('perch_session')!;
      const victim = new Browser(perch);
      victim.cookies.set('perch_session', planted);
      await victim.login();
      expect(victim.cookies.get('perch_session')).not.toBe(planted);
      expect((await attacker.fetch('GET', '/api/v1/me')).status).toBe(401);
      expect((await victim.fetch('GET', '/api/v1/me')).status).toBe(200);
    });

    it('ends the session at logout, on the server, at once', async () => {
      const browser = new Browser(perch);
      await browser.login();
      const token = browser.cookies.get('perch_session')!;
      const out = await browser.fetch('POST', '/api/v1/logout');
      expect(out.status).toBe(204);
      expect(browser.cookies.has('perch_session')).toBe(false);
      const replay = new Browser(perch);
      replay.cookies.set('perch_session', token);
      expect((await replay.fetch('GET', '/api/v1/me')).status).toBe(401);
    });

    it('ends every session of a disabled user, and refuses their sign-in', async () => {
      const admin = new Browser(perch);
      await admin.login();
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'leaver@example.com', password: 'leaving the company' } });
      const leaver = new Browser(perch);
      await leaver.login('leaver@example.com', 'leaving the company');
      expect((await leaver.fetch('GET', '/api/v1/me')).status).toBe(200);
      expect((await admin.fetch('PATCH', `/api/v1/users/${created.json.id}`, { json: { disabled: true } })).status).toBe(200);
      expect((await leaver.fetch('GET', '/api/v1/me')).status).toBe(401);
      await expect(new Browser(perch).login('leaver@example.com', 'leaving the company')).rejects.toThrow(/403/);
    });

    it('treats unknown, malformed and missing cookies as signed out', async () => {
      for (const value of ['', 'x', 'A'.repeat(43), 'A'.repeat(44)]) {
        const browser = new Browser(perch);
        if (value) browser.cookies.set('perch_session', value);
        const res = await browser.fetch('GET', '/api/v1/me');
        expect(res.status).toBe(401);
        expect(res.json.message).toMatch(/Sign in/);
      }
    });

    it('sends people who are not signed in to the login page, keeping where they were going', async () => {
      const res = await new Browser(perch).fetch('GET', '/ui/main/flows?x=1');
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('/perch/login?from=%2Fui%2Fmain%2Fflows%3Fx%3D1');
      const page = await new Browser(perch).fetch('GET', '/perch/login?from=%2Fui%2Fmain%2Fflows');
      expect(page.status).toBe(200);
      expect(page.text).toContain('name="from" value="/ui/main/flows"');
      expect(page.headers['content-type']).toMatch(/text\/html/);
    });

    it('signs in through the HTML form and goes back only to a path on this Perch', async () => {
      const form = (from: string, password = 'correct horse battery staple') =>
        new Browser(perch).fetch('POST', '/perch/login', {
          body: new URLSearchParams({ username: ADMIN_EMAIL, password, from }).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
      const ok = await form('/ui/main/executions');
      expect(ok.status).toBe(303);
      expect(ok.headers.location).toBe('/ui/main/executions');
      for (const evil of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/ui/\\x']) {
        expect((await form(evil)).headers.location).toBe('/ui/');
      }
      const wrong = await form('/ui/', 'wrong password');
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain('Email or password is incorrect');
      expect(wrong.text).toContain(`value="${ADMIN_EMAIL}"`);
    });

    it('redirects the stock UI login and setup pages to Perch and answers the login config itself', async () => {
      for (const page of ['/ui/main/login', '/ui/main/setup', '/ui/login']) {
        const res = await new Browser(perch).fetch('GET', page);
        expect(res.status).toBe(302);
        expect(res.headers.location).toMatch(/^\/perch\/login/);
      }
      const config = await new Browser(perch).fetch('GET', '/api/v1/configs/login');
      expect(config.json).toEqual({ isBasicAuthInitialized: true });
      const admin = new Browser(perch);
      await admin.login();
      expect((await admin.fetch('POST', '/api/v1/main/basicAuth', { json: { username: 'x@y.z', password: 'Aa123456' } })).status).toBe(403);
    });
  });
}

describe('behind https (publicUrl)', () => {
  it('marks the session cookie Secure with the __Host- prefix and checks Origin against the public address', async () => {
    const perch = await startPerch({ config: { publicUrl: 'https://perch.example.com' } });
    try {
      const browser = new Browser({ url: perch.url, origin: 'https://perch.example.com' });
      const res = await browser.login();
      const cookies = [res.headers['set-cookie']].flat() as string[];
      const session = cookies.find((c) => c.startsWith('__Host-perch_session='))!;
      expect(session).toMatch(/; Secure/);
      expect(session).toMatch(/HttpOnly/);
      expect(session).not.toMatch(/Domain=/i);
      expect(cookies.find((c) => c.startsWith('kestraBasicAuthenticated='))).toMatch(/; Secure/);
      expect((await browser.fetch('GET', '/api/v1/me')).status).toBe(200);
      // The Host-derived origin no longer counts: only the configured public address does.
      expect((await browser.fetch('PATCH', '/api/v1/me', { json: { firstName: 'A' }, headers: { origin: perch.url } })).status).toBe(403);
      expect((await browser.fetch('PATCH', '/api/v1/me', { json: { firstName: 'A' } })).status).toBe(200);
    } finally {
      await perch.close();
    }
  });
});

describe('session timeouts (clock under test control)', () => {
  it('ends a session after the idle timeout and after the absolute timeout', async () => {
    const { SessionManager } = await import('../../backend/auth/sessions.js');
    const { openStore, migrateToLatest } = await import('../../backend/store/database.js');
    const { createUser } = await import('../../backend/users/user-store.js');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const store = await openStore({ dataDir: await mkdtemp(`${tmpdir()}/perch-clock-`) });
    await migrateToLatest(store.db);
    const user = await createUser(store.db, { email: 'clock@example.com' });
    let now = 1_000_000;
    const sessions = new SessionManager(store.db, { idleTimeout: 60_000, absoluteTimeout: 300_000 }, undefined, () => now);
    try {
      const idle = await sessions.create(user, {});
      now += 59_000;
      expect(await sessions.resolve(idle.token)).not.toBeNull();
      now += 59_000; // active again within the idle window: still alive
      expect(await sessions.resolve(idle.token)).not.toBeNull();
      now += 60_000;
      expect(await sessions.resolve(idle.token)).toBeNull();
      expect(await store.db.selectFrom('sessions').select('id_hash').where('id_hash', '=', hashSessionId(idle.token)).executeTakeFirst()).toBeUndefined();

      const busy = await sessions.create(user, {});
      for (let i = 0; i < 9; i++) {
        now += 30_000;
        expect(await sessions.resolve(busy.token)).not.toBeNull();
      }
      now += 30_000; // 300 s after creation
      expect(await sessions.resolve(busy.token)).toBeNull();

      // A long-lived stream registered on a session is cut when the session ends.
      const streamed = await sessions.create(user, {});
      let cut = 0;
      sessions.trackStream(hashSessionId(streamed.token), () => cut++);
      await sessions.revokeToken(streamed.token);
      expect(cut).toBe(1);
    } finally {
      sessions.close();
      await store.close();
    }
  });
});

describe('the session cache is bounded', () => {
  it('keeps at most its bound in memory; a session that left it is read from the store, still valid and still seen', async () => {
    const { SessionManager } = await import('../../backend/auth/sessions.js');
    const { openStore, migrateToLatest } = await import('../../backend/store/database.js');
    const { createUser } = await import('../../backend/users/user-store.js');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const store = await openStore({ dataDir: await mkdtemp(`${tmpdir()}/perch-session-bound-`) });
    await migrateToLatest(store.db);
    const user = await createUser(store.db, { email: 'bound@example.com' });
    let now = 1_000_000;
    const sessions = new SessionManager(store.db, { idleTimeout: 90_000, absoluteTimeout: 3_600_000 }, undefined, () => now, 2);
    try {
      const first = await sessions.create(user, {});
      now += 30_000; // seen 30 s after sign-in: not written yet (at most once a minute), written when it leaves the cache
      expect(await sessions.resolve(first.token)).not.toBeNull();
      const others = [await sessions.create(user, {}), await sessions.create(user, {})];
      expect(sessions.cachedCount).toBe(2);
      const lastSeen = await store.db.selectFrom('sessions').select('last_seen_at').where('id_hash', '=', hashSessionId(first.token)).executeTakeFirstOrThrow();
      expect(lastSeen.last_seen_at).toBe(now);
      now += 70_000; // 100 s after sign-in, 70 s after it was last seen: within the 90 s idle timeout
      expect((await sessions.resolve(first.token))?.email).toBe('bound@example.com');
      for (const s of others) expect(await sessions.resolve(s.token)).not.toBeNull();
      expect(sessions.cachedCount).toBe(2);
    } finally {
      sessions.close();
      await store.close();
    }
  });
});

describe('the cached answer the fast lane asks first (cachedPrincipal)', () => {
  it('answers only what resolve would, and leaves every other case to resolve', async () => {
    const { SessionManager } = await import('../../backend/auth/sessions.js');
    const { openStore, migrateToLatest } = await import('../../backend/store/database.js');
    const { createUser } = await import('../../backend/users/user-store.js');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const store = await openStore({ dataDir: await mkdtemp(`${tmpdir()}/perch-session-cached-`) });
    await migrateToLatest(store.db);
    const user = await createUser(store.db, { email: 'cached@example.com' });
    let now = 1_000_000;
    // Idle timeout shorter than the 30 s after which a cached session is re-read, so each case shows alone.
    const sessions = new SessionManager(store.db, { idleTimeout: 20_000, absoluteTimeout: 100_000 }, undefined, () => now);
    try {
      for (const bad of [undefined, '', 'x', 'A'.repeat(43)]) expect(sessions.cachedPrincipal(bad)).toBeUndefined();
      const live = await sessions.create(user, {});
      expect(sessions.cachedPrincipal(live.token)?.email).toBe('cached@example.com');
      // A call answered from the cache counts as activity, as resolve's does: the idle window restarts.
      now += 15_000;
      expect(sessions.cachedPrincipal(live.token)).toBeDefined();
      now += 15_000; // 30 s after it was read, 15 s after it was last seen
      expect(sessions.cachedPrincipal(live.token)).toBeDefined();
      // Re-read from the store past 30 s: only resolve does that (another replica may have revoked it).
      now += 1_000;
      expect(sessions.cachedPrincipal(live.token)).toBeUndefined();
      expect(await sessions.resolve(live.token)).not.toBeNull();
      expect(sessions.cachedPrincipal(live.token)).toBeDefined();
      // Idle too long (fresh in the cache): not answered from it, and resolve ends the session.
      now += 21_000;
      expect(sessions.cachedPrincipal(live.token)).toBeUndefined();
      expect(await sessions.resolve(live.token)).toBeNull();
      expect(sessions.cachedPrincipal(live.token)).toBeUndefined();

      // Past the absolute timeout, however busy.
      const busy = await sessions.create(user, {});
      for (let i = 0; i < 6; i++) {
        now += 15_000;
        expect((sessions.cachedPrincipal(busy.token) ?? (await sessions.resolve(busy.token)))?.email).toBe('cached@example.com');
      }
      now += 10_000; // 100 s after sign-in
      expect(sessions.cachedPrincipal(busy.token)).toBeUndefined();
      expect(await sessions.resolve(busy.token)).toBeNull();

      // Revoked: gone from the cache at once.
      const revoked = await sessions.create(user, {});
      await sessions.revokeToken(revoked.token);
      expect(sessions.cachedPrincipal(revoked.token)).toBeUndefined();
    } finally {
      sessions.close();
      await store.close();
    }
  });
});
