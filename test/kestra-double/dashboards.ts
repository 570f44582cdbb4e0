/**
 * Chart previews (`POST /api/v1/{tenant}/dashboards/charts/preview`) as Kestra 2.0 OSS draws them, for the
 * Executions, ExecutionsKPI, Logs and LogsKPI data types (docs/compatibility.md cites each rule):
 * - the body is `{chart: <YAML>, globalFilter: {filters: [QueryFilter], pageNumber, pageSize}}`
 *   (DashboardController.PreviewRequest / buildChartPreviewDataQuery);
 * - a global `namespace` (or `flowId`) filter replaces every chart clause on that field, and each global
 *   filter becomes one more clause (IExecutions / ILogs.whereWithGlobalFilters); a `timeRange` or
 *   `startDate`/`endDate` filter bounds the date (TimeLineSearch);
 * - clauses are applied one after the other as Kestra's JDBC filter service does: each ANDed onto what
 *   came before, except OR, which is ORed onto it (AbstractFilterService.addFilters, JdbcFilterService.or);
 *   a KPI's numerator clauses come after the where clauses (fetchValue);
 * - rows are grouped by the columns without `agg` and aggregated (COUNT, SUM, AVG, MIN, MAX); dates are
 *   grouped by the hour (a simplification of Kestra's DateUtils.GroupType choice).
 * Other data or chart types answer 422, as Kestra answers its IllegalArgumentException. Stored dashboards
 * (create, get, update, delete, search) and their charts (`POST …/dashboards/{id}/charts/{chartId}`, the body
 * being the global filter) and the default-dashboards setting (unset on a fresh OSS; set by OSS's
 * TenantController) follow DashboardController / TenantController @ c94e7743.
 */
import { type Ctx, type Route, badRequest, conflict, jsonBody, notFound, nowIso, paginate, parseIsoDuration, parseKestraYaml, sendEmpty, sendJson, unprocessable } from './http.js';
import type { DashboardRec, ExecutionRec, LogRec } from './state.js';

type Row = Record<string, string | number | undefined>;
type Predicate = (row: Row) => boolean;

interface Clause {
  type: string;
  field?: string;
  value?: unknown;
  values?: unknown[];
}

interface GlobalFilter {
  field: string;
  operation: string;
  value?: unknown;
}

const DATA = 'io.kestra.plugin.core.dashboard.data.';

/** The row each data type reads, keyed by its Fields enum names. */
function executionRow(e: ExecutionRec): Row {
  const start = e.state.histories[0]?.date ?? e.createdDate;
  const last = e.state.histories[e.state.histories.length - 1]!.date;
  return {
    ID: e.id,
    NAMESPACE: e.namespace,
    FLOW_ID: e.flowId,
    FLOW_REVISION: e.flowRevision,
    STATE: e.state.current,
    DURATION: (Date.parse(last) - Date.parse(start)) / 1000,
    START_DATE: start,
    END_DATE: last,
  };
}

function logRow(l: LogRec): Row {
  return { NAMESPACE: l.namespace, FLOW_ID: l.flowId, EXECUTION_ID: l.executionId, TASK_ID: l.taskId ?? undefined, DATE: l.timestamp, LEVEL: l.level, MESSAGE: l.message };
}

const SOURCES: Record<string, { rows: (ctx: Ctx) => Row[]; date: string; kpi: boolean }> = {
  [`${DATA}Executions`]: { rows: (ctx) => [...ctx.rt.store.executions.values()].map(executionRow), date: 'START_DATE', kpi: false },
  [`${DATA}ExecutionsKPI`]: { rows: (ctx) => [...ctx.rt.store.executions.values()].map(executionRow), date: 'START_DATE', kpi: true },
  [`${DATA}Logs`]: { rows: (ctx) => [...ctx.rt.store.logs.values()].flat().map(logRow), date: 'DATE', kpi: false },
  [`${DATA}LogsKPI`]: { rows: (ctx) => [...ctx.rt.store.logs.values()].flat().map(logRow), date: 'DATE', kpi: true },
};

