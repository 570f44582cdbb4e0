/**
 * Perch's own pages (/perch/…) in Chromium with Kestra down: the screens still work, a UI page
 * Kestra cannot serve is a page saying why, the account screen (tokens, sessions), the "no access"
 * page, and readiness naming the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { hashPassword } from '../../backend/auth/passwords.js';
import { createUser } from '../../backend/users/user-store.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { SCREENS_BUNDLE, settledFile } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startPerch, type RunningPerch } from '../support/perch.js';

const haveChromium = await chromiumAvailable();
const PLAIN_EMAIL = 'plain@perch.test';
const PLAIN_PASSWORD = 'a plain person password';

async function signInAt(page: Page, base: string, path: string, email: string, password: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${base}${path}`);
  expect(new URL(page.url()).pathname).toBe('/perch/login');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}${path}`), page.click('button[type=submit]')]);
}

describe.skipIf(!haveChromium)('Perch’s own pages with Kestra down', () => {
  let perch: RunningPerch;
  let browser: BrowserContext;

  beforeAll(async () => {
    await settledFile(SCREENS_BUNDLE);
    // Kestra "runs" on the discard port: nothing answers there.
    perch = await startPerch({ config: { kestra: { url: 'http://127.0.0.1:9', username: 'perch@kestra.test', password: 'Kestra-pass-1' }, ui: { bundle: SCREENS_BUNDLE } } });
    await createUser(perch.perch.ctx.db, { email: PLAIN_EMAIL, passwordHash: await hashPassword(PLAIN_PASSWORD), superAdmin: false });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await perch?.close();
  });

  it('answers a Kestra UI page with a page saying what is wrong, and serves IAM and the audit log itself', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await signInAt(page, perch.url, '/perch/iam', ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.locator('#perch-iam').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('[data-testid=user-row]').count()).toBeGreaterThan(0);
    expect(await page.locator('#perch-screen-nav a[aria-current=page]').textContent()).toBe('IAM');
    await page.screenshot({ path: await screenshotPath('perch-page-iam-kestra-down') });

    await page.goto(`${perch.url}/perch/audit`);
    await page.locator('#perch-audit').waitFor({ timeout: 15_000 });

    const ui = await page.goto(`${perch.url}/ui/main/flows`);
    expect(ui!.status()).toBe(502);
    expect(ui!.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.locator('h1').textContent()).toBe('Kestra is not available');
    expect(await page.locator('[data-testid=kestra-problem]').textContent()).toMatch(/^Kestra is unreachable at http:\/\/127\.0\.0\.1:9 \(/);
    await page.screenshot({ path: await screenshotPath('perch-kestra-down') });
    await Promise.all([page.waitForURL(`${perch.url}/perch/iam`), page.click('a[href="/perch/iam"]')]);
    await page.locator('#perch-iam').waitFor({ timeout: 15_000 });

    // An API call still gets JSON.
    const api = await request(`${perch.url}/perch/health/ready`);
    expect(api.statusCode).toBe(503);
    expect(await api.body.json()).toMatchObject({ status: 'DOWN', reason: expect.stringMatching(/^Kestra is unreachable at http:\/\/127\.0\.0\.1:9/) });
    const live = await request(`${perch.url}/perch/health/live`);
    expect(live.statusCode).toBe(200);
    expect(await live.body.json()).toEqual({ status: 'UP' });
  });

  it('lets a person make a token (shown once), revoke it, and sign out their other sessions', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await signInAt(page, perch.url, '/perch/account', PLAIN_EMAIL, PLAIN_PASSWORD);
    await page.locator('#perch-account').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=password-rules]').textContent()).toContain('at least 12 characters');
    // The groups load after the screen appears.
    await expect.poll(() => page.locator('[data-testid=own-groups]').textContent()).toBe('You are in no group.');

    await page.click('[data-testid=token-create]');
    await page.getByLabel('Token name', { exact: true }).fill('my-ci');
    await page.locator('[data-testid=token-form] button[type=submit]').click();
    const secret = await page.locator('[data-testid=token-value]').textContent();
    expect(secret).toMatch(/\S{20,}/);
    // The token works, as the person.
    const me = await request(`${perch.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(me.statusCode).toBe(200);
    expect(((await me.body.json()) as { profile: { email: string } }).profile.email).toBe(PLAIN_EMAIL);
    await page.screenshot({ path: await screenshotPath('perch-account-token-once') });
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await expect.poll(() => page.locator('[data-testid=token-row]').count()).toBe(1);
    expect(await page.locator('[data-testid=token-row]').textContent()).not.toContain(secret!);
    await page.click('[data-testid=token-revoke]');
    await page.click('[data-testid=confirm]');
    await expect.poll(() => page.locator('[data-testid=token-row]').count()).toBe(0);
    const refused = await request(`${perch.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.statusCode).toBe(401);
    await refused.body.dump();

    // A second browser signs in as the same person; "sign out everywhere else" ends it.
    const other = await launchChromium();
    try {
      const elsewhere = await other.newPage();
      await signInAt(elsewhere, perch.url, '/perch/account', PLAIN_EMAIL, PLAIN_PASSWORD);
      await page.reload();
      await expect.poll(() => page.locator('[data-testid=session-row]').count()).toBe(2);
      expect(await page.locator('[data-testid=session-row][data-current=true]').count()).toBe(1);
      await page.screenshot({ path: await screenshotPath('perch-account-sessions') });
      await page.click('[data-testid=sessions-revoke-others]');
      await expect.poll(() => page.locator('[data-testid=session-row]').count()).toBe(1);
      expect(await elsewhere.evaluate(async () => (await fetch('/api/v1/me')).status)).toBe(401);
      expect(await page.evaluate(async () => (await fetch('/api/v1/me')).status)).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('shows a person without the permission what they lack instead of the screen', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await signInAt(page, perch.url, '/perch/audit', PLAIN_EMAIL, PLAIN_PASSWORD);
    await page.locator('#perch-no-access').waitFor({ timeout: 15_000 });
    expect(await page.locator('#perch-no-access').getAttribute('data-screen')).toBe('audit');
    expect(await page.locator('[data-testid=no-access-lack]').textContent()).toContain('AUDITLOG:LIST');
    expect(await page.locator('#perch-audit').count()).toBe(0);
    await page.screenshot({ path: await screenshotPath('perch-no-access') });
    // The navigation offers only what the person may use (and the page they are on).
    expect(await page.locator('#perch-screen-nav a[data-screen]').evaluateAll((links) => links.map((l) => l.getAttribute('data-screen')))).toEqual(['account', 'audit']);
  });
});
