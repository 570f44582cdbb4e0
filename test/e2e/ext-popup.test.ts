/**
 * The toolbar action of the built extension (Chrome build, loaded unpacked; the e2e copy pre-grants
 * http://127.0.0.1/* — see prepareTestExtension): the badge says when the Perch address is not set or
 * not answering, and the popup says whether the active tab is the Perch, who is signed in there, and
 * offers "Open Kestra", "Sign in" and "Options".
 *
 * The popup page is opened the way the browser would show it beside a tab: in a popup-type window
 * that does not take focus, so the tab it describes is the active tab of the last focused window.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page, Worker } from 'playwright-core';
import { chromiumAvailable, screenshotPath } from '../support/chromium.js';
import { launchWithExtension, prepareTestExtension, signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/perch.js';

const haveChromium = await chromiumAvailable();

/** The extension APIs the service worker is asked about (run there, typed here). */
declare const chrome: {
  action: { getBadgeText(details: object): Promise<string>; getTitle(details: object): Promise<string> };
  storage: { local: { set(items: object): Promise<void>; remove(key: string): Promise<void> } };
  windows: { create(details: object): Promise<unknown> };
  runtime: { getURL(path: string): string };
};

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!haveChromium)('the extension’s toolbar action', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let worker: Worker;

  beforeAll(async () => {
    stack = await startStack({ perchUi: { inject: false } });
    const { dir } = await prepareTestExtension();
    ({ context: browser } = await launchWithExtension(dir));
    worker = browser.serviceWorkers()[0]!;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const badge = () => worker.evaluate(async () => ({ text: await chrome.action.getBadgeText({}), title: await chrome.action.getTitle({}) }));
  const setOrigin = (origin: string) => worker.evaluate((o) => chrome.storage.local.set({ perchOrigin: o }), origin);

  /** Opens the popup beside `tab` (brought to front first) and waits until it has said its piece. */
  async function popupBeside(tab: Page): Promise<Page> {
    await tab.bringToFront();
    const opened = browser.waitForEvent('page');
    await worker.evaluate(() => chrome.windows.create({ url: chrome.runtime.getURL('/popup.html'), type: 'popup', focused: false, width: 360, height: 300 }));
    const popup = await opened;
    await popup.getByRole('status').waitFor();
    return popup;
  }
  const lines = (popup: Page) => popup.getByRole('status').locator('p').allTextContents();
  const buttons = (popup: Page) => popup.getByRole('button').allTextContents();

  it('shows a badge and offers only the options while the Perch address is not set', async () => {
    // The first check waits for the browser's policy service (the managed address is read first).
    await expect.poll(badge, { timeout: 15_000 }).toEqual({ text: '!', title: 'Perch for Kestra: the Perch address is not set' });
    const tab = await browser.newPage();
    const popup = await popupBeside(tab);
    expect(await lines(popup)).toEqual(['The Perch address is not set.']);
    expect(await buttons(popup)).toEqual(['Options']);
    await popup.close();
    await tab.close();
  });

  it('says a Perch tab is Kestra behind Perch, and who is signed in there', async () => {
    await setOrigin(stack.perch.url);
    await expect.poll(badge).toEqual({ text: '', title: 'Perch for Kestra' });

    const tab = await browser.newPage();
    await tab.goto(`${stack.perch.url}/ui/main/flows`);
    await tab.waitForURL(/\/perch\/login/);
    let popup = await popupBeside(tab);
    expect(await lines(popup)).toEqual([`This tab is Kestra behind your Perch (${stack.perch.url}).`, 'Not signed in.']);
    expect(await buttons(popup)).toEqual(['Open Kestra', 'Sign in', 'Options']);
    await popup.close();

    await signIn(tab, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    popup = await popupBeside(tab);
    expect(await lines(popup)).toEqual([`This tab is Kestra behind your Perch (${stack.perch.url}).`, expect.stringMatching(new RegExp(`^Signed in as .*${ADMIN_EMAIL.replace('.', '\\.')}`))]);
    expect(await buttons(popup)).toEqual(['Open Kestra', 'Options']);
    await popup.locator('main').screenshot({ path: await screenshotPath('ext-popup-signed-in') });

    // "Open Kestra" opens the Kestra UI through the Perch in a new tab.
    const opened = browser.waitForEvent('page');
    await popup.getByRole('button', { name: 'Open Kestra' }).click();
    const kestraTab = await opened;
    await kestraTab.waitForURL(`${stack.perch.url}/ui/**`);
    await kestraTab.close();
    await tab.close();
  });

  it('says another site’s tab is not the Perch', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${stack.kestra.url}/ui/main/flows`);
    const popup = await popupBeside(tab);
    expect(await lines(popup)).toEqual([`This tab is not your Perch (${stack.perch.url}).`]);
    await popup.close();
    await tab.close();
  });

  it('shows a badge and says so when the Perch does not answer', async () => {
    const gone = `http://127.0.0.1:${await closedPort()}`;
    await setOrigin(gone);
    await expect.poll(badge).toEqual({ text: '!', title: 'Perch for Kestra: the Perch server does not answer' });
    const tab = await browser.newPage();
    const popup = await popupBeside(tab);
    expect(await lines(popup)).toEqual([`${gone} does not answer.`]);
    expect(await buttons(popup)).toEqual(['Options']);
    await popup.close();
    await tab.close();
  });
});
