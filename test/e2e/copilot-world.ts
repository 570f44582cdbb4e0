/**
 * What the copilot's Chromium tests share: an OpenAI-compatible stand-in as the model, a Perch stack
 * with the test's AI settings, Chromium with one page, the admin signed in, and the flow `hello` saved.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { startProviderStandIn, type ProviderStandIn } from '../ai/provider-stand-ins.js';
import { launchChromium } from '../support/chromium.js';
import { startStack, type Stack } from '../support/ext-e2e.js';
import type { PerchConfigInput } from '../../backend/config/config.js';
import { Browser } from '../support/perch.js';

export const flow = (message: string) => `id: hello\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
export const EDITOR_PATH = '/ui/main/flows/edit/company.team/hello/edit';

export interface CopilotWorld {
  model: ProviderStandIn;
  stack: Stack;
  browser: BrowserContext;
  page: Page;
  admin: Browser;
}

/** `ai`: the stack's AI settings, given the stand-in's address. */
export async function startCopilotWorld(ai: (modelUrl: string) => PerchConfigInput['ai']): Promise<CopilotWorld> {
  const model = await startProviderStandIn('openai-compatible');
  const stack = await startStack({ ai: ai(model.url) });
  const browser = await launchChromium();
  const page = await browser.newPage();
  const admin = new Browser(stack.perch);
  await admin.login();
  const created = await admin.fetch('POST', '/api/v1/main/flows', { body: flow('hi'), headers: { 'content-type': 'application/x-yaml' } });
  expect(created.status, created.text).toBe(200);
  return { model, stack, browser, page, admin };
}

export async function closeCopilotWorld(world: Partial<CopilotWorld>): Promise<void> {
  await world.browser?.close();
  await world.stack?.close();
  await world.model?.close();
}
