/**
 * The production Firefox build (no host granted up front) in Debian's Firefox ESR, headed on a
 * virtual display (Xvfb), installed as a temporary add-on and driven over Marionette:
 * - the Perch address typed on the options page makes Firefox ask for that host in its own prompt
 *   (the "addon-webext-permissions" doorhanger); the test finds the prompt's Allow / Don't allow
 *   button on screen and clicks it with the X pointer (xdotool), as a person would; Perch's screens
 *   then appear on the Kestra double's UI behind Perch, and go once the permission is revoked; a
 *   refused prompt leaves a clear message on the options page;
 * - an organisation's policies.json ("3rdparty" → the extension's managed storage) sets the address,
 *   which the options page shows instead of the choice; one Allow and the screens appear.
 *
 * Revoking: the test removes the host through ExtensionPermissions.remove, the call behind the
 * toggle of the add-on's Permissions tab in about:addons (toolkit/mozapps/extensions/content/aboutaddons.js).
 *
 * The prompt ignores clicks for security.notification_enable_delay (500 ms) after it shows, so the
 * test waits a second before it clicks, as the Chromium test does for its arming delay.
 */
import { access, constants, cp, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIREFOX_BUILD, settledFile, startStack, type Stack } from '../support/ext-e2e.js';
import { FIREFOX, firefoxAvailable, launchFirefox, type Firefox } from '../support/firefox.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/perch.js';
import { startXvfb, xvfbAvailable, type VirtualDisplay } from '../support/xvfb.js';

/** Firefox reads the policies file in its installation's distribution folder (here /usr/lib/firefox-esr/distribution). */
const POLICIES = path.join(path.dirname(await realpath(FIREFOX).catch(() => FIREFOX)), 'distribution/policies.json');

/** The policies file can be written (root, as in CI) and none is there already (this test must not replace a real one). */
async function policiesWritable(): Promise<boolean> {
  const exists = await access(POLICIES).then(() => true, () => false);
  const writable = !exists && (await mkdir(path.dirname(POLICIES), { recursive: true }).then(() => access(path.dirname(POLICIES), constants.W_OK)).then(() => true, () => false));
  if (writable) return true;
  const why = `${POLICIES} ${exists ? 'already exists' : 'cannot be written (run as root)'}`;
  if (process.env.CI) throw new Error(`${why}: the Firefox policies test cannot run`);
  process.stderr.write(`*** ${why}: the Firefox policies test is SKIPPED. ***\n`);
  return false;
}

const runnable = (await firefoxAvailable()) && (await xvfbAvailable());
const policiesRunnable = runnable && (await policiesWritable());

/** A private copy of the production Firefox build (a run beside this one may rebuild .output/). */
async function productionCopy(): Promise<string> {
  await settledFile(path.join(FIREFOX_BUILD, 'manifest.json'));
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'perch-ext-ff-')), 'firefox-mv3');
  await cp(FIREFOX_BUILD, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  expect(manifest.host_permissions).toBeUndefined();
  return dir;
}

/** Firefox headed on `x` with the production build installed; the options page open in the first tab. */
async function firefoxWithExtension(x: VirtualDisplay): Promise<{ firefox: Firefox; id: string; optionsTab: string; optionsUrl: string }> {
  const firefox = await launchFirefox(x);
  const id = await firefox.installTemporary(await productionCopy());
  const optionsUrl = await firefox.chrome<string>(`return WebExtensionPolicy.getByID(args[0]).getURL('options.html');`, id);
  const optionsTab = await firefox.newTab();
  await firefox.navigate(optionsUrl);
  return { firefox, id, optionsTab, optionsUrl };
}

/** The origins Firefox granted the extension (what about:addons lists as its optional permissions). */
const grantedOrigins = (firefox: Firefox, id: string) =>
  firefox.chrome<string[]>(`
    const { ExtensionPermissions } = ChromeUtils.importESModule('resource://gre/modules/ExtensionPermissions.sys.mjs');
    return (await ExtensionPermissions.get(args[0])).origins;`, id);

