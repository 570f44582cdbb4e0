/**
 * Apps in Chromium (issue 23, point 5), in front of the Kestra double: an app authored through the API,
 * opened signed out (public) and signed in (private), its form submitted with a file, the run followed
 * live (SSE) to its outputs and the file downloaded; an approval app resuming a paused execution with
 * the pause's inputs; a person without APP rights refused.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { chromiumAvailable, launchChromium, screenshotPath } from '../support/chromium.js';
import { signIn as signInToUi, stackInChromium } from '../support/ext-e2e.js';
import { multipartForm } from '../support/multipart.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startBehindKestra, type Browser, type RunningPerch } from '../support/perch.js';
import { createPerson, PASSWORD } from '../iam/iam-helpers.js';

const haveChromium = await chromiumAvailable();

const FLOW = `id: report
namespace: company.team
inputs:
  - id: user
    type: STRING
    displayName: Your name
  - id: dataset
    type: SELECT
    values: [orders, customers]
  - id: upload
    type: FILE
outputs:
  - id: summary
    type: STRING
    value: "Report for {{ inputs.user }} on {{ inputs.dataset }}"
  - id: file
    type: FILE
    value: "{{ inputs.upload }}"
tasks:
  - id: work
    type: io.kestra.plugin.core.log.Log
    message: "Working for {{ inputs.user }}"
${Array.from({ length: 40 }, (_, i) => `  - id: step${i}\n    type: io.kestra.plugin.core.log.Log\n    message: step\n`).join('')}`;

const PAUSE_FLOW = `id: vm
namespace: company.team
inputs:
  - id: size
    type: STRING
tasks:
  - id: approval
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOLEAN
      - id: note
        type: STRING
        required: false
  - id: done
    type: io.kestra.plugin.core.log.Log
    message: ok
`;

const app = (id: string, flowId: string, access: string, stages: string) => `id: ${id}
type: io.kestra.plugin.ee.apps.Execution
displayName: ${id}
namespace: company.team
flowId: ${flowId}
access: ${access}
layout:
${stages}`;

const FORM_STAGES = `  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Markdown
        content: "Request a **report**."
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionButton
        text: Request
  - on: RUNNING
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Loading
  - on: SUCCESS
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Alert
        style: SUCCESS
        content: Your report is ready.
      - type: io.kestra.plugin.ee.apps.execution.blocks.Outputs
`;

const APPROVAL_STAGES = `  - on: PAUSE
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Markdown
        content: "A VM is requested."
      - type: io.kestra.plugin.ee.apps.execution.blocks.Inputs
      - type: io.kestra.plugin.ee.apps.execution.blocks.ResumeExecutionForm
      - type: io.kestra.plugin.ee.apps.execution.blocks.ResumeExecutionButton
        text: Approve
`;

/** Signs in afresh (no cookies kept from an earlier test) on the sign-in page `path` leads to. */
async function signIn(page: Page, base: string, path: string, email: string, password: string): Promise<void> {
  await page.context().clearCookies();
  await signInToUi(page, base, email, password, path);
}

