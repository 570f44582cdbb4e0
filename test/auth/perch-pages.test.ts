import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_EMAIL, Browser, startPerch, type RunningPerch } from '../support/perch.js';

/** Every page Perch serves itself; the reset and invitation flows' pages send no referrer to other sites (their links carry a secret). */
const PAGES: { name: string; method: 'GET' | 'POST'; path: string; form?: Record<string, string>; noReferrer: boolean }[] = [
  { name: 'sign-in', method: 'GET', path: '/perch/login', noReferrer: false },
  { name: 'sign-in refused', method: 'POST', path: '/perch/login', form: { username: ADMIN_EMAIL, password: 'not the password', from: '/ui/' }, noReferrer: false },
  { name: 'forgotten password', method: 'GET', path: '/perch/forgotten-password', noReferrer: true },
  { name: 'reset link, unknown', method: 'GET', path: '/perch/reset-password?token=no-such-token', noReferrer: true },
  { name: 'invitation link, unknown', method: 'GET', path: '/perch/invitations/accept?token=no-such-token', noReferrer: true },
  { name: 'invitation form, refused', method: 'POST', path: '/perch/invitations/accept', form: { token: 'no-such-token', password: 'a long enough passphrase 1A!' }, noReferrer: true },
];

describe('pages of Perch’s own', () => {
  let perch: RunningPerch;
  beforeAll(async () => {
    perch = await startPerch();
  });
  afterAll(() => perch?.close());

  it.each(PAGES)('$name: never framed, cached or scripted; no referrer to other sites from the link flows', async ({ method, path, form, noReferrer }) => {
    const page = await new Browser(perch).fetch(method, path, form ? { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {});
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const policy = String(page.headers['content-security-policy']).split(/;\s*/);
    expect(policy).toEqual(expect.arrayContaining(["default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"]));
    expect(page.text).not.toMatch(/<script/i);
    expect(page.headers['referrer-policy']).toBe(noReferrer ? 'same-origin' : undefined);
    if (noReferrer) expect(page.text).toContain('<meta name="referrer" content="same-origin">');
  });
});