/** The open permission prompt: its text and the screen centre of its Allow or Don't allow button; null while none shows. */
const prompt = (firefox: Firefox, button: 'allow' | 'deny') =>
  firefox.chrome<{ text: string; x: number; y: number } | null>(`
    const window = Services.wm.getMostRecentWindow('navigator:browser');
    const shown = window.PopupNotifications.getNotification('addon-webext-permissions');
    const panel = window.PopupNotifications.panel;
    if (!shown || panel.state !== 'open') return null;
    const target = panel.querySelector(args[0] === 'allow' ? '.popup-notification-primary-button' : '.popup-notification-secondary-button');
    const box = target.getBoundingClientRect();
    return { text: panel.textContent, x: target.screenX + box.width / 2, y: target.screenY + box.height / 2 };`, button);

/** Waits for Firefox's permission prompt, clicks its button with the X pointer, and waits for it to close; returns the prompt's text. */
async function answerPrompt(firefox: Firefox, x: VirtualDisplay, answer: 'allow' | 'deny'): Promise<string> {
  await expect.poll(() => prompt(firefox, answer), { timeout: 15_000, interval: 100 }).not.toBeNull();
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // security.notification_enable_delay, twice over
  const shown = (await prompt(firefox, answer))!;
  await x.click(shown.x, shown.y);
  await expect.poll(() => prompt(firefox, answer), { timeout: 15_000, interval: 100 }).toBeNull();
  return shown.text;
}

const statusText = (firefox: Firefox) => firefox.page<string | null>(`return document.querySelector('[role=status]')?.textContent ?? null;`);

/** What Perch left on the current page: the source of its screens and how many roots it mounted. */
const perchOnPage = (firefox: Firefox) =>
  firefox.page<{ source: string | null; roots: number; aside: boolean }>(`
    return { source: window.__perch?.source ?? null, roots: document.querySelectorAll('perch-root').length, aside: document.querySelector('#app #side-menu') !== null };`);

/** Signs in on Perch's login page in a new tab and waits for Kestra's UI behind it. */
async function signInTab(firefox: Firefox, perchUrl: string): Promise<string> {
  const tab = await firefox.newTab();
  await firefox.navigate(`${perchUrl}/ui/main/flows`);
  if ((await firefox.page<string>('return location.pathname;')) === '/perch/login') {
    await firefox.type('#email', ADMIN_EMAIL);
    await firefox.type('#password', ADMIN_PASSWORD);
    await firefox.click('button[type=submit]');
  }
  await expect.poll(() => firefox.page<string>('return location.pathname;').catch(() => null), { timeout: 15_000 }).toBe('/ui/main/flows');
  return tab;
}

let x: VirtualDisplay;
beforeAll(async () => {
  if (runnable) x = await startXvfb();
});
afterAll(async () => {
  await x?.close();
});

