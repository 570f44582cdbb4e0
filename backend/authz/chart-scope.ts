import { parse } from 'yaml';
import { OTHER_LINE_BREAK_REFUSAL, otherLineBreakLine } from './kestra-yaml.js';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import { conditionOf, type NamespaceCondition } from './query-scope.js';
import { JsonBodyError, parseJsonBody } from './json-body.js';

/**
 * A chart preview (`POST …/dashboards/charts/preview` and its CSV export), read as Kestra 2.0 reads it
 * (DashboardController.previewChart @ c94e7743, docs/compatibility.md): a JSON body
 * `{chart: <chart YAML>, globalFilter: {filters: [QueryFilter], pageNumber, pageSize}}`. The chart's data
 * type decides which rows are read; Kestra drops the chart's own namespace conditions when the global
 * filter has one (IExecutions/ILogs/IMetrics/ITriggers.whereWithGlobalFilters) and ANDs each global
 * namespace filter into the query, which is what lets Perch bound a namespace-scoped person's chart.
 */

export class ChartError extends Error {
  constructor(
    readonly status: 400 | 403,
    message: string,
  ) {
    super(message);
  }
}

const DATA = 'io.kestra.plugin.core.dashboard.data.';
/**
 * The data types whose query takes the global namespace filter and whose where clauses Kestra's JDBC
 * repositories AND into the query (fetchData / fetchValue @ c94e7743), with the permission reading them
 * stands for (as the matching list operation: executions/search, logs/search, metrics, triggers/search).
 * Flows / FlowsKPI and plugin-provided types are not here: Perch does not bound them.
 */
const BOUNDED_DATA: Readonly<Record<string, { resource: Resource; action: Action }>> = {
  [`${DATA}Executions`]: { resource: 'EXECUTION', action: 'LIST' },
  [`${DATA}ExecutionsKPI`]: { resource: 'EXECUTION', action: 'LIST' },
  [`${DATA}Logs`]: { resource: 'EXECUTION', action: 'ACCESS_LOGS' },
  [`${DATA}LogsKPI`]: { resource: 'EXECUTION', action: 'ACCESS_LOGS' },
  [`${DATA}Metrics`]: { resource: 'EXECUTION', action: 'VIEW' },
  [`${DATA}MetricsKPI`]: { resource: 'EXECUTION', action: 'VIEW' },
  [`${DATA}Triggers`]: { resource: 'TRIGGER', action: 'LIST' },
};

/** A chart longer than this is refused: the bundled ones are a few KB, and Perch parses what it forwards. */
export const MAX_CHART_LENGTH = 256 * 1024;

/** A namespace filter Perch puts in the global filter. */
export interface NamespaceFilter {
  operation: string;
  value: string | string[];
}

/** A global filter as Kestra's QueryFilter leaf reads it. */
interface LeafFilter {
  field: string;
  operation: string;
  value?: unknown;
}

export interface ChartPreview {
  /** What reading the chart's rows needs; null when it has no data (a Markdown chart) or an unknown data type. */
  data: { type: string; resource: Resource; action: Action } | null;
  /** The `data.type` Perch does not bound (null: none, or a known one). */
  unknownData: string | null;
  /** The namespace whose flow description a Markdown `FlowDescription` source reads. */
  flowDescription: string | null;
  /** Whether a where/numerator clause is an OR (see {@link readChartPreview}). */
  orFilter: boolean;
  /** The caller's namespace conditions as Kestra would apply them, or why Perch cannot read them. */
  namespaceConditions: NamespaceCondition[] | string;
  /** Where those conditions come from: the request's global filter, or the chart's own `where` (Kestra applies those when the filter has none). */
  namespaceConditionsFrom: 'global' | 'chart';
  /** The body Kestra gets: the chart as Perch read it (JSON) and the global filter with these namespace filters. */
  body(namespaceFilters: readonly NamespaceFilter[] | 'unchanged'): Buffer;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNamespace = (field: unknown) => typeof field === 'string' && field.toLowerCase() === 'namespace';

/** The chart YAML as data; anchors and aliases are refused, and what Perch read is what Kestra gets (as JSON). */
function chartOf(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text.trim() === '') throw new ChartError(400, 'The chart preview needs the chart YAML in `chart`');
  if (text.length > MAX_CHART_LENGTH) throw new ChartError(400, `The chart YAML is longer than ${MAX_CHART_LENGTH} characters`);
  return yamlMapping(text, 'The chart YAML');
}

