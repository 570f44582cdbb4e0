/**
 * The landmark table (components/app/anchors.ts) against the stock UI, loaded through Perch in Chromium:
 * fails when a selector of ANCHORS matches nothing where it should exist — sidebar, topBarActions and
 * page on a normal route, promoContent on every Enterprise demo route of both upsell templates — for
 * each UI generation the Kestra double imitates (2.0 and 1.x, rendered as the Kestra source files cited
 * in docs/compatibility.md render them). Also: no demo route shows Kestra's sales page to an owner,
 * Perch's screens stay reachable when 2.0's sidebar is folded or its items hidden, a viewer's page load
 * meets no refusal (no error pop-up, no setup page), and the fallback: with a landmark missing, the
 * floating `#perch-fallback` button appears and a console warning names the missing anchor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { ANCHORS, type AnchorName, type UiVersion } from '../../components/app/anchors.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { collectConsole, perchRoots, perchStarted, signIn, stackInChromium, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, grantRole } from '../support/perch.js';

const haveChromium = await chromiumAvailable();
/** components/app/feature-manager.tsx ANCHOR_WAIT_MS (a .tsx module this Node project cannot import). */
const ANCHOR_WAIT_MS = 3_000;

const NORMAL_ROUTES = ['dashboards', 'flows', 'executions', 'logs', 'namespaces', 'kv', 'secrets', 'admin/triggers'];
/** Demo routes on demo/Layout.vue → EmptyTemplate.vue (both generations), with the Perch screen each gets. */
const TEMPLATE_PROMOS: Record<string, string> = {
  apps: 'apps-page',
  tests: 'not-in-perch-page',
  assets: 'not-in-perch-page',
  'admin/iam': 'iam-page',
  'admin/auditlogs': 'audit-log-page',
  'admin/tenants/list': 'tenants-page',
  'admin/instance': 'instance-page',
};
/** 2.0's newer demo routes, on layout/empty/Empty.vue. */
const EMPTY_PROMOS: Record<string, string> = {
  cases: 'not-in-perch-page',
  'admin/quotas': 'not-in-perch-page',
  'admin/policies': 'not-in-perch-page',
  'promote/targets': 'not-in-perch-page',
  'dashboards/new': 'not-in-perch-page',
  'dashboards/ops/edit': 'not-in-perch-page',
};
const promosOf = (version: UiVersion): Record<string, string> => (version === '2.0' ? { ...TEMPLATE_PROMOS, ...EMPTY_PROMOS } : TEMPLATE_PROMOS);
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
      for (const route of Object.keys(promosOf(version))) {
        await page.goto(`${stack.perch.url}${uiPath(route)}`);
        await page.waitForSelector('#app main');
        const counts = await countMatches(page, { promoContent: table.promoContent, sidebar: table.sidebar, topBarActions: table.topBarActions });
        for (const [anchor, n] of Object.entries(counts)) if (!n) missing.push(`${anchor} (${table[anchor as AnchorName]}) on ${route}`);
      }
      expect(missing).toEqual([]);
      // The other generation's top bar is not there: the version is told apart by its landmarks.
      const other = ANCHORS[version === '2.0' ? '1.x' : '2.0'];
      expect((await countMatches(page, { topBarActions: other.topBarActions })).topBarActions).toBe(0);
    });

    it('puts a Perch screen, never Kestra’s sales page, on every demo route', async () => {
      const shown: Record<string, string> = {};
      for (const [route, feature] of Object.entries(promosOf(version))) {
        await page.goto(`${stack.perch.url}${uiPath(route)}`);
        await page.waitForSelector(`perch-root[data-feature=${feature}]`, { state: 'attached' });
        shown[route] = await page.evaluate((selector) => {
          const promo = document.querySelector<HTMLElement>(selector)!;
          const before = promo.previousElementSibling as HTMLElement | null;
          return getComputedStyle(promo).display === 'none' ? (before?.dataset.feature ?? 'nothing') : 'sales page';
        }, ANCHORS[version].promoContent);
      }
      expect(shown).toEqual(promosOf(version));
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

describe.skipIf(!haveChromium)('Kestra 2.0’s sidebar folded or customised, and a viewer’s page load', () => {
  const env = stackInChromium();

  it('keeps Perch’s screens reachable from the top bar’s menu when the sidebar is folded to zero width', async () => {
    const page = await env.browser.newPage();
    await signIn(page, env.stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/flows');
    await page.waitForSelector('perch-root[data-feature=sidebar-entries]', { state: 'attached' });
    await page.getByRole('button', { name: 'Toggle menu' }).click();
    await expect.poll(() => page.locator('#side-menu').evaluate((el) => el.getBoundingClientRect().width)).toBe(0);
    // Perch's section folded away with it: a click there would land on something else.
    await expect(page.locator('#perch-sidebar a').first().click({ trial: true, timeout: 1_000 })).rejects.toThrow();
    await page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: 'Audit logs' }).click();
    await page.waitForFunction(() => location.pathname === '/ui/main/admin/auditlogs');
    await page.locator('#perch-audit').waitFor();
    await page.close();
  });

  it('keeps Perch’s section in the sidebar when people hide every Kestra item', async () => {
    const page = await env.browser.newPage();
    await page.addInitScript(() => {
      (window as unknown as { KESTRA_DOUBLE_HIDDEN_ITEMS: string[] }).KESTRA_DOUBLE_HIDDEN_ITEMS = ['Dashboards', 'Flows', 'Apps', 'Executions', 'Logs', 'Tests', 'Assets', 'Namespaces', 'KV Store', 'Secrets', 'Triggers', 'Audit Logs', 'IAM', 'Instance', 'Tenants'];
    });
    await signIn(page, env.stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/flows');
    await page.locator('#side-menu #perch-sidebar').getByRole('link', { name: 'IAM' }).waitFor();
    expect(await page.locator('.ks-sidebar-item').count()).toBe(0);
    expect(await page.locator('#perch-fallback').count()).toBe(0);
    await page.close();
  });

  it('answers a viewer’s page load without a refusal: no error pop-up, no setup page, the bell’s calls and the pages’ charts reach Kestra', async () => {
    const admin = new Browser(env.stack.perch);
    await admin.login();
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'viewer@perch.test', password: 'a good long password' } });
    expect(created.status).toBe(201);
    await grantRole(env.stack.perch.perch, created.json.id, 'viewer', 'company.team');
    // A flow the viewer sees and one beside it: the flows list draws a statistics chart per visible row.
    for (const ns of ['company.team', 'company.team2']) {
      const saved = await admin.fetch('POST', '/api/v1/main/flows', { body: `id: hello\nnamespace: ${ns}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`, headers: { 'content-type': 'application/x-yaml' } });
      expect(saved.status).toBe(200);
    }

    const context = await launchChromium();
    try {
      const page = await context.newPage();
      const answers: string[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname.startsWith('/api/')) answers.push(`${r.status()} ${new URL(r.url()).pathname}`);
      });
      await signIn(page, env.stack.perch.url, 'viewer@perch.test', 'a good long password', '/ui/main/flows');
      env.stack.kestra.clear();
      for (const route of ['flows', 'dashboards', 'executions', 'namespaces', 'cases']) {
        await page.goto(`${env.stack.perch.url}/ui/main/${route}`);
        await expect.poll(() => page.evaluate(() => (window as unknown as { __kestraDouble: { apiCalls: unknown[] } }).__kestraDouble.apiCalls.length), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
        expect(new URL(page.url()).pathname, route).toBe(`/ui/main/${route}`);
        expect(await page.locator('.el-notification').count(), route).toBe(0);
      }
      expect(answers.filter((a) => a.startsWith('403 ') || a.startsWith('401 '))).toEqual([]);
      const forwarded = env.stack.kestra.requests.map((r) => `${r.method} ${r.url}`);
      for (const call of ['GET /api/v1/configs', 'GET /api/v1/notifications/history?limit=20', 'GET /api/v1/notifications/unread-count', 'GET /api/v1/notifications/follow', 'GET /api/v1/main/dashboards/settings/default-dashboards']) {
        expect(forwarded, call).toContain(call);
      }
      // The charts reached Kestra bounded to the viewer's namespace, the sibling's never.
      const charts = env.stack.kestra.requests.filter((r) => r.url === '/api/v1/main/dashboards/charts/preview').map((r) => JSON.parse(r.body.toString('utf8')) as { chart: string; globalFilter: { filters: Array<{ field: string; value: unknown }> } });
      expect(charts).toHaveLength(2);
      expect(charts.map((c) => c.globalFilter.filters.filter((f) => f.field === 'namespace').map((f) => f.value))).toEqual([['company.team'], ['company.team']]);
      expect(charts.some((c) => c.chart.includes('company.team2'))).toBe(false);

      // An admin makes a stored dashboard the tenant's home (set on Kestra: Perch answers that EE operation 501):
      // the viewer's home page reads it and draws its chart, bounded to company.team, without a pop-up.
      const stored = 'id: ops\ntitle: Ops\ncharts:\n  - id: per_namespace\n    type: io.kestra.plugin.core.dashboard.chart.Table\n    data:\n      type: io.kestra.plugin.core.dashboard.data.Executions\n      columns:\n        namespace:\n          field: NAMESPACE\n        total:\n          agg: COUNT\n';
      expect((await admin.fetch('POST', '/api/v1/main/dashboards', { body: stored, headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
      const setDefault = await fetch(`${env.stack.kestra.url}/api/v1/tenants/main/settings/default-dashboards`, { method: 'POST', headers: { authorization: env.stack.kestra.authorization, 'content-type': 'application/json' }, body: JSON.stringify({ defaultHomeDashboard: 'ops' }) });
      expect(setDefault.status).toBe(200);
      env.stack.kestra.clear();
      answers.length = 0;
      await page.goto(`${env.stack.perch.url}/ui/main/dashboards`);
      await expect.poll(() => env.stack.kestra.requests.filter((r) => r.url === '/api/v1/main/dashboards/ops/charts/per_namespace').length, { timeout: 10_000 }).toBe(1);
      expect(await page.locator('.el-notification').count()).toBe(0);
      expect(answers.filter((a) => a.startsWith('403 ') || a.startsWith('401 ') || a.startsWith('404 '))).toEqual([]);
      const drawn = env.stack.kestra.requests.find((r) => r.url === '/api/v1/main/dashboards/ops/charts/per_namespace')!;
      expect((JSON.parse(drawn.body.toString('utf8')) as { filters: unknown[] }).filters).toContainEqual({ field: 'namespace', operation: 'PREFIX', value: 'company.team' });
    } finally {
      await context.close();
    }
  });
});

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
    await page.locator('#side-menu a.ks-sidebar-item[href="/ui/main/flows"]').click();
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
