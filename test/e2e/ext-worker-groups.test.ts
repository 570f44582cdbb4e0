/**
 * Worker groups on the Instance page, in Chromium (issue 25, point 4): an instance owner creates a
 * group whose target is the Docker Engine API double (the API's refusal of a badly spelled host shown
 * on the field first), sees it healthy after the background check, stops the double, checks again
 * from the page and sees it unreachable with why, edits its namespaces, then deletes the group after
 * the confirmation.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthMonitor } from '../../backend/worker-groups/health-monitor-wiring.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { perchStarted, signIn, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser } from '../support/perch.js';
import { startDockerEngineDouble, type DockerEngineDouble } from '../worker-groups/docker-engine-double.js';

const haveChromium = await chromiumAvailable();

describe.skipIf(!haveChromium)('worker groups on the Instance page', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let engine: DockerEngineDouble | undefined;

  beforeAll(async () => {
    stack = await startStack();
    engine = await startDockerEngineDouble('healthy');
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await engine?.close();
  });

  const targetHealth = (page: Page) => page.locator('[data-testid=worker-target-health]').allTextContents();

  it('creates a group, shows its target healthy then unreachable, edits it, and deletes it after confirmation', { timeout: 90_000 }, async () => {
    const host = engine!.host;
    const page = await browser.newPage();
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/admin/instance');
    await perchStarted(page);
    await page.locator('#perch-worker-groups').getByText('No worker group yet.').waitFor();

    // The form, first with a host spelled otherwise than flows must write it: the API's error shows on the field.
    await page.getByRole('button', { name: 'New worker group' }).click();
    const form = page.locator('[data-testid=worker-group-form]');
    await form.getByLabel('Id', { exact: true }).fill('gpu');
    await form.getByLabel('Name', { exact: true }).fill('GPU machines');
    await form.getByLabel('Namespaces').fill('ml.gpu, ml.vision');
    await form.getByLabel('Target id').fill('gpu-1');
    await form.getByLabel('Docker host').fill(host.replace('tcp://', 'TCP://'));
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('must be tcp://<lower-case host>:<port> or unix:///<absolute path>, spelled exactly as flows will write it', { exact: true }).waitFor();
    expect(await form.getByLabel('Docker host').getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByRole('alert').textContent()).toContain('Invalid request: targets.0.host');

    await form.getByLabel('Docker host').fill(host);
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid=worker-group][data-group-id=gpu]').waitFor();
    expect(await page.locator('[data-testid=worker-group-form]').count()).toBe(0);
    expect(await page.getByTestId('worker-group-namespaces').textContent()).toBe('ml.gpu, ml.vision');
    expect(await page.locator('[data-testid=worker-target]').allTextContents()).toEqual([expect.stringContaining(host)]);
    expect(await targetHealth(page)).toEqual(['Not checked yet']);

    // The background check runs (its tick, driven here), and the page shows what it saw.
    await healthMonitor(stack.perch.perch.ctx).tick();
    await page.reload();
    await perchStarted(page);
    await expect.poll(() => targetHealth(page)).toEqual([expect.stringMatching(/^HealthyDocker 29\.1\.0 \(API 1\.52\) · checked /)]);
    await page.screenshot({ path: await screenshotPath('worker-groups-instance-page'), fullPage: true });

    // The daemon goes away; a check from the page sees it.
    await engine!.close();
    engine = undefined;
    await page.getByRole('button', { name: 'Check now' }).click();
    await expect.poll(() => targetHealth(page)).toEqual([expect.stringMatching(/^Unreachablenot reachable \(\w+\) · checked /)]);

    // Editing keeps the id and replaces the rest.
    await page.locator('[data-testid=worker-group]').getByRole('button', { name: 'Edit' }).click();
    const edit = page.locator('[data-testid=worker-group-form]');
    expect(await edit.getByLabel('Id', { exact: true }).count()).toBe(0);
    expect(await edit.getByLabel('Docker host').inputValue()).toBe(host);
    await edit.getByLabel('Namespaces').fill('ml.gpu');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByTestId('worker-group-namespaces').textContent()).toBe('ml.gpu');

    // Deleting asks first, naming the namespaces it frees.
    await page.locator('[data-testid=worker-group]').getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this worker group?' });
    expect(await dialog.textContent()).toContain('Flows in ml.gpu will no longer be held to this group’s targets');
    await dialog.getByTestId('confirm').click();
    await page.locator('#perch-worker-groups').getByText('No worker group yet.').waitFor();
    const admin = new Browser(stack.perch);
    await admin.login();
    expect((await admin.fetch('GET', '/api/v1/instance/worker-groups/gpu')).status).toBe(404);
  });
});
