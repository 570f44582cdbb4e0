/**
 * The tenant switcher in Chromium (issue 20): signed in on the stock UI (its stand-in, with Perch's
 * screens injected), the instance owner switches from main to an INSTANCE tenant in the top bar's
 * account menu, stays signed in and on /ui/main/…, and the page's own /api/v1/main/… calls now show
 * that tenant's flows only; switching back shows main's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, logFlow } from '../support/perch.js';

const haveChromium = await chromiumAvailable();

describe.skipIf(!haveChromium)('switching tenants in the stock UI', () => {
  let stack: Stack;
  let acmeKestra: KestraDouble;
  let browser: BrowserContext;

  beforeAll(async () => {
    stack = await startStack();
    acmeKestra = await startKestraDouble();
    stack.kestra.addFlow(logFlow('company.team', 'payroll'));
    acmeKestra.addFlow(logFlow('acme.sales', 'invoice'));
    const owner = new Browser(stack.perch);
    await owner.login();
    const created = await owner.fetch('POST', '/api/v1/tenants', {
      json: { id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: acmeKestra.url, username: acmeKestra.username, password: acmeKestra.password } },
    });
    expect(created.status, created.text).toBe(200);
    // The owner enters every tenant; reading acme's flows takes access and a binding there, as for anyone.
    expect((await owner.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: ADMIN_EMAIL } })).status).toBe(204);
    const me = (await owner.fetch('GET', '/api/v1/me')).json as { id: string };
    expect((await owner.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: me.id, roleId: 'admin' } })).status).toBe(200);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await acmeKestra?.close();
  });

  it('lists the tenants one may enter and switches without signing out; the UI’s calls then show the other tenant’s flows only', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/flows');
    const flowIds = () => page.evaluate(async () => ((await (await fetch('/api/v1/main/flows/search')).json()) as { results: Array<{ id: string }> }).results.map((f) => f.id));
    expect(await flowIds()).toEqual(['payroll']);

    const menu = page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' });
    await menu.click();
    const acme = page.getByRole('menuitemradio', { name: /Acme/ });
    expect(await acme.getAttribute('aria-checked')).toBe('false');
    expect(await page.getByRole('menuitemradio', { name: /main/ }).getAttribute('aria-checked')).toBe('true');
    await Promise.all([page.waitForEvent('load'), acme.click()]);
    expect(new URL(page.url()).pathname).toBe('/ui/main/flows');
    expect(await flowIds()).toEqual(['invoice']);

    await page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' }).click();
    expect(await page.getByRole('menuitemradio', { name: /Acme/ }).getAttribute('aria-checked')).toBe('true');
    await Promise.all([page.waitForEvent('load'), page.getByRole('menuitemradio', { name: /main/ }).click()]);
    expect(await flowIds()).toEqual(['payroll']);
    await page.close();
  });
});
