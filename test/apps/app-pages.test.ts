/**
 * The pages people use (issue 23, points 2 and 3), in front of the Kestra double: a public app's form
 * generated from its flow's inputs, submitted signed out with a file, starting the flow as the app
 * (audited as "public"), its run followed live to its outputs and the file the app names; a private
 * app refused to who may not use it; an approval app resuming a paused execution with the pause's
 * inputs (and rejecting another), the comment kept in the audit log; CSRF, rate and size limits, a
 * disabled app and Kestra down. What reaches Kestra is asserted on the double's recorded calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as undiciRequest } from 'undici';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { multipartForm } from '../support/multipart.js';
import { Browser, exchange, startBehindKestra, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

const FLOW = `id: hello
namespace: company.team
inputs:
  - id: user
    type: STRING
    defaults: world
  - id: count
    type: INT
  - id: color
    type: SELECT
    values: [red, green]
  - id: report
    type: FILE
outputs:
  - id: greeting
    type: STRING
    value: "Hello {{ inputs.user }}"
  - id: attachment
    type: FILE
    value: "{{ inputs.report }}"
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "Hi {{ inputs.user }}"
`;

const APPROVAL_FLOW = `id: approve
namespace: company.team
inputs:
  - id: request
    type: STRING
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOLEAN
      - id: reason
        type: STRING
        required: false
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "approved"
`;

const formApp = (id: string, access: string) => `id: ${id}
type: io.kestra.plugin.ee.apps.Execution
displayName: Report request
namespace: company.team
flowId: hello
access: ${access}
layout:
  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Markdown
        content: "# Ask for a report"
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionButton
        text: Send
  - on: RUNNING
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Loading
  - on: SUCCESS
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Alert
        style: SUCCESS
        content: Done
      - type: io.kestra.plugin.ee.apps.execution.blocks.Outputs
        filter:
          include: [greeting, attachment]
      - type: io.kestra.plugin.ee.apps.execution.blocks.Logs
`;

const APPROVAL_APP = `id: approvals
type: io.kestra.plugin.ee.apps.Execution
namespace: company.team
flowId: approve
access: PRIVATE
layout:
  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm
  - on: PAUSE
    blocks:
      - type: io.kestra.plugin.ee.apps.execution.blocks.Inputs
      - type: io.kestra.plugin.ee.apps.execution.blocks.ResumeExecutionForm
      - type: io.kestra.plugin.ee.apps.execution.blocks.ResumeExecutionButton
        text: Approve
`;

const yaml = { 'content-type': 'application/x-yaml' };

/** A visitor's browser on an app page: its cookies, and the CSRF token of the last page it read. */
class Visitor extends Browser {
  csrf = '';
  async page(path: string) {
    const res = await this.fetch('GET', path);
    this.csrf = /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1] ?? this.csrf;
    return res;
  }
  submit(path: string, parts: { name: string; filename?: string; data: string | Uint8Array }[], headers: Record<string, string> = {}) {
    const form = multipartForm([{ name: '_csrf', data: this.csrf }, ...parts]);
    return this.fetch('POST', path, { body: form.body, headers: { ...form.headers, ...headers } });
  }
}

