/**
 * The tenant's AI settings above the flow editor (issue 24, points 1 and 4): a tenant admin adds a
 * provider with its key (a masked field, never filled back), sees it listed with "key stored" and
 * the token budgets' use, and the copilot then uses that provider; an instance owner sets the tenant's
 * own limits there, which a tenant admin sees but cannot change; a person without TENANT_SETTINGS
 * gets no settings.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createPerson, PASSWORD } from '../iam/iam-helpers.js';
import type { ProviderStandIn } from '../ai/provider-stand-ins.js';
import { chromiumAvailable, screenshotPath } from '../support/chromium.js';
import { closeCopilotWorld, EDITOR_PATH, flow, startCopilotWorld, type CopilotWorld } from './copilot-world.js';
import { perchStarted, type PerchOnPage, signIn, signOutByApi, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser } from '../support/perch.js';

const haveChromium = await chromiumAvailable();

const TENANT_KEY = 'sk-tenant-screen-KEY-6a0d2e';

describe.skipIf(!haveChromium)('the tenant\'s AI settings', () => {
  let model: ProviderStandIn;
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let admin: Browser;

  let world: CopilotWorld | undefined;
  beforeAll(async () => {
    world = await startCopilotWorld(() => ({ tenantProviderHosts: ['127.0.0.1'], tokenBudget: { period: 'day', perTenant: 5000 }, providers: [] }));
    ({ model, stack, browser, page, admin } = world);
    model.script = [`\`\`\`yaml\n${flow('bonjour')}\`\`\`\n`];
  });
  afterAll(() => closeCopilotWorld(world ?? {}));

  const openEditor = async () => {
    await page.goto(`${stack.perch.url}${EDITOR_PATH}`);
    await perchStarted(page);
    await page.waitForSelector('#editorWrapper[data-loaded=true]');
  };

  it('adds a provider with a write-only key and shows the budgets\' use; the copilot then uses it', { timeout: 90_000 }, async () => {
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, EDITOR_PATH);
    await openEditor();
    const settings = page.locator('#perch-ai-settings');
    await settings.locator('summary').click();
    await expect.poll(() => settings.textContent()).toContain('no provider of its own');
    await expect.poll(() => page.locator('[data-testid=ai-usage]').textContent()).toContain('This tenant: 0 tokens of 5,000');

    await page.getByRole('button', { name: 'Add a provider' }).click();
    const form = page.locator('[data-testid=ai-provider-form]');
    await form.getByLabel('Id', { exact: true }).fill('team-openai');
    await form.getByLabel('Model', { exact: true }).fill('gpt-team');
    await form.getByLabel('Address (base URL)', { exact: true }).fill(`${model.url}/v1`);
    const key = form.getByLabel('API key', { exact: true });
    expect(await key.getAttribute('type')).toBe('password');
    await key.fill(TENANT_KEY);
    await form.getByRole('button', { name: 'Save' }).click();

    const row = page.locator('[data-testid=ai-provider][data-provider-id=team-openai]');
    await row.waitFor();
    expect(await row.textContent()).toContain('key stored');
    expect(await settings.textContent()).toContain('this tenant’s own providers');
    await page.screenshot({ path: await screenshotPath('ai-settings') });

    // Editing shows an empty key field: the key never comes back to the page.
    await row.getByRole('button', { name: 'Edit' }).click();
    expect(await page.locator('[data-testid=ai-provider-form]').getByLabel('API key', { exact: true }).inputValue()).toBe('');
    expect(await page.locator('[data-testid=ai-provider-form]').getByLabel('Model', { exact: true }).inputValue()).toBe('gpt-team');
    expect(await page.content()).not.toContain(TENANT_KEY);

    // The copilot uses the tenant's provider with its key.
    const status = await page.evaluate(async () => (await fetch('/api/v1/main/ai/generate/flow', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ conversationId: 'c1', userPrompt: 'hi', namespace: 'company.team' }) })).status);
    expect(status).toBe(200);
    expect(model.calls.at(-1)!.headers.authorization).toBe(`Bearer ${TENANT_KEY}`);
  });

  it('lets an instance owner set the tenant\'s own limits; a tenant admin sees them without a way to change them', { timeout: 90_000 }, async () => {
    await openEditor();
    const settings = page.locator('#perch-ai-settings');
    await settings.locator('summary').click();
    const limits = page.locator('[data-testid=ai-limits]');
    await expect.poll(() => limits.textContent()).toContain('Tokens per period, whole tenant: 5,000 (the instance’s setting)');
    await limits.getByLabel('Tokens per period, each person', { exact: true }).fill('777');
    await limits.getByRole('button', { name: 'Save the limits' }).click();
    await expect.poll(() => limits.textContent()).toContain('Tokens per period, each person: 777 (this tenant’s own)');
    await expect.poll(() => page.locator('[data-testid=ai-usage]').textContent()).toMatch(/You: [\d,]+ tokens of 777/);
    expect((await admin.fetch('GET', '/api/v1/main/ai/settings/limits')).json.overrides).toEqual({ tenantRequestsPerMinute: null, tokenBudgetPerTenant: null, tokenBudgetPerPerson: 777 });

    const tenantAdmin = await createPerson(admin, 'ai-limits-admin');
    await bind(admin, { type: 'USER', externalId: tenantAdmin.id, roleId: 'admin' });
    expect(await signOutByApi(page)).toBe(204);
    await signIn(page, stack.perch.url, tenantAdmin.email, PASSWORD, EDITOR_PATH);
    await openEditor();
    await page.locator('#perch-ai-settings summary').click();
    await expect.poll(() => limits.textContent()).toContain('Tokens per period, each person: 777 (this tenant’s own)');
    expect(await limits.getByRole('button', { name: 'Save the limits' }).count()).toBe(0);
    expect(await limits.locator('input').count()).toBe(0);
  });

  it('is not shown to a person without TENANT_SETTINGS', { timeout: 60_000 }, async () => {
    const launcher = await createPerson(admin, 'ai-settings-launcher');
    await bind(admin, { type: 'USER', externalId: launcher.id, roleId: 'launcher' });
    expect(await signOutByApi(page)).toBe(204);
    await signIn(page, stack.perch.url, launcher.email, PASSWORD, EDITOR_PATH);
    await openEditor();
    await page.waitForSelector('perch-root[data-feature=top-bar]', { state: 'attached' });
    const mounted = await page.evaluate(() => (window as unknown as { __perch?: PerchOnPage }).__perch?.manager.mountedIds() ?? []);
    expect(mounted).toContain('top-bar');
    expect(mounted).not.toContain('ai-settings');
    expect(await page.locator('#perch-ai-settings').count()).toBe(0);
  });
});
