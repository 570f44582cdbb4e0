/**
 * npm run screenshots — the README's pictures of Perch's screens. Starts the Kestra double and a
 * Perch with sample data (users, a group, bindings, flows changed through Perch so the audit log
 * has entries with diffs, a banner and custom links), opens each screen in Chromium through Perch
 * (server-injected bundle) and saves it in light and dark mode as docs/screenshots/<screen>-<theme>.png;
 * then the extension's options page (two saved addresses) and toolbar popup (store/README pictures).
 * Loopback only; about 20 s.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startProviderStandIn } from '../test/ai/provider-stand-ins.js';
import { launchChromium } from '../test/support/chromium.js';
import { launchWithExtension, perchStarted, prepareTestExtension, signIn, startStack, type Stack } from '../test/support/ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser } from '../test/support/perch.js';

const OUT = path.resolve(import.meta.dirname, '../docs/screenshots');
const flow = (id: string, message: string, extra = '') => `id: ${id}\nnamespace: company.team\ndescription: Nightly load of the sales data\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n${extra}`;

async function ok(res: Promise<{ status: number; text: string }>, what: string) {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text}`);
  return r as { status: number; text: string; json: any };
}

/** Sample people, access and history, all through Perch's API (so the audit log records them). */
async function seed(stack: Stack): Promise<void> {
  const admin = new Browser(stack.perch);
  await admin.login();
  const people = [
    ['ana.lima@acme.io', 'Ana', 'Lima'],
    ['ben.okafor@acme.io', 'Ben', 'Okafor'],
    ['chloe.martin@acme.io', 'Chloé', 'Martin'],
    ['dev.patel@acme.io', 'Dev', 'Patel'],
  ] as const;
  const ids: string[] = [];
  for (const [email, firstName, lastName] of people) {
    ids.push((await ok(admin.fetch('POST', '/api/v1/users', { json: { email, firstName, lastName, password: 'Sample-password-2026' } }), `user ${email}`)).json.id);
  }
  const group = (await ok(admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Data engineering', description: 'Builds and runs the pipelines', membersId: [ids[0], ids[1]] } }), 'group')).json;
  const bindings = [
    { type: 'GROUP', externalId: group.id, roleId: 'editor', namespaceId: 'company.data' },
    { type: 'USER', externalId: ids[2], roleId: 'viewer', namespaceId: 'company.team' },
    { type: 'USER', externalId: ids[3], roleId: 'launcher', namespaceId: 'company.team.sales' },
    { type: 'USER', externalId: ids[1], roleId: 'developer', namespaceId: null },
  ];
  for (const b of bindings) await ok(admin.fetch('POST', '/api/v1/main/bindings', { json: b }), 'binding');
  const robot = (await ok(admin.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'ci-deployer', description: 'Pushes flows from CI' } }), 'service account')).json;
  await ok(admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: robot.id, roleId: 'developer', namespaceId: 'company' } }), 'robot binding');
  await ok(admin.fetch('POST', `/api/v1/main/service-accounts/${robot.id}/api-tokens`, { json: { name: 'github-actions', description: 'Deploys from main' } }), 'token');
  await ok(admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'eva.novak@acme.io', roles: [{ id: 'viewer', namespaces: ['company.team'] }], groups: [group.id] } }), 'invitation');
  const yaml = { 'content-type': 'application/x-yaml' };
  await ok(admin.fetch('POST', '/api/v1/main/flows', { headers: yaml, body: flow('sales_load', 'Loading sales') }), 'flow');
  await ok(admin.fetch('PUT', '/api/v1/main/flows/company.team/sales_load', { headers: yaml, body: flow('sales_load', 'Loading the sales of {{ trigger.date }}', 'triggers:\n  - id: nightly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 2 * * *"\n') }), 'flow update');
  await ok(admin.fetch('POST', '/api/v1/main/flows', { headers: yaml, body: flow('hello_world', 'Hello') }), 'flow 2');
}

async function setTheme(page: Page, theme: 'light' | 'dark'): Promise<void> {
  await page.evaluate((t) => localStorage.setItem('theme', t), theme);
}

async function open(page: Page, base: string, uiPath: string, ready: string): Promise<void> {
  await page.goto(`${base}${uiPath}`);
  await perchStarted(page);
  await page.locator('#perch-top-bar').waitFor();
  await page.locator(ready).first().waitFor();
  await page.waitForTimeout(250);
}

/** The extension APIs the service worker is asked about (run there, typed here). */
type ExtensionApi = { storage: { local: { set(items: object): Promise<void> } }; windows: { create(d: object): Promise<unknown> }; runtime: { getURL(p: string): string } };