const asList = (c: Clause): unknown[] => (Array.isArray(c.values) ? c.values : typeof c.value === 'string' ? c.value.split(',') : [c.value]);

function clausePredicate(c: Clause): Predicate {
  if (c.type === 'OR') {
    const subs = (c.values ?? []).map((v) => clausePredicate(v as Clause));
    return (row) => subs.some((p) => p(row));
  }
  const field = c.field ?? '';
  const text = (row: Row) => (row[field] === undefined ? undefined : String(row[field]));
  const v = c.value;
  const compare = (row: Row) => {
    const a = row[field];
    // Dates are ISO instants: as text they sort as they fall.
    return typeof a === 'number' ? a - Number(v) : String(a ?? '') < String(v) ? -1 : String(a ?? '') > String(v) ? 1 : 0;
  };
  switch (c.type) {
    case 'EQUAL_TO':
      return (row) => text(row) === String(v);
    case 'NOT_EQUAL_TO':
      return (row) => text(row) !== String(v);
    case 'IN':
      return (row) => asList(c).map(String).includes(text(row) ?? '\0');
    case 'NOT_IN':
      return (row) => !asList(c).map(String).includes(text(row) ?? '\0');
    case 'PREFIX':
      // `= v OR LIKE 'v.%'` (JdbcFilterService.prefixCondition): the namespace and its children.
      return (row) => text(row) === String(v) || (text(row) ?? '').startsWith(`${String(v)}.`);
    case 'STARTS_WITH':
      return (row) => (text(row) ?? '').startsWith(String(v));
    case 'ENDS_WITH':
      return (row) => (text(row) ?? '').endsWith(String(v));
    case 'CONTAINS':
      return (row) => (text(row) ?? '').includes(String(v));
    case 'REGEX': {
      // jOOQ likeRegex: a search (H2's REGEXP_LIKE, PostgreSQL's ~, MySQL's REGEXP), not a whole match.
      const re = new RegExp(String(v));
      return (row) => re.test(text(row) ?? '');
    }
    case 'GREATER_THAN':
      return (row) => compare(row) > 0;
    case 'GREATER_THAN_OR_EQUAL_TO':
      return (row) => compare(row) >= 0;
    case 'LESS_THAN':
      return (row) => compare(row) < 0;
    case 'LESS_THAN_OR_EQUAL_TO':
      return (row) => compare(row) <= 0;
    default:
      throw unprocessable(`Unsupported filter type ${c.type}`);
  }
}

/** Clauses applied in order: AND onto what came before, OR onto all of it (Kestra's fold). */
function whereOf(clauses: readonly Clause[]): Predicate {
  return clauses.reduce<Predicate>((before, c) => {
    const p = clausePredicate(c);
    return c.type === 'OR' ? (row) => before(row) || p(row) : (row) => before(row) && p(row);
  }, () => true);
}

const OPERATION_TYPES: Record<string, string> = {
  EQUALS: 'EQUAL_TO',
  NOT_EQUALS: 'NOT_EQUAL_TO',
  IN: 'IN',
  NOT_IN: 'NOT_IN',
  STARTS_WITH: 'STARTS_WITH',
  ENDS_WITH: 'ENDS_WITH',
  CONTAINS: 'CONTAINS',
  PREFIX: 'PREFIX',
  REGEX: 'REGEX',
  GREATER_THAN_OR_EQUAL_TO: 'GREATER_THAN_OR_EQUAL_TO',
  LESS_THAN_OR_EQUAL_TO: 'LESS_THAN_OR_EQUAL_TO',
};

