/**
 * Perch's screens as Perch injects them into the Kestra UI pages it serves (no extension installed):
 * the IAM → audit → restricted-user scenario (test/support/ext-scenario.ts) in Chromium.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { startStack, type Stack } from '../support/ext-e2e.js';
import { runIamScenario } from '../support/ext-scenario.js';

const haveChromium = await chromiumAvailable();

describe.skipIf(!haveChromium)('Perch’s screens injected by the server', () => {
  let stack: Stack;
  let browser: BrowserContext;

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('lets the admin create a user and a binding, audit both, and limits the new user to the role', { timeout: 90_000 }, async () => {
    const page = await browser.newPage();
    await runIamScenario(page, stack, { source: 'server', label: 'ext-injected' });
  });
});
