import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, exchange, startSignedIn, type RunningPerch } from '../support/perch.js';

/** A person's own sessions: list them, end one, end every other ("sign out elsewhere"). */
describe('own sessions (/api/v1/me/sessions)', () => {
  let perch: RunningPerch;
  let admin: Browser;

  beforeAll(async () => {
    ({ perch, admin } = await startSignedIn());
  });
  afterAll(async () => {
    await perch?.close();
  });

  it('lists the person’s sessions, marks this one, and ends another by its handle', async () => {
    const laptop = new Browser(perch);
    await laptop.login();
    const phone = new Browser(perch);
    await phone.login();
    const listed = await admin.fetch('GET', '/api/v1/me/sessions');
    expect(listed.status).toBe(200);
    expect(listed.headers['cache-control']).toBe('no-store');
    const sessions = listed.json.results as { id: string; current: boolean }[];
    expect(sessions).toHaveLength(3);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    // The handle is not the cookie: it names a session, it cannot be used as one.
    const cookie = admin.cookies.get('perch_session')!;
    expect(sessions.every((s) => /^[0-9a-f]{16}$/.test(s.id) && !cookie.includes(s.id))).toBe(true);

    const phoneId = ((await phone.fetch('GET', '/api/v1/me/sessions')).json.results as { id: string; current: boolean }[]).find((s) => s.current)!.id;
    expect((await admin.fetch('DELETE', `/api/v1/me/sessions/${phoneId}`)).status).toBe(204);
    expect((await phone.fetch('GET', '/api/v1/me')).status).toBe(401);
    expect((await laptop.fetch('GET', '/api/v1/me')).status).toBe(200);
    expect((await admin.fetch('DELETE', `/api/v1/me/sessions/${phoneId}`)).status).toBe(404);

    // Every other session ends; this one stays.
    expect((await admin.fetch('DELETE', '/api/v1/me/sessions')).status).toBe(204);
    expect((await laptop.fetch('GET', '/api/v1/me')).status).toBe(401);
    const left = await admin.fetch('GET', '/api/v1/me/sessions');
    expect(left.json.results).toHaveLength(1);
    expect(left.json.results[0].current).toBe(true);
    // Both are in the instance audit log, as sign-outs by the person.
    const logged = await admin.fetch('GET', '/api/v1/auditlogs/search?chain=_instance&type=LOGOUT&size=10');
    expect(logged.json.results.map((item: { auditLog: { detail: { reason?: string } } }) => item.auditLog.detail.reason)).toEqual(['signed out every other session', `signed out session ${phoneId}`]);
  });

  it('never reaches another person’s session, refuses tokens and cross-site writes', async () => {
    const bob = new Browser(perch);
    await admin.fetch('POST', '/api/v1/users', { json: { email: 'bob@example.com', password: 'bob has a long passphrase' } });
    await bob.login('bob@example.com', 'bob has a long passphrase');
    const bobId = (await bob.fetch('GET', '/api/v1/me/sessions')).json.results[0].id as string;
    expect((await admin.fetch('DELETE', `/api/v1/me/sessions/${bobId}`)).status).toBe(404);
    expect((await bob.fetch('GET', '/api/v1/me')).status).toBe(200);
    expect((await admin.fetch('DELETE', '/api/v1/me/sessions/not-a-handle')).status).toBe(404);
    // Cross-site: the browser's Origin is another site's.
    expect((await bob.fetch('DELETE', '/api/v1/me/sessions', { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await bob.fetch('GET', '/api/v1/me')).status).toBe(200);

    const token = (await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'script' } })).json.fullToken as string;
    const byToken = await exchange(`${perch.url}/api/v1/me/sessions`, 'GET', { headers: { authorization: `Bearer ${token}` } });
    expect(byToken.status).toBe(403);
    expect(byToken.json.message).toMatch(/signed-in browser/);
    expect((await exchange(`${perch.url}/api/v1/me/sessions`, 'GET')).status).toBe(401);
  });

  it('answers the password rules the account screen shows', async () => {
    const rules = await admin.fetch('GET', '/perch/api/account/password-rules');
    expect(rules.json).toEqual({ minLength: 12, minDigits: 0, minLowerCase: 0, minUpperCase: 0, minSpecial: 0 });
  });
});
