/**
 * The one end-to-end scenario of Perch's screens, run twice (test/e2e/ext-injected.test.ts with the
 * server-injected bundle, test/e2e/ext-extension.test.ts with the unpacked extension): the admin
 * creates a user and binds Viewer on a namespace in the IAM screen, finds both in the audit log and
 * opens an entry's detail, signs out; the new user then sees only what the role allows.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { screenshotPath } from './chromium.js';
import { perchStarted, signIn, type Stack } from './ext-e2e.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './perch.js';

const FLOW = (namespace: string, id: string) => `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

export interface ScenarioOptions {
  /** `window.__perch.source` expected: who mounted the screens. */
  source: 'server' | 'extension';
  /** Prefix of the screenshots' names. */
  label: string;
}

/** How many `<script data-perch-screens>` tags the page holds (the server-injected bundle's). */
const injectedTags = (page: Page) => page.evaluate(() => document.querySelectorAll('script[data-perch-screens]').length);

async function expectMountedBy(page: Page, source: ScenarioOptions['source']): Promise<void> {
  expect(await perchStarted(page)).toEqual({ source });
  expect(await injectedTags(page)).toBe(source === 'server' ? 1 : 0);
}

export async function runIamScenario(page: Page, stack: Stack, options: ScenarioOptions): Promise<void> {
  try {
    await scenario(page, stack, options);
  } catch (error) {
    // What the page looked like when a step failed.
    await page.screenshot({ path: await screenshotPath(`${options.label}-failure`), fullPage: true }).catch(() => {});
    const dialog = await page.locator('dialog[open]').first().textContent({ timeout: 500 }).catch(() => null);
    if (dialog) process.stderr.write(`[${options.label}] open dialog when the step failed: ${dialog}\n`);
    throw error;
  }
}

