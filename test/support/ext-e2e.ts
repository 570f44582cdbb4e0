/**
 * Helpers for the browser suites of Perch's screens (test/e2e/ext-*.test.ts, bench/ext.ts,
 * bench/screenshots.ts): the Kestra double behind a Perch, Chromium signed in through Perch's login
 * page, and the built extension prepared for an unattended run.
 */
import { copyFile, cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { PerchConfigInput } from '../../backend/config/config.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import type { DoubleUiVersion } from '../kestra-double/ui/ui-double.js';
import { launchChromium } from './chromium.js';
import { startPerch, type RunningPerch } from './perch.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHROME_BUILD = path.join(ROOT, '.output/chrome-mv3');
export const FIREFOX_BUILD = path.join(ROOT, '.output/firefox-mv3');
export const SCREENS_BUNDLE = path.join(CHROME_BUILD, 'content-scripts/perch.js');

/** What Perch leaves on the page's window (components/app/start.ts), as the tests read it. */
export interface PerchOnPage {
  source: string;
  manager: { mountedIds(): string[] };
}
/** The page's `window.__perch` (typed here: this Node project does not compile the extension's modules). */
export const perchOf = (w: Window): PerchOnPage | undefined => (w as unknown as { __perch?: PerchOnPage }).__perch;

export interface Stack {
  kestra: KestraDouble;
  perch: RunningPerch;
  close(): Promise<void>;
}

/**
 * Waits until `file` exists and stops changing: every `vitest run` rebuilds .output/ in its global
 * setup, so a run started beside this one may be rewriting the build right now.
 */
export async function settledFile(file: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const now = await stat(file).then((s) => `${s.size}:${s.mtimeMs}`, () => '');
    if (now && now === last) return;
    if (Date.now() > until) throw new Error(`${file} is missing or still changing: build the extension (npm run build:screens)`);
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A private copy of the screens bundle, so that a rebuild elsewhere cannot pull it from under a Perch. */
async function bundleSnapshot(): Promise<string> {
  await settledFile(SCREENS_BUNDLE);
  const copy = path.join(await mkdtemp(path.join(tmpdir(), 'perch-bundle-')), 'perch.js');
  await copyFile(SCREENS_BUNDLE, copy);
  return copy;
}

/** The Kestra double (its stock-UI stand-in in `ui` flavour) behind a Perch with an instance owner. */
export async function startStack(options: { ui?: DoubleUiVersion; perchUi?: NonNullable<PerchConfigInput['ui']>; ai?: PerchConfigInput['ai'] } = {}): Promise<Stack> {
  const kestra = await startKestraDouble({ ui: options.ui });
  const bundle = await bundleSnapshot();
  const perch = await startPerch({
    config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password }, ui: { bundle, ...options.perchUi }, ...(options.ai ? { ai: options.ai } : {}) },
  });
  return {
    kestra,
    perch,
    async close() {
      await perch.close();
      await kestra.close();
      await rm(path.dirname(bundle), { recursive: true, force: true });
    },
  };
}

/** A stack and a Chromium for the calling describe block: started before its tests, closed after them. */
export function stackInChromium(options: Parameters<typeof startStack>[0] = {}): { stack: Stack; browser: BrowserContext } {
  const env = {} as { stack: Stack; browser: BrowserContext };
  beforeAll(async () => {
    env.stack = await startStack(options);
    env.browser = await launchChromium();
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.stack?.close();
  });
  return env;
}

/** Signs in on Perch's login page (reached by opening `path`) and waits to be back on `path`. */
export async function signIn(page: Page, base: string, email: string, password: string, uiPath = '/ui/main/flows'): Promise<void> {
  await page.goto(`${base}${uiPath}`);
  if (new URL(page.url()).pathname === '/perch/login') {
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${base}${uiPath}`), page.click('button[type=submit]')]);
  }
}

/** Ends the Perch session the way the page's own script would (same-origin POST). */
export async function signOutByApi(page: Page): Promise<number> {
  return page.evaluate(async () => (await fetch('/perch/api/logout', { method: 'POST' })).status);
}

/** Waits until Perch runs on the page and its feature manager started. */
export async function perchStarted(page: Page): Promise<{ source: string }> {
  await page.waitForFunction(() => (window as unknown as { __perch?: PerchOnPage }).__perch !== undefined, undefined, { timeout: 15_000 });
  return page.evaluate(() => ({ source: (window as unknown as { __perch: PerchOnPage }).__perch.source }));
}

/** Ids of the Perch roots in the page, in document order. */
export function perchRoots(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('perch-root')].map((r) => (r as HTMLElement).dataset.feature ?? ''));
}

/** The console lines of a page, kept from now on. */
export function collectConsole(page: Page): { type: string; text: string }[] {
  const lines: { type: string; text: string }[] = [];
  page.on('console', (m) => lines.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => lines.push({ type: 'pageerror', text: String(e) }));
  return lines;
}

/** Clicks a link of the stock UI's 2.0 left menu (items have no id there: found by href) and waits for the new path. */
export async function clickKestraMenu(page: Page, expectedPath: string): Promise<void> {
  await page.locator(`#side-menu a.ks-sidebar-item[href="${expectedPath}"]`).click();
  await page.waitForFunction((p) => location.pathname === p, expectedPath);
}

/**
 * The test copy of the built extension. Its only difference from the production build: the manifest
 * pre-grants `http://127.0.0.1/*` as a host permission, so that `chrome.permissions.request()` on the
 * options page resolves true at once instead of showing the browser's permission prompt, which an
 * automated browser cannot answer. The product's manifest keeps only `optional_host_permissions`
 * (test/ui/extension-manifest.test.ts asserts it); every script is byte for byte the production build.
 */
export async function prepareTestExtension(options: { pregrant?: boolean } = {}): Promise<{ dir: string; manifest: Record<string, unknown> }> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'perch-ext-')), 'chrome-mv3');
  await settledFile(path.join(CHROME_BUILD, 'manifest.json'));
  await settledFile(SCREENS_BUNDLE);
  await cp(CHROME_BUILD, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  // { pregrant: false }: the production manifest as is, for the test that answers the real prompt.
  if (options.pregrant === false) return { dir, manifest };
  manifest.host_permissions = ['http://127.0.0.1/*'];
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, manifest };
}

/** Chromium with an unpacked extension loaded; returns the extension id (from its service worker). */
export async function launchWithExtension(dir: string, headed?: { display: string }): Promise<{ context: BrowserContext; extensionId: string }> {
  const context = await launchChromium([`--disable-extensions-except=${dir}`, `--load-extension=${dir}`], headed);
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
  return { context, extensionId: new URL(worker.url()).host };
}