function yamlMapping(text: string, what: string): Record<string, unknown> {
  const breakLine = otherLineBreakLine(text);
  if (breakLine !== null) throw new ChartError(400, `${what} is refused (line ${breakLine}): ${OTHER_LINE_BREAK_REFUSAL}`);
  let value: unknown;
  try {
    value = parse(text, { merge: false, maxAliasCount: 0, logLevel: 'error', uniqueKeys: false });
  } catch (error) {
    throw new ChartError(400, `${what} is refused: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(value)) throw new ChartError(400, `${what} must be a mapping`);
  return value;
}

function globalFiltersOf(globalFilter: unknown): { filters: LeafFilter[]; paging: Record<string, number> } {
  if (globalFilter === undefined || globalFilter === null) return { filters: [], paging: {} };
  if (!isRecord(globalFilter)) throw new ChartError(400, '`globalFilter` must be an object');
  const raw = globalFilter.filters ?? [];
  if (!Array.isArray(raw)) throw new ChartError(400, '`globalFilter.filters` must be a list');
  const filters = raw.map((f) => {
    // Kestra's whereWithGlobalFilters reads only plain leaves (a {logical, children} node has no field).
    if (!isRecord(f) || typeof f.field !== 'string' || typeof f.operation !== 'string' || f.children !== undefined || f.logical !== undefined) {
      throw new ChartError(400, 'Perch only accepts plain {field, operation, value} global filters on a chart');
    }
    return { field: f.field, operation: f.operation, ...(f.value !== undefined ? { value: f.value } : {}) };
  });
  const paging: Record<string, number> = {};
  for (const key of ['pageNumber', 'pageSize'] as const) {
    const v = globalFilter[key];
    if (v === undefined || v === null) continue;
    if (!Number.isInteger(v)) throw new ChartError(400, `\`globalFilter.${key}\` must be an integer`);
    paging[key] = v as number;
  }
  return { filters, paging };
}

/** A condition's value(s) as one text, as a query parameter carries them. */
function valueText(value: unknown, values: unknown): string | null {
  const v = values !== undefined ? values : value;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v.join(',');
  return null;
}

/** The chart filter types (AbstractFilter.FilterType) Perch reads on the namespace field, as query operations. */
const CHART_OPERATIONS: Readonly<Record<string, string>> = {
  EQUAL_TO: 'EQUALS',
  NOT_EQUAL_TO: 'NOT_EQUALS',
  IN: 'IN',
  NOT_IN: 'NOT_IN',
  PREFIX: 'PREFIX',
  STARTS_WITH: 'STARTS_WITH',
  ENDS_WITH: 'ENDS_WITH',
  CONTAINS: 'CONTAINS',
};

function conditionsOf(parts: Array<{ op: string; text: string | null }>): NamespaceCondition[] | string {
  const out: NamespaceCondition[] = [];
  for (const { op, text } of parts) {
    if (text === null) return 'A namespace condition needs a string value (or a list of them)';
    const condition = conditionOf(op, text);
    if (typeof condition === 'string') return condition;
    out.push(condition);
  }
  return out;
}

/**
 * Reads a preview body. Refused (400): what is not the shape above. An OR clause is only flagged: Kestra's
 * JDBC filter service applies it as `(everything so far) OR …` (JdbcFilterService.or), and a KPI's
 * numerator clauses come after the global namespace filter, so an OR there would reach past it.
 */
export function readChartPreview(body: Buffer): ChartPreview {
  const json = jsonOf(body, 'The request body must be JSON {chart, globalFilter}');
  const { filters, paging } = globalFiltersOf(json.globalFilter);
  const chart = chartOf(json.chart);
  // The chart as Perch read it (JSON, which Kestra's YAML parser reads too), not the text it came as.
  const chartText = JSON.stringify(chart);
  return readChart(chart, filters, (kept) => ({ chart: chartText, globalFilter: { ...paging, filters: kept } }));
}

/** A stored dashboard's source longer than this is refused (Perch parses it to find the chart). */
export const MAX_DASHBOARD_LENGTH = 1024 * 1024;

/**
 * A stored dashboard's chart (`POST …/dashboards/{id}/charts/{chartId}` and its CSV export), read as Kestra 2.0
 * reads it (DashboardController.getDashboardChartData / buildDashboardChardDataQuery @ c94e7743): the body is the
 * global filter itself (ChartFiltersOverrides: `filters` and the paging are read), the chart is the dashboard's
 * first one whose `id` is `chartId`, from its source. Null when the dashboard has no such chart.
 */
