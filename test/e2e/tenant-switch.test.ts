/**
 * The tenant switcher in Chromium (issue 20): signed in on the stock UI (its stand-in, with Perch's
 * screens injected), the instance owner switches from main to an INSTANCE tenant in the top bar's
 * account menu, stays signed in and on /ui/main/…, and the page's own /api/v1/main/… calls now show
 * that tenant's flows only; switching back shows main's. Perch's own screens injected there (IAM,
 * audit log) follow the switch too: they list the selected tenant's objects, not the URL's `main`.
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

  it('Perch’s IAM and audit screens follow the switch: they list the selected tenant’s objects, not main’s, under the same /ui/main/… URLs', { timeout: 90_000 }, async () => {
    const owner = new Browser(stack.perch);
    await owner.login();
    const groupIn = async (tenant: string) => {
      const made = await owner.fetch('POST', `/api/v1/${tenant}/groups`, { json: { name: `${tenant}-ops` } });
      expect(made.status, made.text).toBe(200);
      return made.json.id as string;
    };
    const mainGroup = await groupIn('main');
    const acmeGroup = await groupIn('acme');

    const page = await browser.newPage();
    // Which tenant the screens' own calls name (the stock UI's stand-in makes none of these).
    const screenCalls: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (/^\/api\/v1\/[^/]+\/(groups\/search|auditlogs\/search)$/.test(path)) screenCalls.push(path);
    });
    const switchTo = async (name: RegExp) => {
      await page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' }).click();
      await Promise.all([page.waitForEvent('load'), page.getByRole('menuitemradio', { name }).click()]);
    };
    const groupsShown = async () => {
      await page.locator('#perch-iam').waitFor();
      await page.locator('[data-testid=group-row]').first().waitFor();
      return page.locator('[data-testid=group-row]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group-id')));
    };
    const auditShown = async () => {
      await page.locator('#perch-audit').waitFor();
      await page.locator('[data-testid=audit-row]').first().waitFor();
      return (await page.locator('[data-testid=audit-row]').allTextContents()).join('\n');
    };

    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/admin/iam?tab=groups');
    expect(await groupsShown()).toEqual([mainGroup]);

    await switchTo(/Acme/);
    expect(new URL(page.url()).pathname).toBe('/ui/main/admin/iam');
    expect(await groupsShown()).toEqual([acmeGroup]);
    await page.goto(`${stack.perch.url}/ui/main/admin/auditlogs`);
    const acmeLog = await auditShown();
    expect(acmeLog).toContain(acmeGroup);
    expect(acmeLog).not.toContain(mainGroup);
    expect(await page.getByLabel('Log', { exact: true }).locator('option:checked').textContent()).toBe('Tenant acme');
    // The screens name the tenant they show; the stock UI's URL keeps main.
    expect(new URL(page.url()).pathname).toBe('/ui/main/admin/auditlogs');
    expect(screenCalls).toEqual(['/api/v1/main/groups/search', '/api/v1/acme/groups/search', '/api/v1/acme/auditlogs/search']);
    // Perch's own page of the same screen (/perch/iam, served without Kestra) works in the session's tenant too.
    await page.goto(`${stack.perch.url}/perch/iam?tab=groups`);
    expect(await groupsShown()).toEqual([acmeGroup]);
    await page.goto(`${stack.perch.url}/ui/main/admin/auditlogs`);

    await switchTo(/main/);
    const mainLog = await auditShown();
    expect(mainLog).toContain(mainGroup);
    expect(mainLog).not.toContain(acmeGroup);
    await page.goto(`${stack.perch.url}/ui/main/admin/iam?tab=groups`);
    expect(await groupsShown()).toEqual([mainGroup]);
    await page.close();
  });
});
