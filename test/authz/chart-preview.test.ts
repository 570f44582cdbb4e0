import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import type { Browser } from '../support/perch.js';
import { byNamespace, namespaceCountChart, startChartWorld, stopChartWorld, type ChartWorld } from './chart-world.js';

const PREVIEW = '/api/v1/main/dashboards/charts/preview';
const DATA = 'io.kestra.plugin.core.dashboard.data';

/** A chart as the 2.0 UI writes it (YAML), counting rows per namespace. */
function chart(dataType: string, where = '', extra = ''): string {
  return [...namespaceCountChart('per_namespace', dataType), where ? `  where:\n${where}` : '', extra].filter((l) => l !== '').join('\n');
}

/** The flows list's execution statistics chart (ui/src/components/flows/Flows.vue), for one flow. */
const flowsListChart = (namespace: string, id: string) =>
  chart('Executions', `    - field: NAMESPACE\n      type: EQUAL_TO\n      value: ${namespace}\n    - field: FLOW_ID\n      type: EQUAL_TO\n      value: ${id}`);

/**
 * The 2.0 UI draws its bundled dashboards (home, flow and namespace overviews) and the flows list's
 * statistics column through chart previews. A person bound to namespaces gets them bounded to those
 * namespaces, exactly (no sibling such as company.team2), whatever the chart YAML or the filters ask.
 */
