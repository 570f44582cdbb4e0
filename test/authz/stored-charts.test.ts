import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import type { Browser } from '../support/perch.js';
import { byNamespace, namespaceCountChart, startChartWorld, stopChartWorld, YAML, type ChartWorld } from './chart-world.js';

const API = '/api/v1/main/dashboards';

/** A chart of a stored dashboard, counting rows per namespace (as YAML lines under `charts:`). */
function chart(id: string, dataType: string, where: string[] = []): string {
  const lines = [...namespaceCountChart(id, dataType), ...(where.length > 0 ? ['  where:', ...where.map((w) => `    ${w}`)] : [])];
  return lines.map((l, i) => `${i === 0 ? '  - ' : '    '}${l}`).join('\n');
}

const dashboard = (id: string, ...charts: string[]) => [`id: ${id}`, `title: ${id}`, 'charts:', ...charts].join('\n');

/**
 * Stored dashboards' charts (`POST …/dashboards/{id}/charts/{chartId}`) for people bound to namespaces:
 * Perch reads the dashboard from Kestra and bounds its chart as a preview's. The dashboard the tenant
 * opens by default is readable by anyone signed in (the home page reads it first); others need DASHBOARD VIEW.
 */
describe('stored dashboards for people bound to namespaces', () => {
  let kestra: KestraDouble;
  let world: ChartWorld;
  let admin: Browser;
  let viewer: Browser;
  let twoRoots: Browser;

  const chartCalls = () => kestra.requests.filter((r) => r.method === 'POST' && /\/dashboards\/[^/]+\/charts\//.test(r.url));
  const sentFilters = () => chartCalls().map((r) => (JSON.parse(r.body.toString('utf8')) as { filters: unknown[] }).filters);
  const draw = (who: Browser, id: string, chartId: string, body: unknown = { filters: [{ field: 'timeRange', operation: 'EQUALS', value: 'PT24H' }] }) =>
    who.fetch('POST', `${API}/${id}/charts/${chartId}`, { json: body });

  /** The admin sets the tenant's default home dashboard on Kestra (Perch answers that EE operation 501). */
  async function setDefaultHome(id: string): Promise<void> {
    const res = await fetch(`${kestra.url}/api/v1/tenants/main/settings/default-dashboards`, {
      method: 'POST',
      headers: { authorization: kestra.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ defaultHomeDashboard: id }),
    });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    world = await startChartWorld();
    ({ kestra, admin, viewer, twoRoots } = world);
    const ops = dashboard(
      'ops',
      chart('all', 'Executions'),
      chart('logs', 'Logs'),
      chart('finance', 'Executions', ['- field: NAMESPACE', '  type: EQUAL_TO', '  value: company.finance']),
      chart('widened', 'Executions', ['- type: OR', '  values:', '    - field: NAMESPACE', '      type: EQUAL_TO', '      value: company.finance']),
      chart('flows', 'Flows'),
      chart('regex', 'Executions', ['- field: NAMESPACE', '  type: REGEX', '  value: company.*']),
      '  - id: finance_description\n    type: io.kestra.plugin.core.dashboard.chart.Markdown\n    source:\n      type: FlowDescription\n      namespace: company.finance\n      flowId: payroll',
    );
    expect((await admin.fetch('POST', API, { body: ops, headers: YAML })).status).toBe(200);
    expect((await admin.fetch('POST', API, { body: dashboard('private', chart('all', 'Executions')), headers: YAML })).status).toBe(200);
    await setDefaultHome('ops');
  });
  afterAll(() => stopChartWorld(world));

  it('lets a person bound to namespaces read the dashboard the tenant opens by default, and no other', async () => {
    const home = await viewer.fetch('GET', `${API}/ops`);
    expect(home.status).toBe(200);
    expect(home.json.id).toBe('ops');
    kestra.clear();
    const other = await viewer.fetch('GET', `${API}/private`);
    expect(other.status).toBe(403);
    expect(other.json.message).toMatch(/DASHBOARD VIEW/);
    expect(kestra.requests.filter((r) => r.url === `${API}/private`)).toEqual([]);
    // Changing it still needs DASHBOARD UPDATE.
    expect((await viewer.fetch('PUT', `${API}/ops`, { body: dashboard('ops'), headers: YAML })).status).toBe(403);
  });

  it('draws a stored chart with the person’s namespace and its children only', async () => {
    kestra.clear();
    const res = await draw(viewer, 'ops', 'all');
    expect(res.status).toBe(200);
    expect(byNamespace(res.json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1 });
    expect(sentFilters()).toEqual([[{ field: 'timeRange', operation: 'EQUALS', value: 'PT24H' }, { field: 'namespace', operation: 'PREFIX', value: 'company.team' }]]);
    const logs = await draw(viewer, 'ops', 'logs', { filters: [{ field: 'namespace', operation: 'PREFIX', value: 'company' }] });
    expect(Object.keys(byNamespace(logs.json.results)).sort()).toEqual(['company.team', 'company.team.sub']);
    // Perch read the dashboard once for both charts (kept, not read again per chart).
    expect(kestra.requests.filter((r) => r.method === 'GET' && r.url === `${API}/ops`)).toHaveLength(1);
    // The admin gets it as asked: every namespace.
    expect(byNamespace((await draw(admin, 'ops', 'all')).json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1, 'company.team2': 1, 'company.finance': 1 });
  });

  it('draws a stored chart of any dashboard bounded the same way (it reads no more than a preview would)', async () => {
    const res = await draw(viewer, 'private', 'all');
    expect(byNamespace(res.json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1 });
  });

  it('draws a person bound to two namespaces both of them', async () => {
    kestra.clear();
    const res = await draw(twoRoots, 'ops', 'all', { filters: [] });
    expect(byNamespace(res.json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1, 'company.finance': 1 });
    expect(sentFilters()).toEqual([[{ field: 'namespace', operation: 'REGEX', value: '^(company[.]finance([.].*)?|company[.]team([.].*)?)$' }]]);
  });

  it('sends Kestra nothing out of the person’s scope, whatever the stored chart or the request says', async () => {
    kestra.clear();
    // A stored chart naming another namespace: an empty chart, quietly.
    expect((await draw(viewer, 'ops', 'finance')).json).toEqual({ results: [], total: 0 });
    // The global filter asking elsewhere: the same.
    expect((await draw(viewer, 'ops', 'all', { filters: [{ field: 'namespace', operation: 'IN', value: ['company.finance', 'company.team2'] }] })).json).toEqual({ results: [], total: 0 });
    // What the stored chart itself asks beyond the person's rights (an OR clause Kestra applies after the namespace
    // filter, a data type Perch does not bound, a namespace condition it cannot read, another namespace's flow
    // description): the page draws it empty, without an error pop-up.
    for (const id of ['widened', 'flows', 'regex', 'finance_description']) {
      const res = await draw(viewer, 'ops', id, { filters: [] });
      expect(res.status, id).toBe(200);
      expect(res.json, id).toEqual({ results: [], total: 0 });
    }
    const refused: Array<[string, string, unknown, number, string]> = [
      // Exporting them is a deliberate act: refused with the reason.
      [`${API}/ops/charts/widened/export/to-csv`, 'POST', { filters: [] }, 403, 'OR'],
      [`${API}/ops/charts/flows/export/to-csv`, 'POST', { filters: [] }, 403, 'Flows'],
      // A global filter node, an unreadable namespace filter, a body that is not a filter.
      [`${API}/ops/charts/all`, 'POST', { filters: [{ logical: 'or', children: [] }] }, 400, 'plain'],
      [`${API}/ops/charts/all`, 'POST', { filters: [{ field: 'namespace', operation: 'REGEX', value: '.*' }] }, 400, 'REGEX'],
      [`${API}/ops/charts/all`, 'POST', 'not a filter', 400, 'JSON'],
      // Unknown dashboards and charts; another tenant's dashboard.
      [`${API}/nope/charts/all`, 'POST', { filters: [] }, 404, 'nope'],
      [`${API}/ops/charts/nope`, 'POST', { filters: [] }, 404, 'nope'],
      ['/api/v1/other/dashboards/ops/charts/all', 'POST', { filters: [] }, 404, 'other'],
      ['/api/v1/other/dashboards/ops', 'GET', undefined, 404, 'other'],
      // The CSV export of a chart Perch cannot bound is refused with a reason.
      [`${API}/ops/charts/finance/export/to-csv`, 'POST', { filters: [] }, 403, 'cannot bound'],
    ];
    for (const [url, method, body, status, says] of refused) {
      const res = await viewer.fetch(method, url, body === undefined ? {} : { json: body });
      expect(res.status, url).toBe(status);
      expect(res.json.message, url).toContain(says);
    }
    expect(chartCalls()).toEqual([]);
    expect(kestra.requests.filter((r) => r.url.startsWith('/api/v1/other/'))).toEqual([]);
  });

  it('refuses a stored chart whose YAML has a line break Kestra reads and Perch does not', async () => {
    // After U+2028 in a comment, Kestra's YAML 1.1 reads a `where` on finance that Perch's YAML 1.2 would not see.
    const where = ['      where:', '        - field: NAMESPACE', '          type: EQUAL_TO', '          value: company.finance'];
    const source = `${dashboard('hidden', chart('all', 'Executions'))} # note\u2028${where.join('\u2028')}\n`;
    expect((await admin.fetch('POST', API, { body: source, headers: YAML })).status).toBe(200);
    const asKestra = await fetch(`${kestra.url}${API}/hidden/charts/all`, {
      method: 'POST',
      headers: { authorization: kestra.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ filters: [] }),
    });
    expect(byNamespace(((await asKestra.json()) as { results: never[] }).results)).toEqual({ 'company.finance': expect.any(Number) });
    await setDefaultHome('hidden');
    try {
      kestra.clear();
      const res = await draw(viewer, 'hidden', 'all');
      expect(res.status, res.text).toBe(400);
      expect(res.json.message).toContain('line 12');
      expect(res.json.message).toContain('line break other than LF or CRLF');
      expect(chartCalls()).toEqual([]);
    } finally {
      await setDefaultHome('ops');
    }
  });

  it('reads the dashboard again once it was changed through Perch', async () => {
    expect(byNamespace((await draw(viewer, 'ops', 'all')).json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1 });
    // The admin narrows the chart to company.finance: the viewer's next draw follows the new source at once.
    const changed = dashboard('ops', chart('all', 'Executions', ['- field: NAMESPACE', '  type: EQUAL_TO', '  value: company.finance']));
    expect((await admin.fetch('PUT', `${API}/ops`, { body: changed, headers: YAML })).status).toBe(200);
    kestra.clear();
    expect((await draw(viewer, 'ops', 'all')).json).toEqual({ results: [], total: 0 });
    expect(chartCalls()).toEqual([]);
    // Deleted through Perch: no longer the default, nor readable.
    expect((await admin.fetch('DELETE', `${API}/ops`)).status).toBe(204);
    expect((await viewer.fetch('GET', `${API}/ops`)).status).toBe(403);
    expect((await draw(viewer, 'ops', 'all')).status).toBe(404);
  });
});
