import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Request } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { Browser, exchange, startSignedIn, type RunningPerch } from '../support/perch.js';
import { linkIn, startSmtp } from '../onboarding/smtp.js';

const haveChromium = await chromiumAvailable();

/** The Origin a page's form post carried. */
const originOfPost = (request: Request) => (request.method() === 'POST' ? request.headers().origin : undefined);

describe.skipIf(!haveChromium)('mailed links, opened and used in a real browser', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let perch: RunningPerch;
  let admin: Browser;
  let browser: BrowserContext;

  beforeAll(async () => {
    smtp = await startSmtp();
    ({ perch, admin } = await startSignedIn({ config: { mail: { smtp: { host: '127.0.0.1', port: smtp.port } } } }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await perch?.close();
    await smtp?.close();
  });

  // The link's token must not leave for another site (Referer), yet the page's form must keep its
  // Origin, which Perch checks: under `no-referrer` Chromium sends `Origin: null` and the form is refused.
  it('sets a new password through the reset page’s form', async () => {
    await admin.fetch('POST', '/api/v1/users', { json: { email: 'forgetful@example.com', password: 'the old long password' } });
    const before = smtp.messages.length;
    await exchange(`${perch.url}/api/v1/forgotten-password`, 'POST', { json: { username: 'forgetful@example.com' } });
    const mails = await smtp.waitFor(before + 1);
    const page = await browser.newPage();
    const origins: (string | undefined)[] = [];
    page.on('request', (request) => origins.push(originOfPost(request)));
    await page.goto(linkIn(mails[before]!, '/perch/reset-password'));
    await page.fill('#password', 'the brand new password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('main').textContent()).toMatch(/Your password has been changed/);
    expect(origins.filter(Boolean)).toEqual([perch.origin]);
    await new Browser(perch).login('forgetful@example.com', 'the brand new password');
  });

  it('activates an invited account through the invitation page’s form, signed in at once', async () => {
    const before = smtp.messages.length;
    const invited = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'newcomer@example.com', roles: [] } });
    expect(invited.status).toBe(201);
    const mails = await smtp.waitFor(before + 1);
    const page = await browser.newPage();
    await page.goto(linkIn(mails[before]!, '/perch/invitations/accept'));
    await page.fill('#password', 'a newcomer long password');
    await page.click('button[type=submit]');
    await page.waitForURL(`${perch.url}/ui/`);
    const cookies = await browser.cookies(perch.url);
    expect(cookies.find((c) => c.name === 'perch_session')).toBeDefined();
    await new Browser(perch).login('newcomer@example.com', 'a newcomer long password');
  });
});
