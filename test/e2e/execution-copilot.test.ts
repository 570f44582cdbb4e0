/**
 * The AI copilot on a failed execution's page (issue 24, point 3), injected by Perch into the Kestra
 * double's UI stand-in, with an OpenAI-compatible stand-in as the model: "Explain this failure"
 * streams its text in; "Propose a fix" shows Perch's checked fix as a diff against the flow, and
 * "Open in the flow editor" carries it to the editor's copilot, where it applies undoably and saves.
 * No actions on a successful execution, nor for a person without COPILOT:USE.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createPerson, PASSWORD } from '../iam/iam-helpers.js';
import { piecesOf, startProviderStandIn, type ProviderStandIn } from '../ai/provider-stand-ins.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { perchStarted, type PerchOnPage, signIn, signOutByApi, startStack, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser } from '../support/perch.js';

const haveChromium = await chromiumAvailable();

const failing = `id: nightly\nnamespace: company.team\ntasks:\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n    errorMessage: "Connection refused: db.internal:5432"\n`;
const fixed = `id: nightly\nnamespace: company.team\ntasks:\n  - id: boom\n    type: io.kestra.plugin.core.log.Log\n    message: database reached\n`;
const fine = `id: fine\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

describe.skipIf(!haveChromium)('the AI copilot on a failed execution', () => {
  let model: ProviderStandIn;
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let admin: Browser;
  let failedId: string;
  let succeededId: string;

  const runFlow = async (source: string, id: string, state: 'FAILED' | 'SUCCESS') => {
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
    const started = await admin.fetch('POST', `/api/v1/main/executions/company.team/${id}`);
    expect(started.status, started.text).toBe(200);
    await stack.kestra.waitForExecution(started.json.id, [state]);
    return started.json.id as string;
  };
  const executionPath = (id: string, flowId: string) => `/ui/main/executions/company.team/${flowId}/${id}/overview`;
  const openExecution = async (id: string, flowId: string) => {
    await page.goto(`${stack.perch.url}${executionPath(id, flowId)}`);
    await perchStarted(page);
    await page.waitForSelector('.execution-banner[data-state]');
  };

  beforeAll(async () => {
    model = await startProviderStandIn('openai-compatible');
    stack = await startStack({ ai: { providers: [{ id: 'openai', kind: 'openai-compatible', baseUrl: `${model.url}/v1`, model: 'gpt-test', apiKey: 'sk-test-exec' }] } });
    browser = await launchChromium();
    page = await browser.newPage();
    admin = new Browser(stack.perch);
    await admin.login();
    failedId = await runFlow(failing, 'nightly', 'FAILED');
    succeededId = await runFlow(fine, 'fine', 'SUCCESS');
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await model?.close();
  });

  it('explains the failure as it streams, proposes a fix as a diff, and applies it in the flow editor', { timeout: 120_000 }, async () => {
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, executionPath(failedId, 'nightly'));
    await openExecution(failedId, 'nightly');

    // Explain: the first piece shows while the model holds back the rest.
    const answer = 'The task boom is a Fail task: it stops the run with "Connection refused". Replace it with the real work.';
    model.script = [answer];
    let release!: () => void;
    model.hold = new Promise<void>((resolve) => (release = resolve));
    await page.locator('[data-testid=exec-explain]').click();
    const explanation = page.locator('[data-testid=exec-explanation]');
    await expect.poll(() => explanation.textContent()).toBe(piecesOf(answer)[0]);
    release();
    model.hold = undefined;
    await expect.poll(() => explanation.textContent()).toBe(answer);
    expect(model.calls[0]!.body.stream).toBe(true);
    expect(JSON.stringify(model.calls[0]!.body)).toContain('Connection refused: db.internal:5432');

    // Propose a fix: Perch's checked YAML as a diff against the flow's current source.
    model.script = [`Here:\n\`\`\`yaml\n${fixed}\`\`\`\n`];
    await page.locator('[data-testid=exec-fix]').click();
    const diff = page.locator('#perch-execution-copilot [data-testid=copilot-diff]');
    await diff.waitFor();
    expect(await diff.locator('[data-diff=added]').allTextContents()).toEqual(['+     type: io.kestra.plugin.core.log.Log', '+     message: database reached']);
    expect(await diff.locator('[data-diff=removed]').allTextContents()).toEqual(['-     type: io.kestra.plugin.core.execution.Fail', '-     errorMessage: "Connection refused: db.internal:5432"']);
    expect(await page.content()).not.toContain('sk-test-exec');
    await page.screenshot({ path: await screenshotPath('execution-copilot-fix') });

    // Open in the flow editor: the fix waits there as the copilot's suggestion; Apply puts it in the editor, Undo takes it back.
    await page.locator('[data-testid=exec-apply]').click();
    await page.waitForURL(`**/ui/main/flows/edit/company.team/nightly/edit`);
    await page.waitForSelector('#editorWrapper[data-loaded=true]');
    const editorText = () => page.locator('#editorWrapper textarea').inputValue();
    expect(await editorText()).toBe(failing);
    await page.locator('#perch-copilot [data-testid=copilot-diff]').waitFor();
    expect(await page.locator('[data-testid=copilot-status]').textContent()).toContain(failedId);
    await page.locator('[data-testid=copilot-apply]').click();
    expect(await editorText()).toBe(fixed);
    await page.locator('[data-testid=copilot-undo]').click();
    expect(await editorText()).toBe(failing);
    await page.locator('#editorWrapper textarea').focus();
    await page.keyboard.press('Control+z');
    expect(await editorText()).toBe(fixed);
    stack.kestra.clear();
    await page.keyboard.press('Control+s');
    await page.waitForSelector('#editorWrapper[data-saved="1"]');
    expect((await admin.fetch('GET', '/api/v1/main/flows/company.team/nightly')).json.source).toBe(fixed);
    // The proposal was taken once: opening the editor again shows no suggestion.
    await page.reload();
    await perchStarted(page);
    await page.waitForSelector('#editorWrapper[data-loaded=true]');
    expect(await page.locator('[data-testid=copilot-diff]').count()).toBe(0);
  });

  it('offers nothing on an execution that did not fail', { timeout: 60_000 }, async () => {
    await openExecution(succeededId, 'fine');
    await page.waitForSelector('perch-root[data-feature=execution-copilot]', { state: 'attached' });
    expect(await page.locator('.execution-banner').getAttribute('data-state')).toBe('SUCCESS');
    expect(await page.locator('[data-testid=exec-explain]').count()).toBe(0);
  });

  it('is not shown to a person without COPILOT:USE, and Perch refuses them both requests', { timeout: 60_000 }, async () => {
    const viewer = await createPerson(admin, 'exec-copilot-viewer');
    await bind(admin, { type: 'USER', externalId: viewer.id, roleId: 'viewer' });
    expect(await signOutByApi(page)).toBe(204);
    await signIn(page, stack.perch.url, viewer.email, PASSWORD, executionPath(failedId, 'nightly'));
    await openExecution(failedId, 'nightly');
    await page.waitForSelector('perch-root[data-feature=top-bar]', { state: 'attached' });
    const mounted = await page.evaluate(() => (window as unknown as { __perch?: PerchOnPage }).__perch?.manager.mountedIds() ?? []);
    expect(mounted).not.toContain('execution-copilot');
    expect(await page.locator('#perch-execution-copilot').count()).toBe(0);
    model.calls.length = 0;
    const statuses = await page.evaluate(async (id) => Promise.all(['explain', 'fix'].map(async (op) => (await fetch(`/api/v1/main/ai/executions/${id}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ conversationId: 'c1' }) })).status)), failedId);
    expect(statuses).toEqual([403, 403]);
    expect(model.calls).toEqual([]);
  });
});
