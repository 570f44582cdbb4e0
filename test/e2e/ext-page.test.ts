/**
 * How Perch's screens live in Kestra's page (server-injected bundle, Chromium): styles do not cross
 * the shadow boundary either way, Perch follows Kestra's theme, and screens are torn down and
 * re-mounted as the single-page app navigates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { clickKestraMenu, perchRoots, perchStarted, signIn, startStack, type PerchOnPage, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/perch.js';

const haveChromium = await chromiumAvailable();

/**
 * Kestra's elements whose look Perch must not change (the Enterprise menu items are left out: for
 * people allowed to use their screens Perch unlocks them on purpose, components/shell/stock-menu.ts).
 */
const KESTRA_ELEMENTS = ['html', 'body', '#app', '#side-menu', 'a.ks-sidebar-item[href="/ui/main/flows"]', 'a.ks-sidebar-item[href="/ui/main/executions"]', '.ks-topnavbar', '#topnav-title-slot', '#topnav-actions-slot', '.theme-toggle', '.content'];
const PROPERTIES = [
  'color', 'background-color', 'font-family', 'font-size', 'font-weight', 'line-height', 'letter-spacing', 'text-transform',
  'text-decoration-line', 'display', 'box-sizing', 'margin-top', 'margin-right', 'margin-bottom', 'margin-left', 'padding-top',
  'padding-right', 'padding-bottom', 'padding-left', 'border-top-width', 'border-bottom-color', 'border-radius', 'cursor',
  'opacity', 'visibility', 'position', 'z-index', 'white-space', 'gap', 'align-items',
];

function kestraStyles(page: Page): Promise<Record<string, Record<string, string> | null>> {
  return page.evaluate(({ elements, properties }) => Object.fromEntries(elements.map((selector) => {
    const el = document.querySelector(selector);
    if (!el) return [selector, null];
    const style = getComputedStyle(el);
    return [selector, Object.fromEntries(properties.map((p) => [p, style.getPropertyValue(p)]))];
  })), { elements: KESTRA_ELEMENTS, properties: PROPERTIES });
}

/** Classes of the `.perch` container inside each Perch root, by feature. */
function perchThemes(page: Page): Promise<Record<string, boolean>> {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('perch-root')].map((root) => [
    (root as HTMLElement).dataset.feature!,
    root.shadowRoot?.querySelector('.perch')?.classList.contains('dark') ?? false,
  ])));
}

