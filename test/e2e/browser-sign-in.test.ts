import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startPerch, type RunningPerch } from '../support/perch.js';

const haveChromium = await chromiumAvailable();

describe.skipIf(!haveChromium)('signing in with a real browser', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let browser: BrowserContext;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await perch?.close();
    await kestra?.close();
  });

  it('goes from the Kestra UI to Perch’s sign-in page and back, signed in, with no Kestra login page', async () => {
    const page = await browser.newPage();
    await page.goto(`${perch.url}/ui/main/flows`);
    expect(new URL(page.url()).pathname).toBe('/perch/login');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Sign in');
    await page.screenshot({ path: await screenshotPath('perch-sign-in') });

    await page.fill('#email', ADMIN_EMAIL);
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('[role=alert]').textContent()).toBe('Email or password is incorrect');
    await page.screenshot({ path: await screenshotPath('perch-sign-in-refused') });

    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${perch.url}/ui/main/flows`);
    expect(await page.title()).toBe('Kestra');
    expect(await page.locator('#app').count()).toBe(1);
    const cookies = await browser.cookies(perch.url);
    expect(cookies.find((c) => c.name === 'perch_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(cookies.find((c) => c.name === 'kestraBasicAuthenticated')).toMatchObject({ value: 'true', httpOnly: false });
    await page.screenshot({ path: await screenshotPath('kestra-ui-through-perch') });

    // The page's own script can call the API with the session: same-origin fetch carries Origin.
    const status = await page.evaluate(async () => (await fetch('/api/v1/main/flows', { method: 'POST', headers: { 'content-type': 'application/x-yaml' }, body: 'id: from_browser\nnamespace: company.team\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n' })).status);
    expect(status).toBe(200);
    expect(kestra.contractViolations).toEqual([]);
  });

  it('will not show the sign-in page inside another site’s frame, and styles it under its own policy', async () => {
    const page = await browser.newPage();
    // Clickjacking: another page puts Perch's sign-in form in a frame under its own overlay.
    await page.setContent(`<iframe id="perch" src="${perch.url}/perch/login" width="600" height="600"></iframe>`);
    const framed = page.frames().find((f) => f !== page.mainFrame())!;
    await framed.waitForLoadState();
    expect(await framed.locator('#password').count()).toBe(0);

    // The page itself: its inline style applies (the policy allows it), and nothing was blocked.
    const violations: string[] = [];
    page.on('console', (message) => message.type() === 'error' && violations.push(message.text()));
    await page.goto(`${perch.url}/perch/login`);
    expect(await page.locator('#password').count()).toBe(1);
    expect(await page.locator('button[type=submit]').evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(132, 5, 255)');
    expect(violations).toEqual([]);
  });
});
