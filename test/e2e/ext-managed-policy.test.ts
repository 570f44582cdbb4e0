/**
 * A company rollout: the Perch address comes from browser policy, not from each person. Chromium on
 * Linux reads policy files from /etc/chromium/policies/managed/*.json; the "3rdparty" section gives
 * an extension its managed storage (declared by storage.managed_schema in the manifest). This test
 * writes one such file, addressed to the extension id of its own unpacked copy (so no other
 * browser is affected), and removes it afterwards. Writing there needs root (CI runs as root); when
 * the folder is not writable the test is skipped with a loud line, and the managed-over-stored rule
 * stays covered by test/ext/extension/addresses.test.tsx.
 *
 * The copy pre-grants http://127.0.0.1/* (prepareTestExtension): a policy sets the address but
 * cannot grant the host, which the person allows once (the options page offers it, see
 * docs/extension-store.md).
 */
import { createHash } from 'node:crypto';
import { access, constants, mkdir, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Worker } from 'playwright-core';
import { chromiumAvailable } from '../support/chromium.js';
import { launchWithExtension, perchStarted, prepareTestExtension, signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../support/perch.js';

const POLICY_DIR = process.env.PERCH_CHROMIUM_POLICY_DIR ?? '/etc/chromium/policies/managed';

async function policyDirWritable(): Promise<boolean> {
  try {
    await mkdir(POLICY_DIR, { recursive: true });
    await access(POLICY_DIR, constants.W_OK);
    return true;
  } catch {
    process.stderr.write(`*** ${POLICY_DIR} is not writable (run as root): the Chromium managed-policy test is SKIPPED. ***\n`);
    return false;
  }
}

const runnable = (await chromiumAvailable()) && (await policyDirWritable());

/** Chromium's id for an unpacked extension: the SHA-256 of its absolute path, first 32 hex digits written as a–p. */
const unpackedExtensionId = (dir: string) =>
  [...createHash('sha256').update(dir).digest('hex').slice(0, 32)].map((digit) => String.fromCharCode(97 + parseInt(digit, 16))).join('');

declare const chrome: {
  storage: { managed: { get(key: null): Promise<Record<string, unknown>> }; local: { set(items: object): Promise<void> } };
  scripting: { getRegisteredContentScripts(): Promise<{ id: string; matches?: string[] }[]> };
};

describe.skipIf(!runnable)('the Perch address set by browser policy (Chromium managed storage)', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let worker: Worker;
  let extensionId: string;
  let policyFile: string;

  beforeAll(async () => {
    stack = await startStack({ perchUi: { inject: false } });
    const { dir } = await prepareTestExtension();
    policyFile = `${POLICY_DIR}/perch-test-${process.pid}-${Date.now()}.json`;
    await writeFile(policyFile, JSON.stringify({ '3rdparty': { extensions: { [unpackedExtensionId(dir)]: { perchOrigin: stack.perch.url } } } }));
    ({ context: browser, extensionId } = await launchWithExtension(dir));
    worker = browser.serviceWorkers()[0]!;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (policyFile) await rm(policyFile, { force: true });
  });

  it('reads the policy’s address, prefers it over the person’s, and mounts the screens there', { timeout: 60_000 }, async () => {
    expect(await worker.evaluate(() => chrome.storage.managed.get(null))).toEqual({ perchOrigin: stack.perch.url });
    // A person's own choice (another origin) does not override the organisation's.
    await worker.evaluate((other) => chrome.storage.local.set({ perchOrigin: other }), stack.kestra.url);
    await expect.poll(async () => (await worker.evaluate(() => chrome.scripting.getRegisteredContentScripts())).map((s) => s.matches), { timeout: 15_000 })
      .toEqual([[`${stack.perch.url}/*`]]);

    const page = await browser.newPage();
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(await perchStarted(page)).toEqual({ source: 'extension' });
    await page.close();

    const options = await browser.newPage();
    await options.goto(`chrome-extension://${extensionId}/options.html`);
    await options.getByText(`Your organisation set the Perch address: ${stack.perch.url}.`, { exact: false }).waitFor();
    expect(await options.getByLabel('Perch address', { exact: true }).count()).toBe(0);
    await options.close();
  });
});
