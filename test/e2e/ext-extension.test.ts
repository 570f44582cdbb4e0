/**
 * Perch's screens from the browser extension (the Chrome build loaded unpacked), with Perch's own
 * injection turned off (ui.inject false): the options page sets the Perch address, the background
 * registers the content script for that origin, and the same scenario as the injected bundle runs
 * (test/support/ext-scenario.ts) — mounted by the content script (`window.__perch.source ===
 * 'extension'`, no `<script data-perch-screens>` in the page).
 *
 * `chrome.permissions.request()` shows a native prompt an automated browser cannot answer, so the
 * extension loaded here is a copy of .output/chrome-mv3 whose manifest pre-grants
 * `http://127.0.0.1/*` (prepareTestExtension): request() then resolves true without a prompt.
 * Every script is the production build's; test/ui/extension-build.test.ts asserts the production
 * manifest has no host_permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { chromiumAvailable, screenshotPath } from '../support/chromium.js';
import { launchWithExtension, prepareTestExtension, startStack, type Stack } from '../support/ext-e2e.js';
import { runIamScenario } from '../support/ext-scenario.js';

const haveChromium = await chromiumAvailable();

/** The extension APIs the service worker is asked about (run there, typed here). */
declare const chrome: {
  scripting: { getRegisteredContentScripts(): Promise<{ id: string; matches?: string[]; js?: string[]; world?: string }[]> };
  storage: { local: { get(key: string): Promise<Record<string, unknown>> } };
};

describe.skipIf(!haveChromium)('Perch’s screens from the browser extension', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let extensionId: string;

  beforeAll(async () => {
    stack = await startStack({ perchUi: { inject: false } });
    const { dir } = await prepareTestExtension();
    ({ context: browser, extensionId } = await launchWithExtension(dir));
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('is set up on the options page for the Perch origin only', async () => {
    const worker = browser.serviceWorkers()[0]!;
    expect(await worker.evaluate(() => chrome.scripting.getRegisteredContentScripts())).toEqual([]);

    const options = await browser.newPage();
    await options.goto(`chrome-extension://${extensionId}/options.html`);
    await options.getByLabel('Perch address').fill(`${stack.perch.url}/ui/main/flows`);
    await options.getByRole('button', { name: 'Save and allow access' }).click();
    await expect.poll(() => options.getByRole('status').textContent()).toBe(`Perch screens are active on ${stack.perch.url}.`);
    await options.screenshot({ path: await screenshotPath('ext-extension-options-light') });
    await options.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(() => options.locator('main').evaluate((main) => main.classList.contains('dark'))).toBe(true);
    await options.screenshot({ path: await screenshotPath('ext-extension-options-dark') });
    await options.close();

    expect(await worker.evaluate(() => chrome.storage.local.get('perchOrigin'))).toEqual({ perchOrigin: stack.perch.url });
    const scripts = await worker.evaluate(() => chrome.scripting.getRegisteredContentScripts());
    expect(scripts).toEqual([expect.objectContaining({ id: 'perch', matches: [`${stack.perch.url}/*`], js: ['content-scripts/perch.js'], world: 'MAIN' })]);
  });

  it('mounts the screens itself: same scenario as the server-injected bundle', { timeout: 90_000 }, async () => {
    const page = await browser.newPage();
    await runIamScenario(page, stack, { source: 'extension', label: 'ext-extension' });
  });

  it('stays off pages of other origins', async () => {
    const page = await browser.newPage();
    // The Kestra double's own UI (another port): the content script is registered for Perch's origin only.
    await page.goto(`${stack.kestra.url}/ui/main/flows`);
    await page.waitForSelector('#app #side-menu');
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => (window as unknown as { __perch?: unknown }).__perch === undefined && document.querySelectorAll('perch-root').length === 0)).toBe(true);
  });

  it('keeps several addresses and switches the content script to the one chosen', async () => {
    const scriptMatches = async () => (await browser.serviceWorkers()[0]!.evaluate(() => chrome.scripting.getRegisteredContentScripts())).map((s) => s.matches);
    const options = await browser.newPage();
    await options.goto(`chrome-extension://${extensionId}/options.html`);
    // A second Perch (here the double's own port stands in for another client's server).
    await options.getByLabel('Perch address', { exact: true }).fill(stack.kestra.url);
    await options.getByLabel('Name (optional)').fill('Globex');
    await options.getByRole('button', { name: 'Save and allow access' }).click();
    await expect.poll(() => options.getByRole('status').textContent()).toBe(`Perch screens are active on ${stack.kestra.url}.`);
    expect(await scriptMatches()).toEqual([[`${stack.kestra.url}/*`]]);
    const rows = () => options.getByRole('listitem').evaluateAll((items) => items.map((li) => `${li.getAttribute('aria-current') ? '* ' : ''}${li.querySelector('span')?.textContent}`));
    expect(await rows()).toEqual([`${stack.perch.url}`, `* Globex · ${stack.kestra.url}Active`]);

    await options.getByRole('button', { name: `Use ${stack.perch.url}` }).click();
    await expect.poll(rows).toEqual([`* ${stack.perch.url}Active`, `Globex · ${stack.kestra.url}`]);
    expect(await scriptMatches()).toEqual([[`${stack.perch.url}/*`]]);
    expect(await browser.serviceWorkers()[0]!.evaluate(() => chrome.storage.local.get('perchOrigin'))).toEqual({ perchOrigin: stack.perch.url });
    await options.close();
  });
});