describe.skipIf(!haveChromium)('apps in Chromium', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let close: () => Promise<void>;
  let browser: BrowserContext;
  const uids: Record<string, string> = {};

  beforeAll(async () => {
    ({ kestra, perch, admin, close } = await startBehindKestra('PT5S'));
    kestra.addFlow(FLOW);
    kestra.addFlow(PAUSE_FLOW);
    for (const [name, source] of Object.entries({
      public: app('public-report', 'report', 'PUBLIC', FORM_STAGES),
      private: app('private-report', 'report', 'PRIVATE', FORM_STAGES),
      approval: app('vm-approval', 'vm', 'PRIVATE', APPROVAL_STAGES),
    })) {
      const res = await admin.fetch('POST', '/api/v1/main/apps', { body: source, headers: { 'content-type': 'application/x-yaml' } });
      expect(res.status, res.text).toBe(200);
      uids[name] = res.json.uid;
    }
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await close?.();
  });

  it('a public app, signed out: fills the form with a file, follows the run live to its outputs, downloads the file', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await page.context().clearCookies();
    await page.goto(`${perch.url}/ui/main/apps/${uids.public}`);
    expect(await page.locator('h1').textContent()).toBe('public-report');
    expect(await page.locator('label[for=input-user]').textContent()).toContain('Your name');
    await page.fill('#input-user', 'Grace');
    await page.selectOption('#input-dataset', 'customers');
    await page.setInputFiles('#input-upload', { name: 'rows.csv', mimeType: 'text/csv', buffer: Buffer.from('id,name\n1,Grace\n') });
    await page.screenshot({ path: await screenshotPath('app-form') });
    await Promise.all([page.waitForURL(/\/runs\//), page.click('button:has-text("Request")')]);
    // The run's page shows the RUNNING stage (40 steps of the double's 50 ms; the page may first open
    // at CREATED and move on by itself), follows the execution (SSE) and shows the SUCCESS stage once
    // Kestra reports it, without anyone reloading it.
    await page.locator('.loading').waitFor({ timeout: 10_000 });
    expect(await page.locator('#app-state').textContent()).toBe('Status: RUNNING');
    await page.locator('text=Your report is ready.').waitFor({ timeout: 20_000 });
    expect(await page.locator('#app-state').textContent()).toBe('Status: SUCCESS');
    expect(await page.locator('main').textContent()).toContain('Report for Grace on customers');
    await page.screenshot({ path: await screenshotPath('app-run-success') });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.file')]);
    expect(download.suggestedFilename()).toBe('rows.csv');
    expect((await readFile((await download.path())!)).toString()).toBe('id,name\n1,Grace\n');
    const created = kestra.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/api/v1/main/executions/company.team/report'));
    expect(created).toHaveLength(1);
  });

  it('a private app: the sign-in page first, then the form; a person without APP rights is refused', { timeout: 60_000 }, async () => {
    const page = await browser.newPage();
    await signIn(page, perch.url, `/ui/main/apps/${uids.private}`, ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(await page.locator('#input-user').count()).toBe(1);

    const person = await createPerson(admin, 'no-app');
    await signIn(page, perch.url, `/ui/main/apps/${uids.private}`, person.email, PASSWORD);
    expect(await page.locator('.error').textContent()).toMatch(/not allowed to use this app/);
    expect(await page.locator('#input-user').count()).toBe(0);
  });

  it('an approval app: lists the paused execution, resumes it with the pause inputs', { timeout: 60_000 }, async () => {
    const form = multipartForm([{ name: 'size', data: '16 vCPU' }]);
    const res = await request(`${kestra.url}/api/v1/main/executions/company.team/vm`, { method: 'POST', body: form.body, headers: { ...form.headers, authorization: kestra.authorization } });
    const id = ((await res.body.json()) as { id: string }).id;
    await kestra.waitForExecution(id, ['PAUSED']);

    const page = await browser.newPage();
    await signIn(page, perch.url, `/ui/main/apps/${uids.approval}/approvals`, ADMIN_EMAIL, ADMIN_PASSWORD);
    await Promise.all([page.waitForURL(new RegExp(`/approvals/${id}$`)), page.click(`a:has-text("${id}")`)]);
    expect(await page.locator('main').textContent()).toContain('16 vCPU');
    await page.selectOption('#input-approved', 'true');
    await page.fill('#input-note', 'within budget');
    await page.fill('#comment', 'approved in the weekly review');
    await page.screenshot({ path: await screenshotPath('app-approval') });
    await page.click('button:has-text("Approve")');
    await page.locator('text=The request was approved.').waitFor();
    const done = await kestra.waitForExecution(id, ['SUCCESS']);
    expect(done.state).toMatchObject({ current: 'SUCCESS' });
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', uids.approval!).where('action', '=', 'EXECUTE').executeTakeFirstOrThrow();
    expect(JSON.parse(entry.details)).toMatchObject({ operation: 'resume', executionId: id, comment: 'approved in the weekly review' });
  });
});

describe.skipIf(!haveChromium)('authoring an app on the Apps page (screens injected by Perch)', () => {
  const env = stackInChromium();

  it('writes the YAML, sees an error at its line, saves, and its public link opens signed out', { timeout: 90_000 }, async () => {
    env.stack.kestra.addFlow(FLOW);
    const base = env.stack.perch.url;
    const page = await env.browser.newPage();
    await signInToUi(page, base, ADMIN_EMAIL, ADMIN_PASSWORD, '/ui/main/apps');
    const apps = page.locator('#perch-apps');
    await apps.waitFor({ timeout: 15_000 });
    await apps.locator('[data-testid=app-create]').click();
    const source = apps.locator('[data-testid=app-source]');
    await source.waitFor();
    const yaml = app('authored', 'report', 'PUBLIC', FORM_STAGES);
    await source.fill(yaml.replace('        text: Request', '        txt: Request'));
    await apps.locator('[data-testid=app-save]').click();
    const line = apps.locator('[data-testid=app-error-line]').first();
    await line.waitFor();
    const wrongLine = yaml.split('\n').findIndex((l) => l.includes('text: Request')) + 1;
    expect(await apps.locator('[data-testid=app-error-line]').evaluateAll((els) => els.map((e) => e.getAttribute('data-line')))).toContain(String(wrongLine));
    await page.screenshot({ path: await screenshotPath('app-editor-error') });

    await source.fill(yaml);
    await apps.locator('[data-testid=app-save]').click();
    await apps.getByText('Saved.').waitFor();
    const link = await apps.locator('a[href*="/ui/main/apps/"]').first().getAttribute('href');
    expect(link).toMatch(new RegExp(`^${base}/ui/main/apps/[0-9A-Za-z]{22}$`));

    const visitor = await env.browser.newPage();
    await visitor.context().clearCookies();
    await visitor.goto(link!);
    expect(await visitor.locator('h1').textContent()).toBe('authored');
    expect(await visitor.locator('#input-dataset').count()).toBe(1);
  });
});