describe('chart previews for people bound to namespaces', () => {
  let kestra: KestraDouble;
  let world: ChartWorld;
  let admin: Browser;
  let viewer: Browser;
  let twoRoots: Browser;

  const sent = () => kestra.requests.filter((r) => r.url === PREVIEW).map((r) => JSON.parse(r.body.toString('utf8')) as { chart: string; globalFilter: { filters: unknown[] } });
  const preview = (who: Browser, body: unknown) => who.fetch('POST', PREVIEW, { json: body });

  beforeAll(async () => {
    world = await startChartWorld();
    ({ kestra, admin, viewer, twoRoots } = world);
  });
  afterAll(() => stopChartWorld(world));

  it('draws the home page chart with the namespace and its children only', async () => {
    kestra.clear();
    const res = await preview(viewer, { chart: chart('Executions'), globalFilter: { filters: [{ field: 'timeRange', operation: 'EQUALS', value: 'PT24H' }] } });
    expect(res.status).toBe(200);
    expect(byNamespace(res.json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1 });
    // Kestra got one namespace filter, Perch's, beside the caller's other filters.
    expect(sent().map((b) => b.globalFilter.filters)).toEqual([[{ field: 'timeRange', operation: 'EQUALS', value: 'PT24H' }, { field: 'namespace', operation: 'PREFIX', value: 'company.team' }]]);

    // The same chart for the instance owner is forwarded as it came: every namespace.
    const all = await preview(admin, { chart: chart('Executions') });
    expect(byNamespace(all.json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1, 'company.team2': 1, 'company.finance': 1 });
  });

  it('draws a logs chart the same way', async () => {
    kestra.clear();
    const res = await preview(viewer, { chart: chart('Logs'), globalFilter: { filters: [] } });
    expect(res.status).toBe(200);
    expect(Object.keys(byNamespace(res.json.results)).sort()).toEqual(['company.team', 'company.team.sub']);
    expect(sent()).toHaveLength(1);
  });

  it('draws the flows list’s statistics of a flow the person sees, and nothing of a flow elsewhere', async () => {
    kestra.clear();
    const mine = await preview(viewer, { chart: flowsListChart('company.team', 'hello'), globalFilter: { filters: [{ field: 'timeRange', operation: 'EQUALS', value: 'PT24H' }] } });
    expect(mine.status).toBe(200);
    expect(byNamespace(mine.json.results)).toEqual({ 'company.team': 1 });
    expect(sent()[0]!.globalFilter.filters).toContainEqual({ field: 'namespace', operation: 'EQUALS', value: 'company.team' });

    // A chart naming another namespace (or a sibling sharing the prefix) is answered empty; Kestra never sees it.
    kestra.clear();
    for (const other of ['company.finance', 'company.team2']) {
      const theirs = await preview(viewer, { chart: flowsListChart(other, 'payroll') });
      expect(theirs.status).toBe(200);
      expect(theirs.json).toEqual({ results: [], total: 0 });
    }
    expect(sent()).toEqual([]);
  });

  it('keeps siblings and other namespaces out whatever the global filter asks', async () => {
    const asks: Array<[unknown, Record<string, number>]> = [
      // PREFIX company: narrowed to company.team, never company.team2 nor company.finance.
      [{ field: 'namespace', operation: 'PREFIX', value: 'company' }, { 'company.team': 2, 'company.team.sub': 1 }],
      // STARTS_WITH company.team would be LIKE 'company.team%' (company.team2 too): Perch sends its dot-aware PREFIX.
      [{ field: 'namespace', operation: 'STARTS_WITH', value: 'company.team' }, { 'company.team': 2, 'company.team.sub': 1 }],
      // A list reaching out keeps only the person's namespaces, named one by one.
      [{ field: 'namespace', operation: 'IN', value: ['company.team.sub', 'company.finance', 'company.team2'] }, { 'company.team.sub': 1 }],
      [{ field: 'namespace', operation: 'NOT_EQUALS', value: 'company.team.sub' }, { 'company.team': 2 }],
    ];
    for (const [filter, expected] of asks) {
      kestra.clear();
      const res = await preview(viewer, { chart: chart('Executions'), globalFilter: { filters: [filter] } });
      expect(res.status, JSON.stringify(filter)).toBe(200);
      expect(byNamespace(res.json.results), JSON.stringify(filter)).toEqual(expected);
      const forwarded = sent()[0]!.globalFilter.filters as Array<{ field: string; operation: string; value: unknown }>;
      expect(forwarded.every((f) => f.field !== 'namespace' || f.operation !== 'STARTS_WITH' || f.value !== 'company.team')).toBe(true);
    }
    // Only namespaces elsewhere: nothing goes to Kestra.
    kestra.clear();
    const elsewhere = await preview(viewer, { chart: chart('Executions'), globalFilter: { filters: [{ field: 'namespace', operation: 'EQUALS', value: 'company.finance' }] } });
    expect(elsewhere.json).toEqual({ results: [], total: 0 });
    expect(sent()).toEqual([]);
  });

  it('refuses what would reach past the namespace filter, and sends Kestra nothing', async () => {
    const orNumerator = [
      'id: kpi',
      'type: io.kestra.plugin.core.dashboard.chart.KPI',
      'data:',
      `  type: ${DATA}.ExecutionsKPI`,
      '  columns:',
      '    agg: COUNT',
      '  numerator:',
      '    - type: OR',
      '      field: NAMESPACE',
      '      values:',
      '        - field: NAMESPACE',
      '          type: EQUAL_TO',
      '          value: company.finance',
    ].join('\n');
    // On Kestra (here the double, for the owner) that OR is applied after the namespace filter: it reaches company.finance.
    const widened = await preview(admin, { chart: orNumerator, globalFilter: { filters: [{ field: 'namespace', operation: 'EQUALS', value: 'company.team' }] } });
    expect(widened.json.results[0].value).toBe(3);
    const ownKpi = orNumerator.split('\n  numerator:')[0]!;
    expect((await preview(viewer, { chart: ownKpi })).json).toEqual({ results: [{ value: 3 }], total: 1 });

    kestra.clear();
    const refused: Array<[unknown, number]> = [
      [{ chart: orNumerator }, 403],
      [{ chart: chart('Executions', '    - type: OR\n      field: NAMESPACE\n      values:\n        - field: NAMESPACE\n          type: EQUAL_TO\n          value: company.finance') }, 403],
      // A data type Perch does not bound (Flows), or a plugin's.
      [{ chart: chart('Flows') }, 403],
      [{ chart: chart('Executions').replace(`${DATA}.Executions`, 'com.example.Rows') }, 403],
      // A {logical, children} global filter node; a namespace filter Perch cannot read.
      [{ chart: chart('Executions'), globalFilter: { filters: [{ logical: 'or', children: [{ field: 'namespace', operation: 'EQUALS', value: 'company.finance' }] }] } }, 400],
      [{ chart: chart('Executions'), globalFilter: { filters: [{ field: 'namespace', operation: 'REGEX', value: '.*' }] } }, 400],
      [{ chart: chart('Executions', '    - field: NAMESPACE\n      type: REGEX\n      value: company.*') }, 400],
      // Aliases, and bodies that are not a preview.
      [{ chart: 'id: a\ntype: io.kestra.plugin.core.dashboard.chart.Table\ndata: &d\n  type: x\nother: *d' }, 400],
      [{ globalFilter: {} }, 400],
      ['not a preview', 400],
      // A flow's description in a namespace the person does not see.
      [{ chart: 'id: d\ntype: io.kestra.plugin.core.dashboard.chart.Markdown\nsource:\n  type: FlowDescription\n  namespace: company.finance\n  flowId: payroll' }, 403],
    ];
    for (const [body, status] of refused) {
      const res = await preview(viewer, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.message, JSON.stringify(body)).toBeTruthy();
    }
    expect(sent()).toEqual([]);
  });

  it('draws a chart for a person bound to two namespaces with both, and their children, and nothing else', async () => {
    kestra.clear();
    // Kestra ANDs every global namespace filter, so Perch sends one anchored regex naming both roots.
    const open = await preview(twoRoots, { chart: chart('Executions') });
    expect(open.status).toBe(200);
    expect(byNamespace(open.json.results)).toEqual({ 'company.team': 2, 'company.team.sub': 1, 'company.finance': 1 });
    expect(sent().map((b) => b.globalFilter.filters)).toEqual([[{ field: 'namespace', operation: 'REGEX', value: '^(company[.]finance([.].*)?|company[.]team([.].*)?)$' }]]);
    // A filter spanning both (PREFIX company) is bounded the same way; an exclusion travels beside it.
    const wide = await preview(twoRoots, { chart: chart('Executions'), globalFilter: { filters: [{ field: 'namespace', operation: 'PREFIX', value: 'company' }, { field: 'namespace', operation: 'NOT_EQUALS', value: 'company.team.sub' }] } });
    expect(byNamespace(wide.json.results)).toEqual({ 'company.team': 2, 'company.finance': 1 });
    // A KPI counts both; logs too.
    const kpi = 'id: kpi\ntype: io.kestra.plugin.core.dashboard.chart.KPI\ndata:\n  type: io.kestra.plugin.core.dashboard.data.ExecutionsKPI\n  columns:\n    agg: COUNT';
    expect((await preview(twoRoots, { chart: kpi })).json).toEqual({ results: [{ value: 4 }], total: 1 });
    expect(Object.keys(byNamespace((await preview(twoRoots, { chart: chart('Logs') })).json.results)).sort()).toEqual(['company.finance', 'company.team', 'company.team.sub']);
    // Naming one of them draws it.
    const one = await preview(twoRoots, { chart: chart('Executions'), globalFilter: { filters: [{ field: 'namespace', operation: 'PREFIX', value: 'company.finance' }] } });
    expect(byNamespace(one.json.results)).toEqual({ 'company.finance': 1 });
    // Nothing in common: an empty chart, quietly, and nothing sent; the CSV export of it is refused with a reason.
    kestra.clear();
    const none = await preview(twoRoots, { chart: chart('Executions'), globalFilter: { filters: [{ field: 'namespace', operation: 'EQUALS', value: 'company.team2' }] } });
    expect(none.json).toEqual({ results: [], total: 0 });
    const csv = await twoRoots.fetch('POST', '/api/v1/main/dashboards/charts/export/to-csv', { json: { chart: chart('Executions'), globalFilter: { filters: [{ field: 'namespace', operation: 'EQUALS', value: 'company.team2' }] } } });
    expect(csv.status).toBe(403);
    expect(kestra.requests).toEqual([]);
  });

  it('lets every signed-in person read which dashboards the pages open by default', async () => {
    kestra.clear();
    const res = await viewer.fetch('GET', '/api/v1/main/dashboards/settings/default-dashboards');
    expect(res.status).toBe(200);
    expect(kestra.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v1/main/dashboards/settings/default-dashboards']);
  });
});