/** IExecutions / ILogs.whereWithGlobalFilters: global namespace and flowId filters replace the chart's own. */
function withGlobalFilters(where: readonly Clause[], filters: readonly GlobalFilter[], dateField: string): Clause[] {
  let out = [...where];
  for (const [name, field] of [['namespace', 'NAMESPACE'], ['flowId', 'FLOW_ID']] as const) {
    const global = filters.filter((f) => f.field === name);
    if (global.length === 0) continue;
    out = out.filter((c) => c.field !== field);
    for (const f of global) {
      const type = OPERATION_TYPES[f.operation];
      if (!type) throw badRequest(`Unsupported operation ${f.operation} on ${name}`);
      out.push(type === 'IN' || type === 'NOT_IN' ? { type, field, values: asList({ type, value: f.value }) } : { type, field, value: f.value });
    }
  }
  // TimeLineSearch: a time range counts back from now; startDate / endDate are instants.
  const range = filters.find((f) => f.field === 'timeRange');
  const start = range ? new Date(Date.now() - (parseIsoDuration(String(range.value)) ?? 0)).toISOString() : filters.find((f) => f.field === 'startDate')?.value;
  const end = filters.find((f) => f.field === 'endDate')?.value;
  if (start !== undefined) out.push({ type: 'GREATER_THAN_OR_EQUAL_TO', field: dateField, value: String(start) });
  if (end !== undefined) out.push({ type: 'LESS_THAN_OR_EQUAL_TO', field: dateField, value: String(end) });
  return out;
}

interface Column {
  field?: string;
  agg?: string;
}

function aggregate(agg: string, values: number[]): number {
  switch (agg) {
    case 'COUNT':
      return values.length;
    case 'SUM':
      return values.reduce((a, b) => a + b, 0);
    case 'AVG':
      return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
    case 'MIN':
      return Math.min(...values);
    case 'MAX':
      return Math.max(...values);
    default:
      throw unprocessable(`Unsupported aggregation ${agg}`);
  }
}

function groupRows(rows: readonly Row[], columns: Record<string, Column>, dateField: string): Record<string, unknown>[] {
  const keys = Object.entries(columns).filter(([, c]) => !c.agg);
  const aggs = Object.entries(columns).filter(([, c]) => c.agg);
  const groups = new Map<string, { key: Record<string, unknown>; rows: Row[] }>();
  for (const row of rows) {
    const key: Record<string, unknown> = {};
    for (const [name, c] of keys) {
      const v = row[c.field ?? ''];
      key[name] = c.field === dateField && typeof v === 'string' ? `${v.slice(0, 13)}:00:00.000Z` : v ?? null;
    }
    const id = JSON.stringify(key);
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { key, rows: [] }));
    group.rows.push(row);
  }
  if (keys.length === 0 && groups.size === 0) groups.set('{}', { key: {}, rows: [] });
  return [...groups.values()].map(({ key, rows: members }) => {
    const out = { ...key };
    for (const [name, c] of aggs) out[name] = aggregate(c.agg!, c.agg === 'COUNT' ? members.map(() => 1) : members.map((r) => Number(r[c.field ?? '']) || 0));
    return out;
  });
}

type Paging = { pageNumber?: unknown; pageSize?: unknown };

/** DashboardController.fetchChartData: a chart drawn with the global filters (each checked as whereWithGlobalFilters reads it). */
function drawChart(ctx: Ctx, chart: { data?: { type?: string; columns?: unknown; where?: Clause[]; numerator?: Clause[] }; chartOptions?: { numberType?: string } } | null, rawFilters: unknown, paging: Paging): void {
  const filters = (Array.isArray(rawFilters) ? rawFilters : []) as GlobalFilter[];
  for (const f of filters) {
    // A {logical, children} node has no field: whereWithGlobalFilters fails on it.
    if (typeof f?.field !== 'string' || typeof f.operation !== 'string') throw unprocessable('Internal Server Error: filter field is null');
  }
  const source = SOURCES[chart?.data?.type ?? ''];
  if (!chart?.data || !source) throw unprocessable('Only data charts can be generated.');
  const where = withGlobalFilters(chart.data.where ?? [], filters, source.date);
  const rows = source.rows(ctx);
  if (source.kpi) {
    const total = rows.filter(whereOf(where)).length;
    const part = chart.data.numerator ? rows.filter(whereOf([...where, ...chart.data.numerator])).length : total;
    const value = chart.chartOptions?.numberType === 'PERCENTAGE' ? (total === 0 ? 0 : Math.round((part / total) * 10000) / 100) : part;
    sendJson(ctx, 200, { results: [{ value }], total: 1 });
    return;
  }
  const columns = (chart.data.columns ?? {}) as Record<string, Column>;
  const grouped = groupRows(rows.filter(whereOf(where)), columns, source.date);
  const { pageNumber, pageSize } = paging;
  const page = typeof pageNumber === 'number' && typeof pageSize === 'number' ? grouped.slice((pageNumber - 1) * pageSize, pageNumber * pageSize) : grouped;
  sendJson(ctx, 200, { results: page, total: grouped.length });
}