describe.skipIf(!haveChromium)('Perch’s screens inside Kestra’s page', () => {
  let stack: Stack;
  let browser: BrowserContext;

  beforeAll(async () => {
    stack = await startStack({ perchUi: { banners: [{ id: 'hello', message: 'Planned upgrade on Friday' }] } });
    browser = await launchChromium();
    const page = await browser.newPage();
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.close();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  async function openWithPerch(path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${stack.perch.url}${path}`);
    await perchStarted(page);
    await page.locator('#perch-top-bar').waitFor();
    // The stock menu's Enterprise items, Perch's now (components/shell/stock-menu.ts).
    await page.locator('#app [data-perch-screen]').first().waitFor();
    return page;
  }

  /** The same page with Perch's script blocked: Kestra's page alone. */
  async function openWithoutPerch(path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.route('**/perch/ext/perch.js', (route) => route.abort());
    await page.goto(`${stack.perch.url}${path}`);
    // The actions slot is empty without Perch (zero size): attached, not visible.
    await page.waitForSelector('#app #topnav-actions-slot', { state: 'attached' });
    await page.waitForTimeout(300);
    expect(await page.locator('perch-root').count()).toBe(0);
    return page;
  }

  it('leaves Kestra’s computed styles as they are and adds no stylesheet to the document', async () => {
    for (const path of ['/ui/main/flows', '/ui/main/admin/iam']) {
      const alone = await openWithoutPerch(path);
      const withPerch = await openWithPerch(path);
      if (path.endsWith('iam')) await withPerch.locator('#perch-iam').waitFor();
      expect(await perchRoots(withPerch)).toEqual(expect.arrayContaining(['banner', 'top-bar', 'sidebar-entries']));
      const before = await kestraStyles(alone);
      expect(Object.values(before).every((s) => s !== null)).toBe(true);
      expect(await kestraStyles(withPerch), path).toEqual(before);
      const sheets = (p: Page) => p.evaluate(() => ({ sheets: document.styleSheets.length, adopted: document.adoptedStyleSheets.length }));
      expect(await sheets(withPerch)).toEqual(await sheets(alone));
      await alone.close();
      await withPerch.close();
    }
  });

  it('keeps Kestra’s global rules out of Perch’s screens', async () => {
    const page = await openWithPerch('/ui/main/flows');
    const perchButton = page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' });
    const dismiss = page.locator('perch-root[data-feature=banner]').getByRole('button', { name: /dismiss/i });
    const look = (button: typeof perchButton) => button.evaluate((el) => {
      const s = getComputedStyle(el);
      return { color: s.color, background: s.backgroundColor, font: s.fontFamily, spacing: s.letterSpacing, size: s.fontSize };
    });
    const before = { account: await look(perchButton), dismiss: await look(dismiss) };
    await page.addStyleTag({
      content: `button { color: rgb(255, 0, 0) !important; background: rgb(255, 0, 0) !important; font-family: serif !important; font-size: 40px !important; }
        body, #app, #side-menu, .ks-topnavbar, #topnav-actions-slot { color: rgb(255, 0, 0); font-family: serif; letter-spacing: 7px; font-size: 40px; }
        perch-root div { display: none !important; }`,
    });
    // The rule does reach Kestra's own button…
    expect(await page.locator('.theme-toggle').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(255, 0, 0)');
    // …and not Perch's (neither by selector nor by inheritance through the host).
    expect({ account: await look(perchButton), dismiss: await look(dismiss) }).toEqual(before);
    expect(before.account.color).not.toBe('rgb(255, 0, 0)');
    expect(await perchButton.isVisible()).toBe(true);
    await page.close();
  });

  it('follows Kestra’s theme: switching it flips Perch’s roots to dark and back', async () => {
    const page = await openWithPerch('/ui/main/admin/iam');
    await page.locator('#perch-iam').waitFor();
    const themes = await perchThemes(page);
    expect(Object.keys(themes)).toEqual(expect.arrayContaining(['banner', 'top-bar', 'sidebar-entries', 'iam-page']));
    expect(Object.values(themes).every((dark) => !dark)).toBe(true);
    const bannerBackground = () => page.locator('[data-banner=hello]').evaluate((el) => getComputedStyle(el).backgroundColor);
    const light = await bannerBackground();

    await page.locator('.theme-toggle').click();
    expect(await page.evaluate(() => document.documentElement.className)).toBe('dark');
    await expect.poll(async () => Object.values(await perchThemes(page)).every((dark) => dark)).toBe(true);
    expect(await bannerBackground()).not.toBe(light);
    await page.screenshot({ path: await screenshotPath('ext-page-dark') });

    // Kestra remembers the theme: a new page starts dark, and so do Perch's screens.
    const next = await openWithPerch('/ui/main/flows');
    expect(Object.values(await perchThemes(next)).every((dark) => dark)).toBe(true);
    await next.locator('.theme-toggle').click();
    await expect.poll(async () => Object.values(await perchThemes(next)).some((dark) => dark)).toBe(false);
    await next.close();
    await page.close();
  });

  it('tears a screen down when the SPA leaves its route, restores the promo, and re-mounts on return', async () => {
    const page = await openWithPerch('/ui/main/admin/iam');
    await page.locator('#perch-iam').waitFor();
    const mounted = () => page.evaluate(() => (window as unknown as { __perch: PerchOnPage }).__perch.manager.mountedIds());
    expect(await mounted()).toContain('iam-page');
    const promo = await page.$('section.empty-template');
    expect(await promo!.evaluate((el) => (el as HTMLElement).style.display)).toBe('none');
    const topBarHost = await page.$('perch-root[data-feature=top-bar]');

    await clickKestraMenu(page, '/ui/main/flows');
    await page.waitForSelector('perch-root[data-feature=iam-page]', { state: 'detached' });
    expect(await mounted()).not.toContain('iam-page');
    expect(await page.locator('#perch-iam').count()).toBe(0);
    // The element Perch hid is given back as it was.
    expect(await promo!.evaluate((el) => (el as HTMLElement).style.display)).toBe('');
    // 2.0's top bar is the layout's (AppTopNavBar.vue), not the page's: Perch's menu stays where it was.
    await page.locator('#topnav-actions-slot #perch-top-bar').waitFor();
    expect(await topBarHost!.evaluate((el) => el.isConnected && el.parentElement?.id === 'topnav-actions-slot')).toBe(true);

    await page.goBack();
    await page.waitForFunction(() => location.pathname === '/ui/main/admin/iam');
    await page.locator('#perch-iam').waitFor();
    expect(await page.locator('perch-root[data-feature=iam-page]').count()).toBe(1);
    expect(await page.locator('section.empty-template').evaluate((el) => getComputedStyle(el).display)).toBe('none');

    // Between two screens (the stock menu's item, Perch's now): one goes, the other comes, no reload.
    await page.evaluate(() => ((window as unknown as { reloadMarker: boolean }).reloadMarker = true));
    await page.locator('#app a[data-perch-screen=audit]').first().click();
    await page.locator('#perch-audit').waitFor();
    expect(await perchRoots(page)).not.toContain('iam-page');
    expect(await page.evaluate(() => (window as unknown as { reloadMarker?: boolean }).reloadMarker)).toBe(true);
    await page.close();
  });
});