const createCalls = (kestra: KestraDouble) => kestra.requests.filter((r) => r.method === 'POST' && /\/api\/v1\/main\/executions\/company\.team\//.test(r.url));

describe('apps pages', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let close: () => Promise<void>;
  let publicUid: string;
  let privateUid: string;
  let approvalUid: string;

  beforeAll(async () => {
    ({ kestra, perch, admin, close } = await startBehindKestra('PT2S', { apps: { submissionsPerMinute: 6, maxUploadSize: 64 * 1024 } }));
    kestra.addFlow(FLOW);
    kestra.addFlow(APPROVAL_FLOW);
    const create = async (source: string) => {
      const res = await admin.fetch('POST', '/api/v1/main/apps', { body: source, headers: yaml });
      expect(res.status, res.text).toBe(200);
      return res.json.uid as string;
    };
    publicUid = await create(formApp('public-form', 'PUBLIC'));
    privateUid = await create(formApp('private-form', 'PRIVATE'));
    approvalUid = await create(APPROVAL_APP);
  });
  afterAll(() => close?.());

  it('serves a public app signed out: a form from the flow inputs, submitted with a file, followed to its outputs', async () => {
    const visitor = new Visitor(perch);
    const open = await visitor.page(`/ui/main/apps/${publicUid}`);
    expect(open.status).toBe(200);
    expect(open.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(open.text).toContain('<h2>Ask for a report</h2>');
    expect(open.text).toMatch(/<input type="text" name="user" id="input-user" value="world">/);
    expect(open.text).toMatch(/<input type="number" name="count" id="input-count" required step="1">/);
    expect(open.text).toMatch(/<select name="color" id="input-color" required><option value="">Choose…<\/option><option value="red">red<\/option>/);
    expect(open.text).toMatch(/<input type="file" name="report" id="input-report" required>/);
    expect(open.text).toContain('>Send</button>');
    expect(visitor.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Invalid values come back at their field; nothing reaches Kestra.
    kestra.clear();
    const invalid = await visitor.submit(`/ui/main/apps/${publicUid}`, [{ name: 'count', data: 'three' }, { name: 'color', data: 'blue' }]);
    expect(invalid.status).toBe(422);
    expect(invalid.text).toMatch(/must be a whole number/);
    expect(invalid.text).toMatch(/must be one of the listed values/);
    expect(invalid.text).toMatch(/report[\s\S]*is required/);
    expect(createCalls(kestra)).toEqual([]);

    const sent = await visitor.submit(`/ui/main/apps/${publicUid}`, [
      { name: 'user', data: 'Ada' }, { name: 'count', data: '3' }, { name: 'color', data: 'green' }, { name: 'smuggled', data: 'x' },
      { name: 'report', filename: 'q3.csv', data: 'a,b\n1,2\n' },
    ]);
    expect(sent.status, sent.text).toBe(303);
    const runPath = String(sent.headers.location);
    expect(runPath).toMatch(new RegExp(`^/ui/main/apps/${publicUid}/runs/[A-Za-z0-9_-]{32}$`));

    // Kestra got the declared inputs only, labelled with the app, and no CSRF token.
    const [call] = createCalls(kestra);
    expect(call!.url).toBe(`/api/v1/main/executions/company.team/hello?labels=${encodeURIComponent(`perch.app:${publicUid}`)}`);
    const body = call!.body.toString('latin1');
    for (const name of ['user', 'count', 'color', 'report']) expect(body).toContain(`name="${name}"`);
    expect(body).not.toContain('_csrf');
    expect(body).not.toContain('smuggled');

    const executionId = [...kestra.store.executions.keys()].at(-1)!;
    // The run's events: Kestra's follow of this execution, reduced to its states, to the end.
    const events = await exchange(`${perch.url}${runPath}/events`, 'GET');
    expect(events.headers['content-type']).toBe('text/event-stream');
    expect(events.text).toContain('event: state\ndata: {"state":"SUCCESS"}');
    expect(kestra.requests.some((r) => r.url === `/api/v1/main/executions/${executionId}/follow`)).toBe(true);

    const done = await visitor.page(runPath);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Status: SUCCESS');
    expect(done.text).toContain('Hello Ada');
    expect(done.text).toContain('Hi Ada');
    const link = /href="([^"]+\/files\?path=[^"]+)" download>q3\.csv/.exec(done.text)?.[1]?.replace(/&amp;/g, '&');
    expect(link).toBeDefined();
    const file = await visitor.fetch('GET', link!);
    expect(file.status).toBe(200);
    expect(file.text).toBe('a,b\n1,2\n');
    expect(file.headers['content-disposition']).toBe('attachment; filename="q3.csv"');

    // Only files the app names: another storage path is refused before Kestra is asked.
    kestra.clear();
    const other = await visitor.fetch('GET', `${runPath}/files?path=${encodeURIComponent(`kestra:///company.team/hello/executions/${executionId}/secret.txt`)}`);
    expect(other.status).toBe(404);
    expect(kestra.requests.some((r) => r.url.includes('/file?'))).toBe(false);
    expect((await visitor.fetch('GET', `/ui/main/apps/${publicUid}/runs/${'x'.repeat(32)}`)).status).toBe(404);

    // Audited with the submitter: "public".
    const entry = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', publicUid).where('action', '=', 'EXECUTE').executeTakeFirstOrThrow();
    expect(entry.actor_type).toBe('ANONYMOUS');
    expect(JSON.parse(entry.details)).toMatchObject({ operation: 'createExecution', executionId, submittedBy: 'public' });
  });

  it('refuses a form without its CSRF token or from another site, and nothing reaches Kestra', async () => {
    const visitor = new Visitor(perch);
    await visitor.page(`/ui/main/apps/${publicUid}`);
    kestra.clear();
    const parts = [{ name: 'count', data: '1' }, { name: 'color', data: 'red' }, { name: 'report', filename: 'a.txt', data: 'a' }];
    const noToken = multipartForm(parts);
    const withoutToken = await visitor.fetch('POST', `/ui/main/apps/${publicUid}`, { body: noToken.body, headers: noToken.headers });
    expect(withoutToken.status).toBe(403);
    expect(withoutToken.text).toMatch(/expired or did not come from this page/);
    const crossSite = await visitor.submit(`/ui/main/apps/${publicUid}`, parts, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const otherBrowser = new Visitor(perch);
    otherBrowser.csrf = visitor.csrf;
    expect((await otherBrowser.submit(`/ui/main/apps/${publicUid}`, parts)).status).toBe(403);
    expect(createCalls(kestra)).toEqual([]);
  });

  it('keeps a private app to signed-in people with APP:EXECUTE', async () => {
    const anonymous = await exchange(`${perch.url}/ui/main/apps/${privateUid}`, 'GET');
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.location).toBe(`/perch/login?from=${encodeURIComponent(`/ui/main/apps/${privateUid}`)}`);
    const outsider = await signedInPerson(perch, admin, 'app-outsider');
    const refused = await outsider.browser.fetch('GET', `/ui/main/apps/${privateUid}`);
    expect(refused.status).toBe(403);
    expect(refused.text).toMatch(/APP:EXECUTE/);
    expect((await admin.fetch('GET', `/ui/main/apps/${privateUid}`)).status).toBe(200);
  });

  it('lets an approver resume a paused execution with the pause inputs, or reject one, the comment in the audit log', async () => {
    const start = async () => {
      const form = multipartForm([{ name: 'request', data: 'a bigger VM' }]);
      const res = await undiciRequest(`${kestra.url}/api/v1/main/executions/company.team/approve`, { method: 'POST', body: form.body, headers: { ...form.headers, authorization: kestra.authorization } });
      const id = ((await res.body.json()) as { id: string }).id;
      await kestra.waitForExecution(id, ['PAUSED']);
      return id;
    };
    const first = await start();
    const second = await start();

    expect((await exchange(`${perch.url}/ui/main/apps/${approvalUid}/approvals`, 'GET')).status).toBe(302);
    const outsider = await signedInPerson(perch, admin, 'not-approver');
    expect((await outsider.browser.fetch('GET', `/ui/main/apps/${approvalUid}/approvals/${first}`)).status).toBe(403);
    kestra.clear();
    const attempt = multipartForm([{ name: 'approved', data: 'true' }]);
    expect((await outsider.browser.fetch('POST', `/ui/main/apps/${approvalUid}/approvals/${first}`, { body: attempt.body, headers: attempt.headers })).status).toBe(403);
    expect(kestra.requests).toEqual([]);
    const refusal = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', approvalUid).where('outcome', '=', 'REFUSED').executeTakeFirstOrThrow();
    expect(refusal.actor_id).toBe(outsider.id);

    const approver = new Visitor(perch);
    approver.cookies.set(...([...admin.cookies][0]!));
    const list = await approver.page(`/ui/main/apps/${approvalUid}/approvals`);
    expect(list.text).toContain(first);
    expect(list.text).toContain(second);
    const page = await approver.page(`/ui/main/apps/${approvalUid}/approvals/${first}`);
    expect(page.text).toContain('a bigger VM');
    expect(page.text).toMatch(/<select name="approved" id="input-approved" required>/);
    expect(page.text).toContain('>Approve</button>');

    kestra.clear();
    const approved = await approver.submit(`/ui/main/apps/${approvalUid}/approvals/${first}`, [
      { name: 'approved', data: 'true' }, { name: 'reason', data: 'budget ok' }, { name: '_comment', data: 'fine by me' },
    ]);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.text).toContain('The request was approved.');
    const resume = kestra.requests.find((r) => r.url === `/api/v1/main/executions/${first}/actions/resume`)!;
    expect(resume.body.toString()).toContain('name="approved"\r\n\r\ntrue');
    expect(resume.body.toString()).not.toContain('fine by me');
    await kestra.waitForExecution(first, ['SUCCESS']);

    const rejected = await approver.submit(`/ui/main/apps/${approvalUid}/approvals/${second}`, [{ name: '_decision', data: 'kill' }, { name: '_comment', data: 'too expensive' }]);
    expect(rejected.text).toContain('The request was rejected.');
    await kestra.waitForExecution(second, ['KILLED']);
    // Not paused any more: refused, Kestra not asked to resume.
    expect((await approver.submit(`/ui/main/apps/${approvalUid}/approvals/${first}`, [{ name: 'approved', data: 'true' }])).status).toBe(409);

    const entries = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', approvalUid).where('action', '=', 'EXECUTE').where('outcome', '=', 'SUCCESS').orderBy('seq').execute();
    expect(entries.map((e) => JSON.parse(e.details)).map((d) => [d.operation, d.executionId, d.comment])).toEqual([
      ['resume', first, 'fine by me'], ['kill', second, 'too expensive'],
    ]);
    expect(entries[0]!.actor_type).toBe('USER');
  });

  it("ends a private app's live stream when its person signs out", async () => {
    const person = new Visitor(perch);
    await person.login();
    await person.page(`/ui/main/apps/${approvalUid}`);
    const sent = await person.submit(`/ui/main/apps/${approvalUid}`, [{ name: 'request', data: 'a stream' }]);
    expect(sent.status, sent.text).toBe(303);
    // The flow waits at its Pause task: Kestra's follow stream stays open.
    const stream = await undiciRequest(`${perch.url}${String(sent.headers.location)}/events`, { headers: { cookie: person.cookieHeader()! } });
    expect(stream.statusCode).toBe(200);
    const text = stream.body.text();
    expect((await person.fetch('POST', '/perch/api/logout')).status).toBe(204);
    expect(await text).toContain('event: state');
  });

  it('refuses an upload beyond apps.maxUploadSize (413) and submissions beyond the rate per address (429)', async () => {
    const visitor = new Visitor(perch);
    await visitor.page(`/ui/main/apps/${publicUid}`);
    kestra.clear();
    const big = await visitor.submit(`/ui/main/apps/${publicUid}`, [{ name: 'count', data: '1' }, { name: 'color', data: 'red' }, { name: 'report', filename: 'big.bin', data: 'x'.repeat(80 * 1024) }]);
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/text\/html/);
    expect(createCalls(kestra)).toEqual([]);
    // Six writes already counted for this address (3 submissions, 3 approvals); 6 a minute.
    let last = 0;
    for (let i = 0; i < 6; i++) last = (await visitor.submit(`/ui/main/apps/${publicUid}`, [{ name: 'count', data: 'x' }])).status;
    expect(last).toBe(429);
  });

  it('says so clearly when the app is disabled, and when Kestra is down', async () => {
    await admin.fetch('POST', `/api/v1/main/apps/${publicUid}/disable`);
    const disabled = await exchange(`${perch.url}/ui/main/apps/${publicUid}`, 'GET');
    expect(disabled.status).toBe(403);
    expect(disabled.text).toContain('This app is disabled');
    await admin.fetch('POST', `/api/v1/main/apps/${publicUid}/enable`);
    await kestra.close();
    const down = await exchange(`${perch.url}/ui/main/apps/${publicUid}`, 'GET');
    expect(down.status).toBe(503);
    expect(down.text).toContain('Kestra, which runs this app, cannot be reached right now');
  });
});

describe('apps pages, maintenance and kill switches (issue 22)', () => {
  it("refuses an app's new execution in maintenance (503) and under a kill switch on its namespace (403), audited, nothing reaching Kestra", async () => {
    const { kestra, perch, admin, close } = await startBehindKestra('PT2S');
    try {
      kestra.addFlow(FLOW);
      const created = await admin.fetch('POST', '/api/v1/main/apps', { body: formApp('ops-app', 'PUBLIC'), headers: yaml });
      expect(created.status, created.text).toBe(200);
      const uid = created.json.uid as string;
      const visitor = new Visitor(perch);
      const parts = [{ name: 'count', data: '1' }, { name: 'color', data: 'red' }, { name: 'report', filename: 'r.csv', data: 'a\n' }];
      const submit = async () => {
        await visitor.page(`/ui/main/apps/${uid}`);
        return visitor.submit(`/ui/main/apps/${uid}`, parts);
      };

      expect((await admin.fetch('POST', '/api/v1/instance/maintenance/enter', { json: {} })).status).toBe(200);
      kestra.clear();
      const inMaintenance = await submit();
      expect(inMaintenance.status).toBe(503);
      expect(inMaintenance.headers['retry-after']).toBeDefined();
      expect(inMaintenance.text).toContain('The instance is in maintenance');
      expect(createCalls(kestra)).toHaveLength(0);
      expect((await admin.fetch('POST', '/api/v1/instance/maintenance/exit')).status).toBe(200);

      const rule = await admin.fetch('POST', '/api/v1/kill-switches', { json: { name: 'stop team', namespace: 'company', startDate: new Date(Date.now() - 1000).toISOString(), evaluationType: 'KILL' } });
      expect(rule.status, rule.text).toBe(200);
      kestra.clear();
      const killed = await submit();
      expect(killed.status).toBe(403);
      expect(killed.text).toContain('Refused by kill switch &quot;stop team&quot;');
      expect(createCalls(kestra)).toHaveLength(0);
      expect((await admin.fetch('DELETE', `/api/v1/kill-switches/${rule.json.id}`)).status).toBeLessThan(300);

      // Neither in force: the same form starts the flow.
      expect((await submit()).status).toBe(303);
      expect(createCalls(kestra)).toHaveLength(1);
      const refusals = await perch.perch.ctx.db.selectFrom('audit_log').select(['details']).where('resource_type', '=', 'APP').execute();
      expect(refusals.map((r) => JSON.parse(r.details as string)).filter((d) => d.refusedBy === 'Perch').map((d) => d.message)).toEqual([
        expect.stringContaining('in maintenance'),
        expect.stringContaining('kill switch "stop team"'),
      ]);
    } finally {
      await close();
    }
  });
});
