/**
 * The double's stock-UI stand-in (ui/index-double.js): served as Kestra serves its assets, and
 * behaving like Kestra's single-page app where Perch depends on it (history routing, the
 * `KestraRouterAfterEach` event, the theme on <html>, the 2.0 and 1.x landmarks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
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
  let k1: KestraDouble;
  let browser: BrowserContext;
  beforeAll(async () => {
    k = await startKestraDouble({ validate: false });
    k1 = await startKestraDouble({ validate: false, ui: '1.x' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await k?.close();
    await k1?.close();
  });

  /** A page signed in to the double with its basic credentials, as Perch is (else /configs would prompt for them). */
  async function newPage(double = k): Promise<Page> {
    const page = await browser.newPage();
    await page.setExtraHTTPHeaders({ authorization: double.authorization });
    return page;
  }
  const item = (page: Page, route: string) => page.locator(`#side-menu a.ks-sidebar-item[href="/ui/main/${route}"]`);

  it('routes in history mode and dispatches KestraRouterAfterEach after every navigation', async () => {
    const page = await newPage();
    await page.addInitScript(() => {
      const w = window as unknown as { routerEvents: string[] };
      w.routerEvents = [];
      addEventListener('KestraRouterAfterEach', () => w.routerEvents.push(location.pathname));
    });
    await page.goto(`${k.url}/ui/main/flows`);
    const events = () => page.evaluate(() => (window as unknown as { routerEvents: string[] }).routerEvents);
    await expect.poll(events, { timeout: 10_000 }).toEqual(['/ui/main/flows']);

    await page.evaluate(() => ((window as unknown as { marker: boolean }).marker = true));
    await item(page, 'admin/iam').click();
    expect(new URL(page.url()).pathname).toBe('/ui/main/admin/iam');
    expect(await page.locator('#topnav-title-slot').textContent()).toBe('IAM');
    await page.goBack();
    expect(new URL(page.url()).pathname).toBe('/ui/main/flows');
    expect(await events()).toEqual(['/ui/main/flows', '/ui/main/admin/iam', '/ui/main/flows']);
    // No reload happened.
    expect(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker)).toBe(true);
  });

  it('renders the 2.0 landmarks as SideBar.vue, AppTopNavBar.vue and the demo pages do', async () => {
    const page = await newPage();
    await page.goto(`${k.url}/ui/main/flows`);
    // KsSideBar#side-menu: items are KsSideBarItem links without ids, top-level ones in .top-level-link.
    const items = await page.locator('#app-container > #app > #side-menu a.ks-sidebar-item').evaluateAll((as) =>
      as.map((a) => `${a.getAttribute('href')}${a.classList.contains('is-locked') ? '*' : ''}${a.id ? `#${a.id}` : ''}`));
    expect(items).toContain('/ui/main/flows');
    expect(items).toContain('/ui/main/admin/iam*');
    expect(items.some((i) => i.includes('#'))).toBe(false);
    expect(await page.locator('#side-menu .top-level-link > a.ks-sidebar-item[href="/ui/main/flows"]').count()).toBe(1);
    expect(await page.locator('a.ks-sidebar-item.is-active').getAttribute('href')).toBe('/ui/main/flows');
    // The design system's markup at c94e7743: KsSideBar is a nav with header, body and footer; a locked item
    // carries LockOutline (.ks-sidebar-item__lock); KsTopNavBar is a nav whose right side (.side) holds the slot.
    expect(await page.locator('nav#side-menu.ks-sidebar > .ks-sidebar__body .ks-sidebar-section .ks-sidebar-section__body-inner > a.ks-sidebar-item').count()).toBeGreaterThan(0);
    expect(await page.locator('a.ks-sidebar-item.is-locked[href="/ui/main/admin/iam"] > .ks-sidebar-item__lock[role="img"]').count()).toBe(1);
    expect(await page.locator('nav.ks-topnavbar > .side > #topnav-actions-slot').count()).toBe(1);
    // One KsTopNavBar with its three slots; the actions slot carries AppTopNavBar.vue's classes.
    expect(await page.locator('#topnav-title-slot').textContent()).toBe('Flows');
    expect(await page.locator('#topnav-description-slot').count()).toBe(1);
    expect(await page.locator('#topnav-actions-slot').getAttribute('class')).toBe('d-flex gap-2 align-items-center');
    expect(await page.locator('nav.top-bar').count()).toBe(0);
    // The top bar stays across navigations (AppTopNavBar is part of the layout).
    const bar = await page.locator('#topnav-actions-slot').elementHandle();
    await item(page, 'executions').click();
    expect(await bar!.evaluate((el) => el.isConnected)).toBe(true);

    // Older demo pages: demo/Layout.vue → EmptyTemplate.vue; newer ones: layout/empty/Empty.vue.
    await item(page, 'admin/iam').click();
    expect(await page.locator('#app section.container.empty-template .enterprise-tag').textContent()).toBe('Enterprise Edition');
    expect(await page.locator('section.row.empty').count()).toBe(0);
    for (const route of ['cases', 'admin/quotas', 'admin/policies', 'promote/targets', 'dashboards/new', 'dashboards/ops/edit']) {
      await page.evaluate((r) => (window as unknown as { __kestraDouble: { navigate(u: string): void } }).__kestraDouble.navigate(`/ui/main/${r}`), route);
      expect(await page.locator('#app section.row.empty > div.col-sm-12 > section.ks-empty-state .ks-empty-state__actions a').textContent(), route).toBe('Contact sales');
      expect(await page.locator('section.empty-template').count(), route).toBe(0);
    }
  });

  it('folds the sidebar to zero width and unfolds it from the top bar; hidden items are left out', async () => {
    const page = await newPage();
    await page.addInitScript(() => {
      (window as unknown as { KESTRA_DOUBLE_HIDDEN_ITEMS: string[] }).KESTRA_DOUBLE_HIDDEN_ITEMS = ['Executions'];
    });
    await page.goto(`${k.url}/ui/main/flows`);
    expect(await item(page, 'executions').count()).toBe(0);
    await page.getByRole('button', { name: 'Toggle menu' }).click();
    await expect.poll(() => page.locator('#side-menu').evaluate((el) => [el.classList.contains('is-collapsed'), el.getBoundingClientRect().width])).toEqual([true, 0]);
    await page.getByRole('button', { name: 'Open menu' }).click();
    expect(await page.locator('#side-menu').evaluate((el) => el.classList.contains('is-collapsed'))).toBe(false);
  });

  it('calls /configs and the notification bell at boot, and reacts to failures as Kestra’s UI does', async () => {
    const page = await newPage();
    await page.goto(`${k.url}/ui/main/flows`);
    const calls = () => page.evaluate(() => (window as unknown as { __kestraDouble: { apiCalls: { url: string }[] } }).__kestraDouble.apiCalls.map((c) => c.url));
    await expect.poll(calls, { timeout: 10_000 }).toEqual(expect.arrayContaining(['/api/v1/configs/login', '/api/v1/configs', '/api/v1/notifications/history?limit=20', '/api/v1/notifications/unread-count', '/api/v1/notifications/follow']));
    expect(k.requests.map((r) => r.url)).toEqual(expect.arrayContaining(['/api/v1/configs', '/api/v1/notifications/unread-count', '/api/v1/notifications/follow']));

    // A 403 with a body becomes an error pop-up; a /configs failure other than 401 goes to the setup page.
    const refused = await browser.newPage();
    await refused.route('**/api/v1/**', (route) => route.fulfill({ status: 403, contentType: 'application/json', body: '{"message":"refused"}' }));
    await refused.goto(`${k.url}/ui/main/flows`);
    await refused.waitForURL((url) => url.pathname === '/ui/main/setup');
    expect(await refused.locator('.el-notification').first().textContent()).toContain('refused');

    // 2.0 at c94e7743 reads isBasicAuthInitialized from /configs itself: a /configs saying false goes to setup.
    const unset = await newPage();
    await unset.route('**/api/v1/configs', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"isBasicAuthInitialized":false}' }));
    await unset.goto(`${k.url}/ui/main/flows`);
    await unset.waitForURL((url) => url.pathname === '/ui/main/setup', { timeout: 10_000 });
  });

  it('renders the 1.x landmarks: vue-sidebar-menu with ids, the per-page TopNavBar, EmptyTemplate upsells', async () => {
    const page = await newPage(k1);
    await page.goto(`${k1.url}/ui/flows`);
    expect(await page.locator('#side-menu.v-sidebar-menu .vsm--item a.vsm--link.vsm--link_level-1#iam .lock-icon').count()).toBe(1);
    expect(await page.locator('a.vsm--link_active').getAttribute('id')).toBe('flows');
    expect(await page.locator('nav.top-bar .side').count()).toBeGreaterThan(0);
    expect(await page.locator('#topnav-actions-slot, .ks-sidebar-item').count()).toBe(0);
    await page.locator('#side-menu a#iam').click();
    expect(new URL(page.url()).pathname).toBe('/ui/admin/iam');
    expect(await page.locator('nav.top-bar h1').textContent()).toBe('IAM');
    expect(await page.locator('section.container.empty-template').count()).toBe(1);
  });

  it('puts the theme on <html> from localStorage and switches it from the top bar', async () => {
    const page = await newPage();
    await page.goto(`${k.url}/ui/main/flows`);
    expect(await page.evaluate(() => document.documentElement.className)).toBe('light');
    await page.locator('.ks-topnavbar .theme-toggle').click();
    expect(await page.evaluate(() => [document.documentElement.className, localStorage.getItem('theme')])).toEqual(['dark', 'dark']);
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.className)).toBe('dark');
    await page.locator('.theme-toggle').click();
  });
});