async function scenario(page: Page, stack: Stack, { source, label }: ScenarioOptions): Promise<void> {
  const base = stack.perch.url;
  const email = `viewer-${Date.now()}@perch.test`;
  const password = 'Viewer-password-2026';
  stack.kestra.addFlow(FLOW('company.team', 'hello'));
  stack.kestra.addFlow(FLOW('finance.payroll', 'secret'));

  page.setDefaultTimeout(15_000);
  // ---- the admin, on the IAM screen that replaces Kestra's upsell ----
  await signIn(page, base, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/admin/iam');
  await expectMountedBy(page, source);
  const iam = page.locator('#perch-iam');
  await iam.waitFor();
  expect(await page.locator('section.empty-template').isVisible()).toBe(false);
  // One product in the menu: the stock IAM item is Perch's now, unlocked and without its EE badge.
  const stockIam = page.locator('#app [data-perch-screen=iam]').first();
  await stockIam.waitFor();
  expect(await stockIam.getAttribute('class')).not.toMatch(/is-locked/);
  expect(await page.locator('#perch-sidebar').count()).toBe(0);

  await iam.locator('[data-testid=user-create]').click();
  const userForm = page.locator('[data-testid=user-form]');
  await userForm.getByLabel('Email').fill(email);
  await userForm.getByLabel('First name').fill('Vera');
  await userForm.getByLabel('Last name').fill('Viewer');
  await userForm.getByLabel('Password').fill(password);
  await userForm.getByRole('button', { name: 'Create' }).click();
  await userForm.waitFor({ state: 'detached' });
  const userRow = iam.locator('[data-testid=user-row]', { hasText: email });
  await userRow.waitFor();
  const userId = await userRow.getAttribute('data-user-id');
  expect(userId).toBeTruthy();
  await page.screenshot({ path: await screenshotPath(`${label}-iam-user-created`) });

  await iam.getByRole('tab', { name: 'Bindings' }).click();
  await page.waitForFunction(() => new URLSearchParams(location.search).get('tab') === 'bindings');
  await page.locator('#perch-iam [data-testid=binding-create]').click();
  const bindingForm = page.locator('[data-testid=binding-form]');
  // Part of the address, then the suggestion (the list closes once the text is a whole suggestion).
  await bindingForm.getByLabel('User or group').fill(email.split('@')[0]!);
  await bindingForm.getByRole('option', { name: new RegExp(email.replace(/[.+]/g, '\\$&')) }).first().click();
  expect(await bindingForm.getByLabel('User or group').inputValue()).toBe(email);
  await bindingForm.getByLabel('Role').selectOption({ label: 'Viewer' });
  await bindingForm.getByLabel('Namespace').fill('company.team');
  await bindingForm.getByRole('button', { name: 'Create' }).click();
  await bindingForm.waitFor({ state: 'detached' });
  const bindingRow = page.locator('#perch-iam [data-testid=binding-row]', { hasText: email });
  await bindingRow.waitFor();
  expect(await bindingRow.textContent()).toMatch(/Viewer.*company\.team/);
  const bindingId = await bindingRow.getAttribute('data-binding-id');
  expect(bindingId).toBeTruthy();
  await page.screenshot({ path: await screenshotPath(`${label}-iam-binding-created`) });

  // ---- the audit log, reached from Kestra's own left-menu item, Perch's now (SPA navigation) ----
  await page.locator('#app a[data-perch-screen=audit]').first().click();
  await page.waitForURL(`${base}/ui/main/admin/auditlogs`);
  const audit = page.locator('#perch-audit');
  await audit.waitFor();
  expect(await page.locator('perch-root[data-feature=iam-page]').count()).toBe(0);
  const bindingEntry = audit.locator('[data-testid=audit-row]', { hasText: bindingId! }).filter({ hasText: 'BINDING' });
  await bindingEntry.first().waitFor();
  expect(await bindingEntry.first().textContent()).toContain('CREATE');
  await page.screenshot({ path: await screenshotPath(`${label}-audit-log`) });

  // The user's creation is an instance-wide event (the `_instance` chain, read by instance owners
  // through /api/v1/auditlogs/…); the tenant's audit screen lists the tenant's chain only.
  const instanceWide = await page.evaluate(async (id) => {
    const res = await fetch(`/api/v1/auditlogs/search?size=100&sort=date:desc`);
    const body = (await res.json()) as { results: { auditLog: { type: string; detail: { resourceType?: string; id?: string } } }[] };
    return { status: res.status, types: body.results.filter((r) => r.auditLog.detail.id === id).map((r) => `${r.auditLog.type} ${r.auditLog.detail.resourceType}`) };
  }, userId!);
  expect(instanceWide).toEqual({ status: 200, types: expect.arrayContaining(['CREATE USER']) });

  // The binding's entry opens in the detail drawer with what was asked.
  await bindingEntry.first().click();
  const detail = page.locator('#perch-audit-detail');
  await detail.waitFor();
  expect(await detail.getAttribute('data-audit-id')).toBe(await bindingEntry.first().getAttribute('data-audit-id'));
  const detailText = (await detail.textContent()) ?? '';
  for (const part of [bindingId!, userId!, 'viewer', 'company.team', ADMIN_EMAIL]) expect(detailText).toContain(part);
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'detached' });

  // A change with a before/after state (a flow saved through Perch) shows its diff in the drawer.
  const saved = await page.evaluate(async (yaml) => (await fetch('/api/v1/main/flows', { method: 'POST', headers: { 'content-type': 'application/x-yaml' }, body: yaml })).status, FLOW('company.team', 'audited'));
  expect(saved).toBe(200);
  await audit.getByLabel('Search').fill('audited');
  await audit.getByLabel('Search').press('Enter');
  const flowEntry = audit.locator('[data-testid=audit-row]', { hasText: 'audited' }).filter({ hasText: 'FLOW' });
  await flowEntry.first().click();
  await detail.waitFor();
  const diff = detail.locator('[data-testid=audit-diff]');
  await diff.waitFor();
  // Each line: a screen-reader-only "added: " then the diff line itself.
  const added = await diff.locator('[data-change=added]').evaluateAll((lines) => lines.map((l) => l.lastChild?.textContent ?? ''));
  expect(added.length).toBeGreaterThan(0);
  expect(added.every((line) => line.startsWith('+'))).toBe(true);
  expect(added.join('\n')).toContain('audited');
  await page.screenshot({ path: await screenshotPath(`${label}-audit-detail`) });
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'detached' });

  // ---- sign out from the top bar's menu ----
  await page.locator('#perch-top-bar').getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.pathname === '/perch/login');

  // ---- the new user: Viewer on company.team only ----
  await signIn(page, base, email, password, '/ui/main/flows');
  await expectMountedBy(page, source);
  await page.locator('#perch-top-bar').waitFor();
  expect(await page.locator('[data-testid=perch-user-name]').textContent()).toMatch(/Vera|viewer-/);
  // Nothing of IAM or the audit log in the left menu (no Perch section at all for this role).
  expect(await page.locator('#perch-sidebar').getByRole('link', { name: 'IAM' }).count()).toBe(0);
  expect(await page.locator('#perch-sidebar').getByRole('link', { name: 'Audit logs' }).count()).toBe(0);
  // …and the stock menu's Enterprise items stay as Kestra made them.
  expect(await page.locator('#app [data-perch-screen]').count()).toBe(0);
  await page.screenshot({ path: await screenshotPath(`${label}-viewer-flows`) });

  for (const [route, screen, lack] of [['admin/iam', 'iam', 'users, groups, roles'], ['admin/auditlogs', 'audit', 'AUDITLOG:LIST']] as const) {
    await page.goto(`${base}/ui/main/${route}`);
    await expectMountedBy(page, source);
    await page.locator('#perch-top-bar').waitFor();
    // Not Kestra's Enterprise sales page, not the screen: Perch's page saying what is lacking and whom to ask.
    const noAccess = page.locator('#perch-no-access');
    await noAccess.waitFor();
    expect(await noAccess.getAttribute('data-screen'), route).toBe(screen);
    expect(await page.locator('[data-testid=no-access-lack]').textContent(), route).toContain(lack);
    expect(await noAccess.textContent(), route).toContain('Ask an administrator of tenant “main”');
    expect(await page.locator('section.empty-template').isVisible(), route).toBe(false);
    expect(await page.locator('#perch-iam, #perch-audit').count(), route).toBe(0);
  }
  await page.screenshot({ path: await screenshotPath(`${label}-viewer-no-access`) });

  // Perch enforces on every call: inside the namespace reads pass, outside them and writes are refused.
  const status = (path: string, init?: RequestInit) => page.evaluate(async ([p, i]) => (await fetch(p as string, i as RequestInit | undefined)).status, [path, init] as const);
  expect(await status('/api/v1/main/flows/company.team/hello')).toBe(200);
  expect(await status('/api/v1/main/flows/finance.payroll/secret')).toBe(403);
  expect(await status('/api/v1/main/bindings/search')).toBe(403);
  expect(await status('/api/v1/main/flows', { method: 'POST', headers: { 'content-type': 'application/x-yaml' }, body: FLOW('company.team', 'nope') })).toBe(403);
  expect(stack.kestra.contractViolations).toEqual([]);
}
