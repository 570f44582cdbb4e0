/**
 * The landmark table (components/app/anchors.ts) against the stock UI, loaded through Perch in Chromium:
 * fails when a selector of ANCHORS matches nothing where it should exist — sidebar, topBarActions and
 * page on a normal route, promoContent on an Enterprise promo route — for each UI generation the
 * Kestra double imitates (2.0 and 1.x). Also checks the fallback: with a landmark missing, the
 * floating `#perch-fallback` button appears and a console warning names the missing anchor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { ANCHORS, type AnchorName, type UiVersion } from '../../components/app/anchors.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { collectConsole, perchRoots, perchStarted, signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/perch.js';

const haveChromium = await chromiumAvailable();
/** components/app/feature-manager.tsx ANCHOR_WAIT_MS (a .tsx module this Node project cannot import). */
const ANCHOR_WAIT_MS = 3_000;

const NORMAL_ROUTES = ['dashboards', 'flows', 'executions', 'logs', 'namespaces', 'kv', 'secrets', 'admin/triggers'];
const PROMO_ROUTES = ['apps', 'admin/iam', 'admin/auditlogs', 'admin/tenants/list', 'admin/instance'];
const ON_EVERY_PAGE: AnchorName[] = ['sidebar', 'topBarActions', 'page'];

/** How many elements of the page (outside Perch's shadow roots) each selector matches. */
function countMatches(page: Page, selectors: Record<string, string>): Promise<Record<string, number>> {
  return page.evaluate((s) => Object.fromEntries(Object.entries(s).map(([name, selector]) => [name, document.querySelectorAll(selector).length])), selectors);
}

for (const version of ['2.0', '1.x'] as const satisfies readonly UiVersion[]) {
  const uiPath = (route: string) => (version === '1.x' ? `/ui/${route}` : `/ui/main/${route}`);

  describe.skipIf(!haveChromium)(`Perch's landmarks in the Kestra ${version} UI`, () => {
    let stack: Stack;
    let browser: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      stack = await startStack({ ui: version });
      browser = await launchChromium();
      page = await browser.newPage();
      await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, uiPath('flows'));
      await perchStarted(page);
    });
    afterAll(async () => {
      await browser?.close();
      await stack?.close();
    });

    it('finds every anchor of its table where it should exist', async () => {
      const table = ANCHORS[version];
      const missing: string[] = [];
      for (const route of NORMAL_ROUTES) {
        await page.goto(`${stack.perch.url}${uiPath(route)}`);
        await page.waitForSelector('#app main');
        const counts = await countMatches(page, Object.fromEntries(ON_EVERY_PAGE.map((a) => [a, table[a]])));
        for (const anchor of ON_EVERY_PAGE) if (!counts[anchor]) missing.push(`${anchor} (${table[anchor]}) on ${route}`);
        // Not a promo page: nothing there for the promo screens to replace.
        expect((await countMatches(page, { promo: table.promoContent })).promo, route).toBe(0);
      }
      for (const route of PROMO_ROUTES) {
        await page.goto(`${stack.perch.url}${uiPath(route)}`);
        await page.waitForSelector('#app main');
        const counts = await countMatches(page, { promoContent: table.promoContent, sidebar: table.sidebar, topBarActions: table.topBarActions });
        for (const [anchor, n] of Object.entries(counts)) if (!n) missing.push(`${anchor} (${table[anchor as AnchorName]}) on ${route}`);
      }
      expect(missing).toEqual([]);
      // The other generation's table does not fit: the version is told apart by its landmarks.
      const other = ANCHORS[version === '2.0' ? '1.x' : '2.0'];
      expect((await countMatches(page, { sidebar: other.sidebar })).sidebar).toBe(0);
    });

    it('mounts the screens at those anchors (the feature manager picks this table)', async () => {
      await page.goto(`${stack.perch.url}${uiPath('admin/iam')}`);
      await page.waitForSelector('perch-root[data-feature=iam-page]', { state: 'attached' });
      await page.waitForSelector('perch-root[data-feature=sidebar-entries]', { state: 'attached' });
      await page.waitForSelector('perch-root[data-feature=top-bar]', { state: 'attached' });
      const placed = await page.evaluate((table) => ({
        sidebar: !!document.querySelector(table.sidebar)?.querySelector('perch-root[data-feature=sidebar-entries]'),
        topBar: !!document.querySelector(table.topBarActions)?.querySelector('perch-root[data-feature=top-bar]'),
        // `replace`: Perch's root right before the hidden upsell.
        iam: document.querySelector(table.promoContent)?.previousElementSibling?.matches('perch-root[data-feature=iam-page]') ?? false,
        promoHidden: getComputedStyle(document.querySelector(table.promoContent)!).display === 'none',
      }), ANCHORS[version]);
      expect(placed).toEqual({ sidebar: true, topBar: true, iam: true, promoHidden: true });
      expect(await page.locator('#perch-iam').isVisible()).toBe(true);
      expect(await page.locator('#perch-fallback').count()).toBe(0);
      await page.screenshot({ path: await screenshotPath(`ext-anchors-${version}`) });
    });
  });
}

