/**
 * The real permission flow of the production extension (no pre-granted host), in a headed Chromium
 * on a virtual display (Xvfb): the Perch address entered on the options page makes the browser ask
 * for that host in its own prompt; the test answers it from the keyboard as a person would (XTEST
 * key presses into the focused dialog); Perch's screens then appear on the Kestra double's UI
 * behind Perch; once the permission is revoked they are gone; a refused prompt leaves a clear
 * message on the options page.
 *
 * How the prompt is found: Chromium draws it inside the browser window (no X window of its own) and
 * dims the page behind it, so the test waits for a page pixel to turn from white to the dimmed
 * grey. The prompt enables its Allow button 500 ms after it shows (g_install_delay_in_ms in
 * Chromium's chrome/browser/ui/views/extensions/extension_install_dialog_view.cc), and its focused
 * button is Deny: Tab moves to Allow, Return presses it; Escape refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { chromiumAvailable, screenshotPath } from '../support/chromium.js';
import { launchWithExtension, perchStarted, prepareTestExtension, signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/perch.js';
import { startXvfb, xvfbAvailable, type VirtualDisplay } from '../support/xvfb.js';

const runnable = (await chromiumAvailable()) && (await xvfbAvailable());

declare const chrome: {
  permissions: { getAll(): Promise<{ origins?: string[] }>; remove(p: { origins: string[] }): Promise<boolean> };
  scripting: { getRegisteredContentScripts(): Promise<{ id: string }[]> };
};

/** A point of the page area (screen coordinates: the window sits at +10+10 without a window manager). */
const PAGE_POINT = { x: 40, y: 650 };
const WHITE = [255, 255, 255];

describe.skipIf(!runnable)('the browser’s permission prompt, answered in a headed Chromium', () => {
  let x: VirtualDisplay;
  let stack: Stack;
  let browser: BrowserContext;
  let worker: Worker;
  let options: Page;

  beforeAll(async () => {
    x = await startXvfb();
    stack = await startStack({ perchUi: { inject: false } });
    const { dir, manifest } = await prepareTestExtension({ pregrant: false });
    expect(manifest.host_permissions).toBeUndefined();
    let extensionId: string;
    ({ context: browser, extensionId } = await launchWithExtension(dir, x));
    worker = browser.serviceWorkers()[0]!;
    options = await browser.newPage();
    await options.goto(`chrome-extension://${extensionId}/options.html`);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await x?.close();
  });

  const grantedOrigins = async () => (await worker.evaluate(() => chrome.permissions.getAll())).origins ?? [];
  const dimmed = async () => JSON.stringify(await x.pixel(PAGE_POINT.x, PAGE_POINT.y)) !== JSON.stringify(WHITE);
  const status = () => options.getByRole('status').textContent();

  /** Waits for the prompt over the options page, then answers it from the keyboard. */
  async function answerPrompt(answer: 'allow' | 'deny'): Promise<void> {
    await expect.poll(dimmed, { timeout: 15_000, interval: 100 }).toBe(true);
    await options.waitForTimeout(1_000); // the Allow button's 500 ms arming delay, twice over
    await (answer === 'allow' ? x.keys('Tab', 'Return') : x.keys('Escape'));
    await expect.poll(dimmed, { timeout: 15_000, interval: 100 }).toBe(false);
  }

  it('asks for the Perch host only, and the screens appear once it is allowed', { timeout: 90_000 }, async () => {
    await options.bringToFront();
    expect(await dimmed()).toBe(false);
    expect(await grantedOrigins()).toEqual([]);
    await options.getByLabel('Perch address', { exact: true }).fill(`${stack.perch.url}/ui/main/flows`);
    await options.getByLabel('Name (optional)').fill('Acme');
    await options.getByRole('button', { name: 'Save and allow access' }).click();
    await answerPrompt('allow');
    await expect.poll(status).toBe(`Perch screens are active on ${stack.perch.url}.`);
    expect(await grantedOrigins()).toEqual(['http://127.0.0.1/*']);
    await options.screenshot({ path: await screenshotPath('ext-options-addresses') });

    const page = await browser.newPage();
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(await perchStarted(page)).toEqual({ source: 'extension' });
    await expect.poll(() => page.locator('perch-root').count()).toBeGreaterThan(0);
    await page.close();
  });

  it('takes the screens away when the permission is revoked', async () => {
    await worker.evaluate(() => chrome.permissions.remove({ origins: ['http://127.0.0.1/*'] }));
    await expect.poll(() => worker.evaluate(() => chrome.scripting.getRegisteredContentScripts())).toEqual([]);
    const page = await browser.newPage();
    await page.goto(`${stack.perch.url}/ui/main/flows`);
    await page.waitForSelector('#app #side-menu');
    expect(await page.evaluate(() => (window as unknown as { __perch?: unknown }).__perch === undefined && document.querySelectorAll('perch-root').length === 0)).toBe(true);
    await page.close();
    await options.reload();
    await expect.poll(status).toBe(`Access to ${stack.perch.url} is not granted (it was refused or removed), so Perch's screens are not shown there.`);
  });

  it('leaves a clear message on the options page when the prompt is refused', async () => {
    await options.bringToFront();
    // Another host: Chromium re-grants a host the extension itself removed without asking again.
    const other = stack.perch.url.replace('127.0.0.1', 'localhost');
    await options.getByLabel('Perch address', { exact: true }).fill(other);
    await options.getByLabel('Name (optional)').fill('Globex');
    await options.getByRole('button', { name: 'Save and allow access' }).click();
    await answerPrompt('deny');
    await expect.poll(status).toBe(`Access to ${other} was refused in the browser's prompt, so Perch's screens are not shown there. Save the address again and choose Allow to turn them on.`);
    expect(await grantedOrigins()).toEqual([]);
    expect(await options.getByLabel('Perch address', { exact: true }).inputValue()).toBe(other);
    // Nothing changed: the refused address was not made the active one.
    expect(await options.getByRole('listitem').allTextContents()).toEqual([expect.stringMatching(/^Acme · http:\/\/127\.0\.0\.1:\d+Active/)]);
    await options.screenshot({ path: await screenshotPath('ext-options-refused') });
  });
});
