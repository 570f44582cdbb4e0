import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandedUids } from '../../backend/authz/graph-subflows.js';
import { matchPolicy } from '../../backend/authz/policy-map.js';
import { loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { type Browser, grantRole, signedInWithRole, startBehindKestra } from '../support/perch.js';

/**
 * A flow graph's `?subflows=` makes Kestra read each named subflow wherever it lives and draw it whole: its
 * tasks with their properties, and its triggers (GraphService; docs/compatibility.md). EE reads the subflow
 * through its ACL repository, so FLOW read is needed in the subflow's namespace; Kestra OSS checks nothing.
 * Perch asks FLOW VIEW in every namespace a graph would show, and refuses what it cannot tell.
 */
describe('flow graphs with their subflows expanded', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let teamViewer: Browser;
  let bothViewer: Browser;
  let tenantViewer: Browser;
  const log = (id: string) => `  - id: ${id}\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;
  const subflow = (id: string, namespace: string, flowId: string, extra = '') =>
    `  - id: ${id}\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: "${namespace}"\n    flowId: ${flowId}\n${extra}`;
  const flow = (namespace: string, id: string, tasks: string, extra = '') => `id: ${id}\nnamespace: ${namespace}\n${extra}tasks:\n${tasks}`;
  const PAYROLL_URI = 'https://payments.example.invalid/run';
  const caller = flow('company.team', 'caller', `${log('first')}${subflow('child', 'company.finance', 'payroll')}${subflow('own', 'company.team', 'helper')}`);
  const yaml = (body: string) => ({ body, headers: { 'content-type': 'application/x-yaml' } });
  const graphCalls = () => env.kestra.requests.filter((r) => /\/graph(?:\?|$)/.test(r.url));
  const flowReads = () => env.kestra.requests.filter((r) => r.method === 'GET' && /^\/api\/v1\/main\/flows\/[^/]+\/[^/?]+(?:\?|$)/.test(r.url));
  const nodeUids = (graph: { nodes: { uid: string }[] }) => graph.nodes.map((n) => n.uid);

  beforeAll(async () => {
    env = await startBehindKestra();
    env.kestra.addFlow(flow('company.finance', 'payroll', `  - id: pay\n    type: io.kestra.plugin.core.http.Request\n    uri: ${PAYROLL_URI}\n`, 'triggers:\n  - id: monthly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 9 1 * *"\n'));
    env.kestra.addFlow(flow('company.team', 'helper', log('help')));
    env.kestra.addFlow(flow('company.team', 'hop', subflow('deep', 'company.finance', 'payroll')));
    env.kestra.addFlow(flow('company.team', 'nested', subflow('hop', 'company.team', 'hop')));
    // Revision 1 calls the team's helper, revision 2 finance's payroll.
    env.kestra.addFlow(flow('company.team', 'caller', `${log('first')}${subflow('child', 'company.team', 'helper')}`));
    const update = await fetch(`${env.kestra.url}/api/v1/main/flows/company.team/caller`, { method: 'PUT', body: caller, headers: { authorization: env.kestra.authorization, 'content-type': 'application/x-yaml' } });
    expect(update.status).toBe(200);
    teamViewer = await signedInWithRole(env.perch, env.admin, 'team@example.com', 'viewer', 'company.team');
    bothViewer = await signedInWithRole(env.perch, env.admin, 'both@example.com', 'viewer', 'company.team');
    await grantRole(env.perch.perch, (await bothViewer.fetch('GET', '/api/v1/me')).json.id, 'viewer', 'company.finance');
    tenantViewer = await signedInWithRole(env.perch, env.admin, 'everywhere@example.com', 'viewer', null);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('Kestra itself draws an expanded subflow whole, from whatever namespace it lives in', async () => {
    const res = await fetch(`${env.kestra.url}/api/v1/main/flows/company.team/caller/graph?subflows=root.child`, { headers: { authorization: env.kestra.authorization } });
    expect(res.status).toBe(200);
    const graph = (await res.json()) as { nodes: { uid: string; task?: { uri?: string } }[] };
    expect(graph.nodes.find((n) => n.uid === 'root.child.pay')?.task?.uri).toBe(PAYROLL_URI);
    expect(nodeUids(graph)).toContain('root.child.Triggers.monthly');
  });

  it('draws the caller’s own graphs, and expands subflows of namespaces it may view', async () => {
    const plain = await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph');
    expect(plain.status, plain.text).toBe(200);
    expect(nodeUids(plain.json)).toContain('root.child');
    const own = await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph?subflows=root.own');
    expect(own.status, own.text).toBe(200);
    expect(nodeUids(own.json)).toContain('root.own.help');
    const source = await teamViewer.fetch('POST', '/api/v1/main/flows/graph?subflows=root.own', yaml(caller));
    expect(source.status, source.text).toBe(200);
    expect(nodeUids(source.json)).toContain('root.own.help');
  });

  it('refuses to expand a subflow of a namespace the caller may not view, however the query spells it', async () => {
    env.kestra.clear();
    for (const query of ['subflows=root.child', 'subflows=root.own,root.child', 'subflows=root.own&subflows=root.child', 'subflows%5B%5D=root.child', 'Subflows=root.child', 'subflows=root%2Echild']) {
      const stored = await teamViewer.fetch('GET', `/api/v1/main/flows/company.team/caller/graph?${query}`);
      expect(stored.status, `${query}: ${stored.text}`).toBe(403);
      expect(stored.json.message).toContain('root.child shows flow company.finance.payroll (needs FLOW VIEW in company.finance)');
      const drawn = await teamViewer.fetch('POST', `/api/v1/main/flows/graph?${query}`, yaml(caller));
      expect(drawn.status, `${query}: ${drawn.text}`).toBe(403);
    }
    expect(graphCalls()).toEqual([]);
    expect(JSON.stringify(env.kestra.requests)).not.toContain(PAYROLL_URI);
    // Going through finance's flow to a node inside it: Perch does not read that flow for someone who may not view it.
    const through = await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph?subflows=root.child,root.child.pay');
    expect(through.status, through.text).toBe(403);
    expect(env.kestra.requests.filter((r) => r.url.includes('/flows/company.finance/'))).toEqual([]);
  });

  it('follows a uid through the subflows it passes: a subflow of a subflow counts', async () => {
    const first = await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/nested/graph?subflows=root.hop');
    expect(first.status, first.text).toBe(200);
    expect(nodeUids(first.json)).toContain('root.hop.deep');
    env.kestra.clear();
    const deeper = await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/nested/graph?subflows=root.hop&subflows=root.hop.deep');
    expect(deeper.status, deeper.text).toBe(403);
    expect(deeper.json.message).toContain('root.hop.deep shows flow company.finance.payroll');
    expect(graphCalls()).toEqual([]);
    const allowed = await bothViewer.fetch('GET', '/api/v1/main/flows/company.team/nested/graph?subflows=root.hop&subflows=root.hop.deep');
    expect(allowed.status, allowed.text).toBe(200);
    expect(nodeUids(allowed.json)).toContain('root.hop.deep.pay');
  });

  it('reads the revision Kestra will draw', async () => {
    const old = await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph?revision=1&subflows=root.child');
    expect(old.status, old.text).toBe(200);
    expect(nodeUids(old.json)).toContain('root.child.help');
    expect((await teamViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph?revision=2&subflows=root.child')).status).toBe(403);
  });

  it('refuses what it cannot tell: a subflow named by an expression or by plugin defaults, a node that is no subflow', async () => {
    env.kestra.clear();
    const dynamic = flow('company.team', 'dyn', subflow('child', '{{ inputs.where }}', 'payroll'));
    const byExpression = await teamViewer.fetch('POST', '/api/v1/main/flows/graph?subflows=root.child', yaml(dynamic));
    expect(byExpression.status, byExpression.text).toBe(403);
    expect(byExpression.json.message).toContain('names its subflow by an expression');
    const defaults = flow('company.team', 'defaulted', subflow('child', 'company.team', 'helper'), 'pluginDefaults:\n  - type: io.kestra.plugin.core.flow.Subflow\n    forced: true\n    values:\n      namespace: company.finance\n');
    const byDefaults = await teamViewer.fetch('POST', '/api/v1/main/flows/graph?subflows=root.child', yaml(defaults));
    expect(byDefaults.status, byDefaults.text).toBe(403);
    expect(byDefaults.json.message).toContain('pluginDefaults');
    const notSubflow = await teamViewer.fetch('POST', '/api/v1/main/flows/graph?subflows=root.first', yaml(caller));
    expect(notSubflow.status, notSubflow.text).toBe(403);
    expect(notSubflow.json.message).toContain('cannot tell which subflow the graph node root.first is');
    // ForEachItem's subflow node is `<id>_items`.
    const each = flow('company.team', 'each', '  - id: each\n    type: io.kestra.plugin.core.flow.ForEachItem\n    items: "{{ inputs.file }}"\n    namespace: company.finance\n    flowId: payroll\n');
    const byEach = await teamViewer.fetch('POST', '/api/v1/main/flows/graph?subflows=root.each.each_items', yaml(each));
    expect(byEach.status, byEach.text).toBe(403);
    expect(byEach.json.message).toContain('company.finance.payroll');
    expect(graphCalls()).toEqual([]);
  });

  it('lets a caller who may view every namespace expand as Kestra does, without reading any flow first', async () => {
    env.kestra.clear();
    const res = await tenantViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph?subflows=root.child');
    expect(res.status, res.text).toBe(200);
    expect(nodeUids(res.json)).toContain('root.child.pay');
    expect(flowReads()).toEqual([]);
    const both = await bothViewer.fetch('GET', '/api/v1/main/flows/company.team/caller/graph?subflows=root.child');
    expect(both.status, both.text).toBe(200);
  });

  it('checks every flow graph of the spec that takes ?subflows=; an execution graph shows structure only, as in EE', () => {
    const takers = loadDerivedContract().operations.filter((op) => op.edition !== 'ee' && op.parameters?.some((p) => p.in === 'query' && p.name === 'subflows'));
    expect(takers.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      'GET /api/v1/{tenant}/executions/{executionId}/graph',
      'GET /api/v1/{tenant}/flows/{namespace}/{id}/graph',
      'POST /api/v1/{tenant}/flows/graph',
    ]);
    for (const op of takers) {
      const row = matchPolicy(op.method, op.path.replace('{tenant}', 'main'))!.row;
      expect('expandsSubflows' in row, op.path).toBe(!op.path.includes('{executionId}'));
    }
  });

  it('reads every spelling of the parameter, each value split at commas as Micronaut binds a list', () => {
    expect(expandedUids('subflows=a,b&subflows=c&SUBFLOWS=d&subflows%5B0%5D=e&other=f&subflows=')).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(expandedUids('revision=2')).toEqual([]);
  });
});