export function readStoredChart(source: string, chartId: string, body: Buffer): ChartPreview | null {
  if (source.length > MAX_DASHBOARD_LENGTH) throw new ChartError(400, `The dashboard's source is longer than ${MAX_DASHBOARD_LENGTH} characters`);
  const dashboard = yamlMapping(source, 'The stored dashboard');
  const charts = Array.isArray(dashboard.charts) ? dashboard.charts : [];
  const chart = charts.find((c): c is Record<string, unknown> => isRecord(c) && c.id === chartId);
  if (!chart) return null;
  const { filters, paging } = globalFiltersOf(jsonOf(body, 'The request body must be JSON {filters, pageNumber, pageSize}'));
  return readChart(chart, filters, (kept) => ({ ...paging, filters: kept }));
}

function jsonOf(body: Buffer, message: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = parseJsonBody(body.toString('utf8'), message);
  } catch (error) {
    if (error instanceof JsonBodyError) throw new ChartError(400, error.message);
    throw error;
  }
  if (!isRecord(json)) throw new ChartError(400, message);
  return json;
}

function readChart(
  chart: Record<string, unknown>,
  filters: LeafFilter[],
  bodyOf: (kept: LeafFilter[]) => Record<string, unknown>,
): ChartPreview {
  const source = chart.source;
  let flowDescription: string | null = null;
  if (isRecord(source) && source.type === 'FlowDescription') {
    if (typeof source.namespace !== 'string' || source.namespace === '') throw new ChartError(400, 'A FlowDescription chart names the flow\'s namespace');
    flowDescription = source.namespace;
  }

  const data = chart.data;
  let known: ChartPreview['data'] = null;
  let unknownData: string | null = null;
  let orFilter = false;
  let chartConditions: Array<{ op: string; text: string | null }> = [];
  if (data !== undefined) {
    if (!isRecord(data) || typeof data.type !== 'string') throw new ChartError(400, 'A chart\'s `data` needs a `type`');
    const use = BOUNDED_DATA[data.type];
    if (use) known = { type: data.type, ...use };
    else unknownData = data.type;
    const clauses = [data.where, data.numerator].flatMap((list) => (Array.isArray(list) ? list : list === undefined || list === null ? [] : [list]));
    orFilter = clauses.some((c) => !isRecord(c) || typeof c.type !== 'string' || c.type.toUpperCase() === 'OR');
    // Only `where` holds the namespace conditions Kestra replaces; the numerator's stay ANDed.
    const where = Array.isArray(data.where) ? data.where.filter(isRecord) : [];
    chartConditions = where
      .filter((c) => isNamespace(c.field))
      .map((c) => ({ op: CHART_OPERATIONS[String(c.type).toUpperCase()] ?? String(c.type), text: valueText(c.value, c.values) }));
  }

  const globalNamespace = filters.filter((f) => isNamespace(f.field));
  const namespaceConditions =
    globalNamespace.length > 0
      ? conditionsOf(globalNamespace.map((f) => ({ op: f.operation, text: valueText(f.value, undefined) })))
      : conditionsOf(chartConditions);

  return {
    data: known,
    unknownData,
    flowDescription,
    orFilter,
    namespaceConditions,
    namespaceConditionsFrom: globalNamespace.length > 0 ? 'global' : 'chart',
    body(namespaceFilters) {
      const kept = namespaceFilters === 'unchanged' ? filters : [...filters.filter((f) => !isNamespace(f.field)), ...namespaceFilters.map((f) => ({ field: 'namespace', operation: f.operation, value: f.value }))];
      return Buffer.from(JSON.stringify(bodyOf(kept)));
    },
  };
}

/**
 * One REGEX namespace filter for several cones (one per root): Kestra ANDs every global namespace filter
 * (whereWithGlobalFilters adds one clause each, AbstractFilterService.addFilters ANDs them), so no set of
 * PREFIX filters says "a or b, with children", but one regex does (JdbcFilterService.regexCondition: jOOQ
 * likeRegex, a search that the anchors make whole). Written in the subset every Kestra database reads alike
 * (no backslash: `[.]` for a dot); Kestra's namespaces are `^[a-z0-9][a-z0-9._-]*` (AbstractFlow @ c94e7743),
 * so a cone whose start holds another character reaches no namespace and is left out. Null: no cone left.
 */
export function namespacesRegex(cones: ReadonlyArray<{ op: 'PREFIX' | 'STARTS_WITH'; value: string }>): string | null {
  const parts = cones
    .filter((c) => /^[a-z0-9._-]+$/.test(c.value))
    .map((c) => `${c.value.replaceAll('.', '[.]')}${c.op === 'PREFIX' ? '([.].*)?' : '.*'}`);
  return parts.length === 0 ? null : `^(${parts.join('|')})$`;
}