describe.skipIf(!runnable)('the browser’s permission prompt, answered in a headed Firefox ESR', () => {
  let stack: Stack;
  let firefox: Firefox;
  let id: string;
  let optionsTab: string;
  let optionsUrl: string;

  beforeAll(async () => {
    stack = await startStack({ perchUi: { inject: false } });
    ({ firefox, id, optionsTab, optionsUrl } = await firefoxWithExtension(x));
  });
  afterAll(async () => {
    await firefox?.close();
    await stack?.close();
  });

  it('asks for the Perch host only, and the screens appear once it is allowed', { timeout: 90_000 }, async () => {
    expect(await grantedOrigins(firefox, id)).toEqual([]);
    await firefox.type('input[name=perch-origin]', `${stack.perch.url}/ui/main/flows`);
    await firefox.type('input[name=perch-label]', 'Acme');
    await firefox.click('button[type=submit]');
    const asked = await answerPrompt(firefox, x, 'allow');
    expect(asked).toContain('127.0.0.1');
    await expect.poll(() => statusText(firefox)).toBe(`Perch screens are active on ${stack.perch.url}.`);
    expect(await grantedOrigins(firefox, id)).toEqual(['http://127.0.0.1/*']);

    await signInTab(firefox, stack.perch.url);
    await expect.poll(() => perchOnPage(firefox), { timeout: 15_000 }).toEqual({ source: 'extension', roots: expect.any(Number), aside: true });
    await expect.poll(async () => (await perchOnPage(firefox)).roots, { timeout: 15_000 }).toBeGreaterThan(0);
  });

  it('takes the screens away when the permission is revoked', { timeout: 60_000 }, async () => {
    await firefox.chrome(`
      const { ExtensionPermissions } = ChromeUtils.importESModule('resource://gre/modules/ExtensionPermissions.sys.mjs');
      await ExtensionPermissions.remove(args[0], { permissions: [], origins: ['http://127.0.0.1/*'] }, WebExtensionPolicy.getByID(args[0]).extension);`, id);
    expect(await grantedOrigins(firefox, id)).toEqual([]);
    // The background unregisters its content script (permissions.onRemoved).
    await expect.poll(() => firefox.chrome<number>(`return WebExtensionPolicy.getByID(args[0]).contentScripts.length;`, id), { timeout: 15_000 }).toBe(0);
    await firefox.newTab();
    await firefox.navigate(`${stack.perch.url}/ui/main/flows`);
    await expect.poll(() => perchOnPage(firefox)).toEqual({ source: null, roots: 0, aside: true });

    await firefox.switchTo(optionsTab);
    await firefox.navigate(optionsUrl);
    await expect.poll(() => statusText(firefox)).toBe(`Access to ${stack.perch.url} is not granted (it was refused or removed), so Perch's screens are not shown there.`);
  });

  it('leaves a clear message on the options page when the prompt is refused', { timeout: 60_000 }, async () => {
    const other = stack.perch.url.replace('127.0.0.1', 'localhost');
    await firefox.type('input[name=perch-origin]', other);
    await firefox.type('input[name=perch-label]', 'Globex');
    await firefox.click('button[type=submit]');
    expect(await answerPrompt(firefox, x, 'deny')).toContain('localhost');
    await expect.poll(() => statusText(firefox)).toBe(`Access to ${other} was refused in the browser's prompt, so Perch's screens are not shown there. Save the address again and choose Allow to turn them on.`);
    expect(await grantedOrigins(firefox, id)).toEqual([]);
    expect(await firefox.page<string>(`return document.querySelector('input[name=perch-origin]').value;`)).toBe(other);
    // The refused address was not made the active one.
    expect(await firefox.page<string[]>(`return [...document.querySelectorAll('li')].map((item) => item.textContent);`)).toEqual([expect.stringMatching(/^Acme · http:\/\/127\.0\.0\.1:\d+Active/)]);
  });
});

describe.skipIf(!policiesRunnable)('the Perch address set by policies.json (Firefox 3rdparty managed storage)', () => {
  let stack: Stack;
  let firefox: Firefox;
  let wrote = false;

  beforeAll(async () => {
    stack = await startStack({ perchUi: { inject: false } });
    await writeFile(POLICIES, JSON.stringify({ policies: { '3rdparty': { Extensions: { 'perch@perch.dev': { perchOrigin: stack.perch.url } } } } }), { flag: 'wx' });
    wrote = true;
    ({ firefox } = await firefoxWithExtension(x));
  });
  afterAll(async () => {
    await firefox?.close();
    if (wrote) await rm(POLICIES, { force: true });
    await stack?.close();
  });

  it('shows the organisation’s address instead of the choice; one Allow and the screens appear there', { timeout: 90_000 }, async () => {
    // 1: Firefox's policy engine found and applied the file (nsIEnterprisePolicies.ACTIVE).
    expect(await firefox.chrome<number>('return Services.policies.status;')).toBe(1);
    await expect.poll(() => firefox.page<string>('return document.body.innerText;')).toContain(`Your organisation set the Perch address: ${stack.perch.url}.`);
    expect(await firefox.page<number>(`return document.querySelectorAll('input[name=perch-origin]').length;`)).toBe(0);
    await firefox.click('section button');
    await answerPrompt(firefox, x, 'allow');
    await expect.poll(() => statusText(firefox)).toBe(`Perch screens are active on ${stack.perch.url}.`);

    await signInTab(firefox, stack.perch.url);
    await expect.poll(() => perchOnPage(firefox), { timeout: 15_000 }).toMatchObject({ source: 'extension', aside: true });
    await expect.poll(async () => (await perchOnPage(firefox)).roots, { timeout: 15_000 }).toBeGreaterThan(0);
  });
});
