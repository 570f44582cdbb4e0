/**
 * The double's stock-UI stand-in (ui/index-double.js): served as Kestra serves its assets, and
 * behaving like Kestra's single-page app where Perch depends on it (history routing, the
 * `KestraRouterAfterEach` event, the theme on <html>, the 2.0 and 1.x landmarks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { startKestraDouble, type KestraDouble } from './kestra-double.js';
import { UI_DOUBLE_SCRIPT } from './ui/ui-double.js';

const haveChromium = await chromiumAvailable();

describe('Kestra double: stock-UI stand-in over HTTP', () => {
  let k2: KestraDouble;
  let k1: KestraDouble;
  beforeAll(async () => {
    k2 = await startKestraDouble({ validate: false });
    k1 = await startKestraDouble({ validate: false, ui: '1.x' });
  });
  afterAll(async () => {
    await k2?.close();
    await k1?.close();
  });

  it('serves the app script as an immutable asset, builds its DOM without innerHTML', async () => {
    const res = await fetch(`${k2.url}/ui/assets/index-double.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toBe(UI_DOUBLE_SCRIPT);
    expect(UI_DOUBLE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('marks the 1.x flavour on <html> only when asked', async () => {
    expect(await (await fetch(`${k2.url}/ui/main/flows`)).text()).toContain('<html lang="en">');
    expect(await (await fetch(`${k1.url}/ui/flows`)).text()).toContain('<html lang="en" data-kestra-double-ui="1.x">');
  });
});

describe.skipIf(!haveChromium)('Kestra double: stock-UI stand-in in Chromium', () => {
  let k: KestraDouble;
  let browser: BrowserContext;
  beforeAll(async () => {
    k = await startKestraDouble({ validate: false });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await k?.close();
  });

  it('routes in history mode and dispatches KestraRouterAfterEach after every navigation', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      const w = window as unknown as { routerEvents: string[] };
      w.routerEvents = [];
      addEventListener('KestraRouterAfterEach', () => w.routerEvents.push(location.pathname));
    });
    await page.goto(`${k.url}/ui/main/flows`);
    const events = () => page.evaluate(() => (window as unknown as { routerEvents: string[] }).routerEvents);
    await expect.poll(events).toEqual(['/ui/main/flows']);
    const ids = await page.locator('aside a.ks-sidebar-item').evaluateAll((as) => as.map((a) => `${a.id}${a.classList.contains('is-locked') ? '*' : ''}`));
    expect(ids).toEqual(['dashboards', 'flows', 'apps*', 'executions', 'logs', 'namespaces', 'kv-store', 'secrets', 'triggers', 'audit-logs*', 'iam*', 'instance*', 'tenants']);
    expect(await page.locator('a.ks-sidebar-item.is-active').getAttribute('id')).toBe('flows');

    await page.evaluate(() => ((window as unknown as { marker: boolean }).marker = true));
    await page.locator('aside a#iam').click();
    expect(new URL(page.url()).pathname).toBe('/ui/main/admin/iam');
    expect(await page.locator('#app-container > #app section.container.empty-template').textContent()).toContain('Enterprise Edition');
    expect(await page.locator('nav.top-bar h1').textContent()).toBe('IAM');
    await page.goBack();
    expect(new URL(page.url()).pathname).toBe('/ui/main/flows');
    expect(await page.locator('section.empty-template').count()).toBe(0);
    expect(await events()).toEqual(['/ui/main/flows', '/ui/main/admin/iam', '/ui/main/flows']);
    // No reload happened.
    expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker)).toBe(true);
  });

  it('puts the theme on <html> from localStorage and switches it from the top bar', async () => {
    const page = await browser.newPage();
    await page.goto(`${k.url}/ui/main/flows`);
    expect(await page.evaluate(() => document.documentElement.className)).toBe('light');
    await page.locator('nav.top-bar .side .theme-toggle').click();
    expect(await page.evaluate(() => [document.documentElement.className, localStorage.getItem('theme')])).toEqual(['dark', 'dark']);
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.className)).toBe('dark');
    await page.locator('.theme-toggle').click();
  });
});
