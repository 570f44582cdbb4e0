/**
 * The AI copilot panel in the stock flow editor (issue 24, point 3), injected by Perch into the Kestra
 * double's UI stand-in, with an OpenAI-compatible stand-in as the model: open a flow, ask for a change
 * from the keyboard, watch the answer stream in, see the diff, apply it (undoable in the editor and from the panel), save; a person
 * without COPILOT:USE gets no panel.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createPerson, PASSWORD } from '../iam/iam-helpers.js';
import { piecesOf, type ProviderStandIn } from '../ai/provider-stand-ins.js';
import { chromiumAvailable, screenshotPath } from '../support/chromium.js';
import { closeCopilotWorld, EDITOR_PATH, flow, startCopilotWorld, type CopilotWorld } from './copilot-world.js';
import { perchStarted, type PerchOnPage, signIn, signOutByApi, type Stack } from '../support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser } from '../support/perch.js';

const haveChromium = await chromiumAvailable();


describe.skipIf(!haveChromium)('the AI copilot panel in the flow editor', () => {
  let model: ProviderStandIn;
  let stack: Stack;
  let browser: BrowserContext;
  let page: Page;
  let admin: Browser;

  let world: CopilotWorld | undefined;
  beforeAll(async () => {
    world = await startCopilotWorld((url) => ({ providers: [{ id: 'openai', kind: 'openai-compatible', baseUrl: `${url}/v1`, model: 'gpt-test', apiKey: 'sk-test-panel' }] }));
    ({ model, stack, browser, page, admin } = world);
  });
  afterAll(() => closeCopilotWorld(world ?? {}));

  const editorText = () => page.locator('#editorWrapper textarea').inputValue();
  const openEditor = async () => {
    await page.goto(`${stack.perch.url}${EDITOR_PATH}`);
    await perchStarted(page);
    await page.waitForSelector('#editorWrapper[data-loaded=true]');
  };

  it('asks for a change, shows the diff, applies it undoably, and the flow saves', { timeout: 90_000 }, async () => {
    await signIn(page, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, EDITOR_PATH);
    await openEditor();
    expect(await editorText()).toBe(flow('hi'));
    const answer = `Here it is:\n\`\`\`yaml\n${flow('bonjour')}\`\`\`\n`;
    model.script = [answer];
    // The model's stream stops after its first piece until the test has seen that piece on the page.
    let release!: () => void;
    model.hold = new Promise<void>((resolve) => (release = resolve));

    // Keyboard only: focus the toggle, open with Enter, type, send with Ctrl+Enter.
    const toggle = page.locator('[data-testid=copilot-toggle]');
    await toggle.focus();
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await expect.poll(() => page.evaluate(() => document.querySelector('perch-root[data-feature=flow-copilot]')?.shadowRoot?.activeElement?.id)).toBe('perch-copilot-prompt');
    await page.keyboard.type('Say hello in French');
    await page.keyboard.press('Control+Enter');

    // The answer shows as it streams in, before Perch has checked it (no diff, no Apply yet).
    const stream = page.locator('[data-testid=copilot-stream]');
    await expect.poll(() => stream.textContent()).toBe(piecesOf(answer)[0]);
    expect(await page.locator('[data-testid=copilot-diff]').count()).toBe(0);
    expect(await page.locator('[data-testid=copilot-apply]').count()).toBe(0);
    expect(model.calls[0]!.body.stream).toBe(true);
    release();
    model.hold = undefined;

    const diff = page.locator('[data-testid=copilot-diff]');
    await diff.waitFor();
    expect(await stream.count()).toBe(0);
    expect(await diff.locator('[data-diff=removed]').allTextContents()).toEqual(['-     message: hi']);
    expect(await diff.locator('[data-diff=added]').allTextContents()).toEqual(['+     message: bonjour']);
    // The model saw the editor's flow and the request; the key never reached the page.
    expect(JSON.stringify(model.calls[0]!.body)).toContain('message: hi');
    expect(JSON.stringify(model.calls[0]!.body)).toContain('Say hello in French');
    expect(await page.content()).not.toContain('sk-test-panel');
    await page.screenshot({ path: await screenshotPath('copilot-panel-diff') });

    await page.locator('[data-testid=copilot-apply]').click();
    expect(await editorText()).toBe(flow('bonjour'));
    await expect.poll(() => page.locator('[data-testid=copilot-status]').textContent()).toContain('Applied');
    // The panel's Undo puts the previous text back…
    await page.locator('[data-testid=copilot-undo]').click();
    expect(await editorText()).toBe(flow('hi'));
    // …and both edits sit on the editor's own undo stack: Ctrl+Z there takes the panel's Undo back.
    await page.locator('#editorWrapper textarea').focus();
    await page.keyboard.press('Control+z');
    expect(await editorText()).toBe(flow('bonjour'));

    // Saved the editor's way (Ctrl+S): Kestra gets the suggestion.
    stack.kestra.clear();
    await page.keyboard.press('Control+s');
    await page.waitForSelector('#editorWrapper[data-saved="1"]');
    const put = stack.kestra.requests.find((r) => r.method === 'PUT' && r.url === '/api/v1/main/flows/company.team/hello');
    expect(put?.body.toString('utf8')).toBe(flow('bonjour'));
    const saved = await admin.fetch('GET', '/api/v1/main/flows/company.team/hello');
    expect(saved.json.source).toBe(flow('bonjour'));
  });

  it('is not shown to a person without COPILOT:USE, and Perch refuses them the generation', { timeout: 60_000 }, async () => {
    const viewer = await createPerson(admin, 'copilot-viewer');
    await bind(admin, { type: 'USER', externalId: viewer.id, roleId: 'viewer' });
    expect(await signOutByApi(page)).toBe(204);
    await signIn(page, stack.perch.url, viewer.email, PASSWORD, EDITOR_PATH);
    await openEditor();
    // Perch's screens ran on this page (the top bar is there), the copilot is not among them.
    await page.waitForSelector('perch-root[data-feature=top-bar]', { state: 'attached' });
    const mounted = await page.evaluate(() => (window as unknown as { __perch?: PerchOnPage }).__perch?.manager.mountedIds() ?? []);
    expect(mounted).toContain('top-bar');
    expect(mounted).not.toContain('flow-copilot');
    expect(await page.locator('#perch-copilot').count()).toBe(0);
    expect(await page.locator('#perch-fallback').count()).toBe(0);

    model.calls.length = 0;
    const status = await page.evaluate(async () => (await fetch('/api/v1/main/ai/generate/flow', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ conversationId: 'c1', userPrompt: 'hi' }) })).status);
    expect(status).toBe(403);
    expect(model.calls).toEqual([]);
  });
});