function previewChart(ctx: Ctx): void {
  const body = jsonBody(ctx, 'previewRequest') as { chart?: unknown; globalFilter?: ({ filters?: unknown } & Paging) | null } | null;
  if (!body || typeof body.chart !== 'string' || body.chart.trim() === '') throw badRequest('previewRequest.chart: must not be blank');
  drawChart(ctx, parseKestraYaml(body.chart) as Parameters<typeof drawChart>[1], body.globalFilter?.filters, body.globalFilter ?? {});
}

/**
 * A stored dashboard's chart (getDashboardChartData / buildDashboardChardDataQuery): the body is the
 * global filter (ChartFiltersOverrides), the chart the dashboard's first one with that id; an unknown
 * dashboard or chart makes the controller return null, which Micronaut answers 404.
 */
function storedChart(ctx: Ctx, params: Record<string, string>): void {
  const body = jsonBody(ctx, 'globalFilter') as ({ filters?: unknown } & Paging) | null;
  const dashboard = ctx.rt.store.dashboards.get(params.id!);
  const chart = dashboard?.charts.find((c) => c.id === params.chartId);
  if (!chart) throw notFound('Not Found');
  drawChart(ctx, chart as Parameters<typeof drawChart>[1], body?.filters, body ?? {});
}

/** A dashboard's YAML as DashboardController.parseDashboard reads it: an id, a title and its charts. */
function parseDashboard(source: string): { id: string; title: string; description?: string; charts: Record<string, unknown>[] } {
  let parsed: unknown;
  try {
    parsed = parseKestraYaml(source);
  } catch (error) {
    throw unprocessable(`Invalid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const d = parsed as { id?: unknown; title?: unknown; description?: unknown; charts?: unknown } | null;
  if (!d || typeof d.id !== 'string' || d.id === '') throw unprocessable('Dashboard id is mandatory');
  if (typeof d.title !== 'string' || d.title === '') throw unprocessable('dashboard.title: must not be blank', [{ path: 'dashboard.title', message: 'must not be blank' }]);
  const charts = Array.isArray(d.charts) ? (d.charts.filter((c) => typeof c === 'object' && c !== null) as Record<string, unknown>[]) : [];
  return { id: d.id, title: d.title, ...(typeof d.description === 'string' ? { description: d.description } : {}), charts };
}

function dashboardResponse(d: DashboardRec): Record<string, unknown> {
  return { tenantId: 'main', id: d.id, title: d.title, ...(d.description ? { description: d.description } : {}), charts: d.charts, deleted: false, created: d.created, updated: d.updated, sourceCode: d.sourceCode };
}

function createDashboard(ctx: Ctx): void {
  const source = ctx.body.toString('utf8');
  const parsed = parseDashboard(source);
  if (ctx.rt.store.dashboards.has(parsed.id)) throw unprocessable('Dashboard id already exists', [{ path: 'dashboard.id', message: 'Dashboard id already exists' }]);
  const now = nowIso();
  const rec: DashboardRec = { ...parsed, sourceCode: source, created: now, updated: now };
  ctx.rt.store.dashboards.set(rec.id, rec);
  sendJson(ctx, 200, dashboardResponse(rec));
}

/** getDashboard: the stored dashboard (its source gets `id:` first when it lacks one), or null → 404. */
function getDashboard(ctx: Ctx, params: Record<string, string>): void {
  const rec = ctx.rt.store.dashboards.get(params.id!);
  if (!rec) throw notFound('Not Found');
  sendJson(ctx, 200, dashboardResponse(/^id:.*$/m.test(rec.sourceCode) ? rec : { ...rec, sourceCode: `id: ${rec.id}\n${rec.sourceCode}` }));
}

function updateDashboard(ctx: Ctx, params: Record<string, string>): void {
  const existing = ctx.rt.store.dashboards.get(params.id!);
  if (!existing) throw notFound('Not Found');
  const source = ctx.body.toString('utf8');
  const parsed = parseDashboard(source);
  if (parsed.id !== params.id) throw unprocessable('Illegal dashboard id update', [{ path: 'dashboard.id', message: 'Illegal dashboard id update' }]);
  const rec: DashboardRec = { ...parsed, sourceCode: source, created: existing.created, updated: nowIso() };
  ctx.rt.store.dashboards.set(rec.id, rec);
  sendJson(ctx, 200, dashboardResponse(rec));
}

/** deleteDashboard: 204, and the id leaves the default-dashboards setting (removeDefaultDashboardReferences). */
function deleteDashboard(ctx: Ctx, params: Record<string, string>): void {
  const store = ctx.rt.store;
  if (!store.dashboards.delete(params.id!)) throw notFound('Not Found');
  if (store.dashboardSettings) store.dashboardSettings = Object.fromEntries(Object.entries(store.dashboardSettings).filter(([, id]) => id !== params.id));
  sendEmpty(ctx, 204);
}

function searchDashboards(ctx: Ctx): void {
  sendJson(ctx, 200, paginate([...ctx.rt.store.dashboards.values()].map(dashboardResponse), ctx.query));
}

/** The setting when one was saved; else `HttpResponse.ok()` without a body, as on a fresh OSS (getDefaultDashboards). */
function defaultDashboards(ctx: Ctx): void {
  if (ctx.rt.store.dashboardSettings) sendJson(ctx, 200, ctx.rt.store.dashboardSettings);
  else sendEmpty(ctx, 200);
}

/** TenantController.setTenantDefaultDashboard (OSS @ c94e7743): each named dashboard must exist (409), the three ids replace the setting. */
function setDefaultDashboards(ctx: Ctx): void {
  const body = (jsonBody(ctx, 'request') ?? {}) as Record<string, unknown>;
  const saved: Record<string, string> = {};
  for (const key of ['defaultHomeDashboard', 'defaultFlowOverviewDashboard', 'defaultNamespaceOverviewDashboard']) {
    const id = body[key];
    if (typeof id !== 'string') continue;
    if (!ctx.rt.store.dashboards.has(id)) throw conflict(`Dashboard with id '${id}' does not exist`);
    saved[key] = id;
  }
  ctx.rt.store.dashboardSettings = saved;
  sendJson(ctx, 200, saved);
}

export const dashboardRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/:tenant/dashboards', handler: searchDashboards },
  { method: 'POST', path: '/api/v1/:tenant/dashboards', handler: createDashboard },
  { method: 'POST', path: '/api/v1/:tenant/dashboards/charts/preview', handler: previewChart },
  { method: 'GET', path: '/api/v1/:tenant/dashboards/settings/default-dashboards', handler: defaultDashboards },
  { method: 'GET', path: '/api/v1/:tenant/dashboards/:id', handler: getDashboard },
  { method: 'PUT', path: '/api/v1/:tenant/dashboards/:id', handler: updateDashboard },
  { method: 'DELETE', path: '/api/v1/:tenant/dashboards/:id', handler: deleteDashboard },
  { method: 'POST', path: '/api/v1/:tenant/dashboards/:id/charts/:chartId', handler: storedChart },
  { method: 'POST', path: '/api/v1/tenants/main/settings/default-dashboards', handler: setDefaultDashboards },
];
