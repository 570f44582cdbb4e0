/**
 * Perch's screens as Perch injects them into the Kestra UI pages it serves (no extension installed):
 * the IAM → audit → restricted-user scenario (test/support/ext-scenario.ts) in Chromium.
 */
import { describe, it } from 'vitest';
import { chromiumAvailable } from '../support/chromium.js';
import { stackInChromium } from '../support/ext-e2e.js';
import { runIamScenario } from '../support/ext-scenario.js';

const haveChromium = await chromiumAvailable();

describe.skipIf(!haveChromium)('Perch’s screens injected by the server', () => {
  const env = stackInChromium();

  it('lets the admin create a user and a binding, audit both, and limits the new user to the role', { timeout: 90_000 }, async () => {
    const page = await env.browser.newPage();
    await runIamScenario(page, env.stack, { source: 'server', label: 'ext-injected' });
  });
});
