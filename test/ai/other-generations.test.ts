/**
 * EE's generateApp and generateDashboard served by Perch (issue 24, point 1): the spec's paths and
 * bodies, the check-and-retry loop with Perch's app rules (schema, the author's right to run the
 * flow) and the dashboard model's shape, APP / DASHBOARD CREATE before any provider is asked, one
 * audit entry each; generateTestSuite stays 501 naming itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { startBehindKestra, type Browser, type RunningPerch } from '../support/perch.js';
import { startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const fenced = (yaml: string) => `Here:\n\`\`\`yaml\n${yaml}\`\`\`\n`;
const appOn = (namespace: string, block = 'io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm') =>
  `id: report\ntype: io.kestra.plugin.ee.apps.Execution\nnamespace: ${namespace}\nflowId: hello\nlayout:\n  - on: OPEN\n    blocks:\n      - type: ${block}\n`;
const dashboard = (chart: string) => `id: ops\ntitle: Operations\ncharts:\n  - id: runs\n${chart}`;
const GOOD_CHART = '    type: io.kestra.plugin.core.dashboard.chart.TimeSeries\n    data:\n      type: io.kestra.plugin.core.dashboard.data.Executions\n';
const ask = (extra: Record<string, unknown> = {}) => ({ conversationId: 'c0ffee00-0000-4000-8000-00000000a11a', userPrompt: 'A form to start hello', ...extra });

/** The derived EE contract's request body schema of an operation, as Ajv errors of a body. */
function requestErrors(operationId: string, body: unknown): string[] {
  const derived = loadDerivedContract();
  const op = derived.operations.find((o) => o.operationId === operationId)!;
  const schema = (op as unknown as { requestBody: { content: Record<string, unknown> } }).requestBody.content['application/json'];
  const validate = contractAjv(convertComponents(derived.schemas)).compile(convertSchema(schema, 'root') as object);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

describe('AI copilot: generateApp, generateDashboard, generateTestSuite', () => {
  let model: ProviderStandIn;
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let perch: RunningPerch;
  let admin: Browser;
  const auditEntries = () => perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'COPILOT').orderBy('seq').execute();
  const turns = () => model.calls.map((c) => c.body.messages as Array<{ role: string; content: string }>);

  beforeAll(async () => {
    model = await startProviderStandIn('openai-compatible');
    env = await startBehindKestra('PT5S', { ai: { maxAttempts: 3, requestsPerMinute: 100, providers: [{ id: 'openai', kind: 'openai-compatible', baseUrl: `${model.url}/v1`, model: 'gpt-test', apiKey: 'sk-gen' }] } });
    ({ perch, admin } = env);
  });
  afterAll(async () => {
    await env?.close();
    await model?.close();
  });

  it('serves the spec\'s operations at its paths with its request bodies', () => {
    const paths = loadDerivedContract().operations.filter((o) => ['generateApp', 'generateDashboard', 'generateTestSuite'].includes(o.operationId)).map((o) => `${o.operationId} ${o.method} ${o.path}`);
    expect(paths.sort()).toEqual(['generateApp POST /api/v1/{tenant}/ai/generate/app', 'generateDashboard POST /api/v1/{tenant}/ai/generate/dashboard', 'generateTestSuite POST /api/v1/{tenant}/ai/generate/test']);
    expect(requestErrors('generateApp', ask({ yaml: appOn('company.team'), providerId: 'openai' }))).toEqual([]);
    expect(requestErrors('generateDashboard', ask({ yaml: dashboard(GOOD_CHART), providerId: 'openai' }))).toEqual([]);
  });

  it('generates an app checked by Perch\'s app rules, sending the problems back to the model', async () => {
    model.calls.length = 0;
    const good = appOn('company.team');
    model.script = [fenced(appOn('company.team', 'io.kestra.plugin.ee.apps.blocks.Nope')), fenced(good)];
    const res = await admin.fetch('POST', '/api/v1/main/ai/generate/app', { json: ask() });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.text).toBe(good);
    const second = turns()[1]!;
    expect(second[0]!.content).toContain('io.kestra.plugin.ee.apps.Execution');
    expect(second[3]!.content).toContain('Invalid app source: layout.0.blocks.0.type: Unknown block type io.kestra.plugin.ee.apps.blocks.Nope');
    const entry = (await auditEntries()).at(-1)!;
    expect([entry.resource_id, entry.outcome, JSON.parse(entry.details).attempts]).toEqual(['generateApp', 'SUCCESS', 2]);
  });

  it('refuses an app the person could not save: flows beyond their rights go back to the model; no APP:CREATE is a 403 before any provider', async () => {
    const me = await signedInPerson(perch, admin, 'app-gen');
    const role = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: `App copilot ${me.id}`, permissions: { COPILOT: ['USE'], APP: ['CREATE'] } } });
    await bind(admin, { type: 'USER', externalId: me.id, roleId: role.json.id });
    await bind(admin, { type: 'USER', externalId: me.id, roleId: 'editor', namespaceId: 'company.team' });
    model.calls.length = 0;
    model.script = [fenced(appOn('finance.books')), fenced(appOn('company.team'))];
    const res = await me.browser.fetch('POST', '/api/v1/main/ai/generate/app', { json: ask() });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe(appOn('company.team'));
    expect(turns()[1]!.at(-1)!.content).toContain('could not save this app (403)');
    expect(turns()[1]!.at(-1)!.content).toContain('finance.books');

    const plain = await signedInPerson(perch, admin, 'app-gen-plain');
    const copilotOnly = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: `Copilot only ${plain.id}`, permissions: { COPILOT: ['USE'] } } });
    await bind(admin, { type: 'USER', externalId: plain.id, roleId: copilotOnly.json.id });
    model.calls.length = 0;
    for (const [op, permission] of [['app', 'APP:CREATE'], ['dashboard', 'DASHBOARD:CREATE']]) {
      const refused = await plain.browser.fetch('POST', `/api/v1/main/ai/generate/${op}`, { json: ask() });
      expect(refused.status).toBe(403);
      expect(refused.json.message).toContain(permission);
    }
    expect((await plain.browser.fetch('POST', '/api/v1/main/ai/generate/dashboard', { json: ask({ yaml: dashboard(GOOD_CHART) }) })).json.message).toContain('DASHBOARD:UPDATE');
    expect(model.calls).toEqual([]);
    expect((await auditEntries()).at(-1)!.outcome).toBe('REFUSED');
  });

  it('generates a dashboard checked against Kestra\'s dashboard shape, streamed too', async () => {
    model.calls.length = 0;
    const good = dashboard(GOOD_CHART);
    model.script = [fenced(dashboard('    chartOptions: {}\n')), fenced(good)];
    const res = await admin.fetch('POST', '/api/v1/main/ai/generate/dashboard', { json: ask({ userPrompt: 'Executions over time' }) });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe(good);
    expect(turns()[1]!.at(-1)!.content).toContain('Invalid dashboard: charts.0.type');

    model.script = [fenced('id: ops\ncharts: []\n')];
    const streamed = await admin.fetch('POST', '/api/v1/main/ai/generate/dashboard', { headers: { accept: 'text/event-stream' }, json: ask() });
    expect(streamed.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(streamed.text).toContain('Invalid dashboard: title');
    expect(streamed.text).toContain('event: error');
    expect(streamed.text).toContain('after 3 attempt(s)');
    expect((await auditEntries()).at(-1)!.resource_id).toBe('generateDashboard');
  });

  it('answers 501 for generateTestSuite, naming it and why', async () => {
    model.calls.length = 0;
    const res = await admin.fetch('POST', '/api/v1/main/ai/generate/test', { json: ask() });
    expect(res.status).toBe(501);
    expect(res.json).toMatchObject({ operationId: 'generateTestSuite' });
    expect(res.json.message).toContain('Kestra OSS has no test suites');
    expect(model.calls).toEqual([]);
  });
});
