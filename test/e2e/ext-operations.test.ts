/**
 * Operations on the Instance page, in Chromium (issue 22): an instance owner makes an announcement and
 * enters maintenance from the page; another person sees the announcement and the maintenance notice
 * at the top of Kestra's pages and cannot start an execution; the owner sets a kill switch and leaves
 * maintenance from the same page.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { perchStarted, signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, grantRole, logFlow } from '../support/perch.js';
import { createPerson, PASSWORD } from '../iam/iam-helpers.js';

const haveChromium = await chromiumAvailable();

describe.skipIf(!haveChromium)('operations on the Instance page', () => {
  let stack: Stack;
  let ownerBrowser: BrowserContext;
  let otherBrowser: BrowserContext;
  let other: { id: string; email: string };

  beforeAll(async () => {
    stack = await startStack({ perchUi: { banners: [{ id: 'configured', message: 'From the config file' }] } });
    stack.kestra.addFlow(logFlow('ops', 'hello'));
    const admin = new Browser(stack.perch);
    await admin.login();
    other = await createPerson(admin, 'ops-reader');
    await grantRole(stack.perch.perch, other.id, 'launcher', null);
    ownerBrowser = await launchChromium();
    otherBrowser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await ownerBrowser?.close();
    await otherBrowser?.close();
    await stack?.close();
  });

  async function open(context: BrowserContext, path: string, email: string, password: string): Promise<Page> {
    const page = await context.newPage();
    await signIn(page, stack.perch.url, email, password, path);
    await perchStarted(page);
    return page;
  }

  it('announces, enters maintenance, shows both to everyone, stops new work, and leaves maintenance', { timeout: 90_000 }, async () => {
    const owner = await open(ownerBrowser, '/ui/main/admin/instance', ADMIN_EMAIL, ADMIN_PASSWORD);
    await owner.locator('#perch-banners').waitFor();

    // An announcement, made from the page.
    await owner.getByRole('button', { name: 'New announcement' }).click();
    const form = owner.locator('[data-testid=banner-form]');
    await form.getByLabel('Message').fill('Kestra upgrade tonight');
    await form.getByLabel('Type').selectOption('WARNING');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => owner.locator('[data-testid=managed-banner]').allTextContents()).toEqual([expect.stringContaining('Kestra upgrade tonight')]);

    // Maintenance, entered after the confirmation.
    await owner.getByRole('button', { name: 'Enter maintenance mode' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Enter maintenance mode' });
    await dialog.getByLabel('Notice shown to everyone (optional)').fill('Back at 22:00');
    await dialog.getByTestId('confirm').click();
    await expect.poll(() => owner.locator('[data-testid=maintenance-status]').textContent()).toContain('In maintenance');
    await owner.locator('#perch-maintenance').waitFor();

    // Someone else, on an ordinary page: both announcements, the notice, and no new execution.
    const page = await open(otherBrowser, '/ui/main/flows', other.email, PASSWORD);
    await page.locator('#perch-maintenance').waitFor();
    expect(await page.locator('#perch-maintenance').textContent()).toBe('Back at 22:00');
    await expect.poll(() => page.locator('perch-root[data-feature=banner] [data-banner]').allTextContents()).toEqual(['From the config file✕', 'Kestra upgrade tonight✕']);
    await page.screenshot({ path: await screenshotPath('operations-maintenance-banner') });
    const run = await page.evaluate(async () => {
      const res = await fetch('/api/v1/main/executions/ops/hello', { method: 'POST' });
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    });
    expect(run).toEqual({ status: 503, retryAfter: '300' });

    // A kill switch, set from the page.
    await owner.getByRole('button', { name: 'New kill switch' }).click();
    const switchForm = owner.locator('[data-testid=kill-switch-form]');
    await switchForm.getByLabel('Name', { exact: true }).fill('stop ops');
    await switchForm.getByLabel('Namespace').fill('ops');
    await switchForm.getByRole('button', { name: 'Create kill switch' }).click();
    await expect.poll(() => owner.locator('[data-testid=kill-switch]').allTextContents()).toEqual([expect.stringContaining('stop ops')]);
    await owner.screenshot({ path: await screenshotPath('operations-instance-page'), fullPage: true });

    // Leaving maintenance: the notice goes, and the kill switch still refuses work in ops.
    await owner.getByRole('button', { name: 'Exit maintenance mode' }).click();
    await owner.getByRole('dialog', { name: 'Exit maintenance mode' }).getByTestId('confirm').click();
    await expect.poll(() => owner.locator('[data-testid=maintenance-status]').textContent()).toContain('Not in maintenance');
    await page.reload();
    await perchStarted(page);
    await page.locator('perch-root[data-feature=banner] [data-banner]').first().waitFor();
    expect(await page.locator('#perch-maintenance').count()).toBe(0);
    expect(await page.evaluate(async () => (await fetch('/api/v1/main/executions/ops/hello', { method: 'POST' })).status)).toBe(403);
  });
});