/** The extension's own pages: options with two saved addresses, and the popup beside a signed-in Perch tab. */
async function extensionShots(stack: Stack, saved: string[]): Promise<void> {
  const { dir } = await prepareTestExtension();
  const { context, extensionId } = await launchWithExtension(dir);
  try {
    const worker = context.serviceWorkers()[0]!;
    // A second client's Perch, saved earlier (the e2e copy pre-grants 127.0.0.1 only, and nobody answers a prompt here).
    await worker.evaluate(() => (globalThis as unknown as { chrome: ExtensionApi }).chrome.storage.local.set({ perchAddresses: [{ origin: 'https://perch.globex.example', label: 'Globex' }] }));
    const options = await context.newPage();
    await options.goto(`chrome-extension://${extensionId}/options.html`);
    await options.getByLabel('Perch address', { exact: true }).fill(stack.perch.url);
    await options.getByLabel('Name (optional)').fill('Acme');
    await options.getByRole('button', { name: 'Save and allow access' }).click();
    await options.getByText(`Perch screens are active on ${stack.perch.url}.`).waitFor();
    const tab = await context.newPage();
    await signIn(tab, stack.perch.url, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/flows');
    for (const theme of ['light', 'dark'] as const) {
      await options.bringToFront();
      await options.emulateMedia({ colorScheme: theme });
      await options.waitForTimeout(250);
      const optionsFile = path.join(OUT, `extension-options-${theme}.png`);
      await options.screenshot({ path: optionsFile });
      await tab.bringToFront();
      const opened = context.waitForEvent('page');
      await worker.evaluate(() => {
        const { chrome } = globalThis as unknown as { chrome: ExtensionApi };
        return chrome.windows.create({ url: chrome.runtime.getURL('/popup.html'), type: 'popup', focused: false, width: 360, height: 300 });
      });
      const popup = await opened;
      await popup.emulateMedia({ colorScheme: theme });
      await popup.getByText('Signed in as').waitFor();
      const popupFile = path.join(OUT, `extension-popup-${theme}.png`);
      await popup.locator('main').screenshot({ path: popupFile });
      await popup.close();
      saved.push(path.relative(process.cwd(), optionsFile), path.relative(process.cwd(), popupFile));
    }
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  // The AI copilot's model: an OpenAI-compatible stand-in on loopback that answers the flow below.
  const model = await startProviderStandIn('openai-compatible');
  model.script = [`\`\`\`yaml\n${flow('hello_world', 'Bonjour {{ flow.namespace }}', 'triggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 9 * * *"\n')}\`\`\`\n`];
  const stack = await startStack({
    ai: { providers: [{ id: 'openai', kind: 'openai-compatible', baseUrl: `${model.url}/v1`, model: 'gpt-4o-mini', apiKey: 'sample-key' }] },
    perchUi: {
      banners: [{ id: 'upgrade', message: 'Kestra will be upgraded on Friday at 18:00 UTC: expect 10 minutes of downtime.', type: 'WARNING' }],
      links: { runbook: { title: 'Runbook', url: 'https://wiki.example.com/kestra' }, status: { title: 'Status page', url: 'https://status.example.com' } },
    },
  });
  const browser = await launchChromium();
  const saved: string[] = [];
  try {
    await seed(stack);
    const page = await browser.newPage();
    const base = stack.perch.url;
    await signIn(page, base, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/flows');
    const shot = async (name: string, theme: string, target: Page | ReturnType<Page['locator']> = page, clip?: { x: number; y: number; width: number; height: number }) => {
      const file = path.join(OUT, `${name}-${theme}.png`);
      if (clip) await page.screenshot({ path: file, clip });
      else await target.screenshot({ path: file });
      saved.push(path.relative(process.cwd(), file));
    };
    for (const theme of ['light', 'dark'] as const) {
      await setTheme(page, theme);
      for (const tab of ['users', 'groups', 'roles', 'bindings', 'service-accounts', 'invitations'] as const) {
        await open(page, base, `/ui/main/admin/iam?tab=${tab}`, `[data-testid=${tab.slice(0, -1)}-row]`);
        await shot(`iam-${tab}`, theme);
      }
      // A new token, shown once.
      await open(page, base, '/ui/main/admin/iam?tab=service-accounts', '[data-testid=service-account-row]');
      await page.locator('[data-testid=service-account-tokens]').first().click();
      await page.locator('[data-testid=token-create]').click();
      await page.getByLabel('Token name', { exact: true }).fill(`release-bot-${theme}`);
      await page.getByRole('button', { name: 'Create', exact: true }).last().click();
      await page.locator('[data-testid=token-once]').waitFor();
      await page.waitForTimeout(250);
      await shot('iam-token-once', theme);
      await open(page, base, '/ui/main/admin/tenants/list', '[data-testid=tenant-row]');
      await shot('tenants', theme);
      await open(page, base, '/ui/main/admin/instance', '[data-testid=kestra-status]');
      await shot('instance', theme);
      await open(page, base, '/ui/main/admin/auditlogs', '[data-testid=audit-row]');
      await shot('audit-log', theme);
      await page.locator('[data-testid=audit-row]', { hasText: 'sales_load' }).filter({ hasText: 'UPDATE' }).first().click();
      await page.locator('#perch-audit-detail [data-testid=audit-diff]').waitFor();
      await page.locator('#perch-audit-detail section', { hasText: 'Changes' }).last().scrollIntoViewIfNeeded();
      await page.waitForTimeout(250);
      await shot('audit-detail', theme);

      await open(page, base, '/ui/main/flows', '#app [data-perch-screen]');
      await page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' }).click();
      await page.getByRole('menuitem', { name: 'Sign out' }).waitFor();
      await shot('top-bar-menu', theme);
      await page.keyboard.press('Escape');
      await shot('sidebar', theme, page.locator('#app aside'));
      await shot('banner', theme, page, { x: 0, y: 0, width: 1280, height: 140 });

      // The AI copilot above the flow editor: a suggestion and its diff.
      await open(page, base, '/ui/main/flows/edit/company.team/hello_world/edit', '#editorWrapper[data-loaded=true]');
      await page.locator('[data-testid=copilot-toggle]').click();
      await page.locator('[data-testid=copilot-prompt]').fill('Greet in French with the namespace, every morning at 9');
      await page.locator('[data-testid=copilot-generate]').click();
      await page.locator('[data-testid=copilot-diff]').waitFor();
      await page.waitForTimeout(250);
      await shot('copilot-panel', theme);
    }
    await extensionShots(stack, saved);
  } finally {
    await browser.close();
    await stack.close();
    await model.close();
  }
  console.log(`saved ${saved.length} screenshots:\n${saved.join('\n')}`);
}

await main();
