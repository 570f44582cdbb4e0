/**
 * EE's AI operations as Kestra's own generated client, kestrapy 2.0.3, calls them (issue 24): generateApp,
 * generateDashboard and generateFlow against Perch, with an OpenAI-compatible stand-in as the model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveKestrapy, kestrapyPython } from '../support/kestrapy.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startBehindKestra } from '../support/perch.js';
import { startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const python = await kestrapyPython();
if ('missing' in python) console.warn(`\n*** kestrapy AI scenario SKIPPED: ${python.missing} ***\n`);

const fenced = (yaml: string) => `\`\`\`yaml\n${yaml}\`\`\`\n`;
const APP = 'id: report\ntype: io.kestra.plugin.ee.apps.Execution\nnamespace: company.team\nflowId: hello\nlayout:\n  - on: OPEN\n    blocks:\n      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm\n';
const DASHBOARD = 'id: ops\ntitle: Operations\ncharts:\n  - id: runs\n    type: io.kestra.plugin.core.dashboard.chart.TimeSeries\n';
const FLOW = 'id: hello\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hello\n';

describe.skipIf('missing' in python)('kestrapy 2.0.3: EE AI operations against Perch', () => {
  let model: ProviderStandIn;
  let env: Awaited<ReturnType<typeof startBehindKestra>>;

  beforeAll(async () => {
    model = await startProviderStandIn('openai-compatible');
    env = await startBehindKestra('PT5S', { auth: { basic: { enabled: true } }, ai: { requestsPerMinute: 100, providers: [{ id: 'openai', kind: 'openai-compatible', baseUrl: `${model.url}/v1`, model: 'gpt-test', apiKey: 'sk-kestrapy' }] } });
  });
  afterAll(async () => {
    await env?.close();
    await model?.close();
  });

  it('generates an app, a dashboard and a flow, each answered as checked YAML text', async () => {
    model.script = [fenced(APP), fenced(DASHBOARD), fenced(FLOW)];
    const result = await driveKestrapy((python as { python: string }).python, 'ai', { PERCH_URL: env.perch.url, PERCH_USERNAME: ADMIN_EMAIL, PERCH_PASSWORD: ADMIN_PASSWORD });
    expect(result).toEqual({ app: APP, dashboard: DASHBOARD, flow: FLOW });
    expect(model.calls).toHaveLength(3);
  });
});