describe.skipIf(!haveChromium)('when a landmark is missing', () => {
  let stack: Stack;
  let browser: BrowserContext;

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchChromium();
    const page = await browser.newPage();
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.close();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('offers the screen from the floating Perch button and warns naming the anchor', async () => {
    const page = await browser.newPage();
    // Double-only hook: the stand-in renders its upsell without the landmark class, as if Kestra moved it.
    await page.addInitScript(() => {
      (window as unknown as { KESTRA_DOUBLE_OMIT: string[] }).KESTRA_DOUBLE_OMIT = ['promo'];
    });
    const lines = collectConsole(page);
    const started = Date.now();
    await page.goto(`${stack.perch.url}/ui/main/admin/iam`);
    await perchStarted(page);
    expect(await page.locator('section.moved-upsell').count()).toBe(1);
    await page.waitForSelector('#perch-fallback', { timeout: ANCHOR_WAIT_MS + 5_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(ANCHOR_WAIT_MS - 500);
    expect(await perchRoots(page)).not.toContain('iam-page');
    const warnings = lines.filter((l) => l.type === 'warning' && l.text.startsWith('Perch:'));
    expect(warnings.map((w) => w.text)).toEqual([expect.stringContaining(`"iam-page"`)]);
    expect(warnings[0]!.text).toContain(ANCHORS['2.0'].promoContent);

    // The screen is still reachable: the button's menu opens it in a floating panel.
    await page.locator('#perch-fallback').click();
    await page.getByRole('menuitem', { name: 'IAM' }).click();
    await page.locator('#perch-iam').waitFor();
    await page.screenshot({ path: await screenshotPath('ext-anchors-fallback') });

    // Back on a page whose landmarks are all there, the button goes away.
    await page.locator('#app aside a#flows').click();
    await page.waitForSelector('#perch-fallback', { state: 'detached' });
    await page.close();
  });

  it('warns naming the top bar’s anchor when the top bar has no actions area', async () => {
    const page = await browser.newPage();
    await page.addInitScript(() => {
      (window as unknown as { KESTRA_DOUBLE_OMIT: string[] }).KESTRA_DOUBLE_OMIT = ['topBar'];
    });
    const lines = collectConsole(page);
    await page.goto(`${stack.perch.url}/ui/main/flows`);
    await page.waitForSelector('#perch-fallback', { timeout: ANCHOR_WAIT_MS + 5_000 });
    const warnings = lines.filter((l) => l.type === 'warning' && l.text.startsWith('Perch:')).map((l) => l.text);
    expect(warnings).toEqual([expect.stringContaining('"top-bar"')]);
    expect(warnings[0]).toContain(ANCHORS['2.0'].topBarActions);
    // The other screens of the page mounted normally.
    expect(await perchRoots(page)).toEqual(expect.arrayContaining(['sidebar-entries']));
    await page.close();
  });
});
