import { parse as parseYaml } from 'yaml';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import type { Principal } from '../auth/sessions.js';
import type { ExecutionNamespaceLookup } from './execution-lookup.js';
import { KestraReadError } from '../proxy/kestra-reader.js';
import { eeOperationOf } from './ee-operation-match.js';
import { ArchiveError, flowSourcesOf } from './flow-archive.js';
import { FlowFolderError, flowsOfNamespaceFileWrite } from './flow-folder.js';
import { analyseFlowSource, type FlowReference, referencesInText } from './flow-references.js';
import { fileUrisIn, isFileUriText } from './pebble-file-functions.js';
import type { FileInputTypes } from './file-inputs.js';
import { expandedSubflows, expandedUids, type ExpandedSubflow, SubflowExpansionError } from './graph-subflows.js';
import type { StoredFlows } from './stored-flows.js';
import { NO_PLACEMENT_RULES, type Placement, type PlacementRules } from './script-placement.js';
import { JsonBodyError, objectAt, parseJsonBody, textField, textsWithin } from './json-body.js';
import { LOOPBACK_ONLY, type KestraHosts } from './kestra-hosts.js';
import { checkFormShape, FormError, type FormPart, isMultipart, readFormParts } from './multipart-form.js';
import { CHART_DATA_ALSO, KESTRA_TENANT, matchPolicy, type NamespaceSource, type PermissionRow, type PolicyRow } from './policy-map.js';
import { ChartError, namespacesRegex, readChartPreview, readStoredChart, type ChartPreview, type NamespaceFilter } from './chart-scope.js';
import type { StoredDashboards } from './stored-dashboards.js';
import type { NamespaceDecisions } from './tenant-roots-bound.js';
import { conditionOf, conesWithin, intersectScope, narrowQuery, parseQuery, QueryError, queryValue, rootHolding, scopeFilterOf, type NamespaceCondition, type ScopeFilter } from './query-scope.js';

/** Bodies Perch reads whole: documents naming namespaces, and multipart forms (checked before anything is forwarded). */
export const MAX_INSPECTED_BODY = 16 * 1024 * 1024;

export interface KestraCall {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  principal: Principal | null;
  /** Reads the whole request body (only called for rows whose namespaces live in it). */
  readBody: () => Promise<Buffer>;
}

export interface ResponseFilter {
  where: string;
  visible: (namespace: string) => boolean;
  /** False when Kestra could not be asked for exactly the caller's scope: totals must be recomputed. */
  exact: boolean;
}

export type Verdict =
  | {
      ok: true;
      row: PolicyRow;
      namespaces: string[];
      body?: Buffer;
      query?: string;
      responseFilter?: ResponseFilter;
      /** Perch's own answer (an empty page): nothing is sent to Kestra. */
      answer?: unknown;
    }
  | { ok: false; status: number; message: string; details?: Record<string, unknown> };

/** Where a request's namespaces were found: named ones, or a tenant-level or "anywhere" question. */
type Targets = { namespaces: string[]; tenant: boolean; anywhere: boolean; filters: boolean; references: FlowReference[]; flows: Array<{ namespace: string; id: string; placement?: Placement }> };

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const BODY_SOURCES = new Set<NamespaceSource['from']>(['chartBody', 'storedChart', 'executionIdsBody', 'flowRefsBody', 'triggerRefsBody', 'triggerBody', 'flowYamlBody', 'flowYamlDocumentsBody', 'renderBody', 'filtersBody']);

/** A chart read by chart-scope.ts, its refusals as Perch's. */
function chartOf<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ChartError) throw new Refusal(error.status, error.message);
    throw error;
  }
}

/** A query parameter's value as Kestra binds it (see {@link queryValue}); an ambiguous one is refused. */
function queryParam(query: string, name: string): string | undefined {
  try {
    return queryValue(query, name);
  } catch (error) {
    if (error instanceof QueryError) throw new Refusal(400, error.message);
    throw error;
  }
}

/** A multipart body in its one canonical form (multipart-form.ts), checked against what the operation takes. */
function formParts(row: PermissionRow, call: KestraCall, body: Buffer | undefined): FormPart[] | undefined {
  if (!isMultipart(call.contentType)) {
    if (row.namespaceFileWrite === 'upload') throw new Refusal(400, 'A namespace file is uploaded as multipart/form-data');
    return undefined;
  }
  try {
    const parts = readFormParts(call.contentType!, body ?? Buffer.alloc(0));
    if (row.form) checkFormShape(parts, row.form, parseQuery(call.query).map((p) => p.name));
    return parts;
  } catch (error) {
    if (error instanceof FormError || error instanceof QueryError) throw new Refusal(400, error.message);
    throw error;
  }
}

function parseJson(body: Buffer): unknown {
  return jsonRead(() => parseJsonBody(body.toString('utf8'), 'The request body must be JSON'));
}

/** A read of the JSON body, its refusals as Perch's (json-body.ts). */
function jsonRead<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof JsonBodyError) throw new Refusal(400, error.message);
    throw error;
  }
}

function stringsOf(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new Refusal(400, `The request body must hold ${what}`);
  return value as string[];
}

function namespacesOfRefs(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new Refusal(400, `The request body must hold ${what}`);
  return value.map((ref) => {
    const ns = (ref as { namespace?: unknown } | null)?.namespace;
    if (typeof ns !== 'string') throw new Refusal(400, `Every item of ${what} needs a namespace`);
    return ns;
  });
}

/** Which namespace holds a secret key (secrets/secret-keys.ts), or null when Perch keeps no such secret. */
export interface SecretOwners {
  ownerOf(tenant: string, key: string): string | null;
}
const NO_SECRETS: SecretOwners = { ownerOf: () => null };

/**
 * A flow's `secret()` that Perch refuses whatever its author holds, or null: a key built at run time
 * (Perch cannot tell which secret it reads), or a secret Perch keeps for a namespace the flow's is not
 * (nor under). Kestra OSS would resolve either from its one global environment. A key Perch does not
 * keep (set by the operator in Kestra's environment) falls to the permission check: tenant-wide SECRET VIEW.
 */
function refusedSecret(ref: FlowReference, owners: SecretOwners, tenant: string): string | null {
  if (!ref.secret) return null;
  const { key, flowNamespace } = ref.secret;
  if (key === null) return `${ref.what}; Perch refuses secret names built at run time, since Kestra OSS would resolve them from every namespace's secrets`;
  const owner = owners.ownerOf(tenant, key);
  if (owner === null || flowNamespace === owner || flowNamespace.startsWith(`${owner}.`)) return null;
  return `secret('${key}') belongs to namespace ${owner}, which is neither ${flowNamespace} nor one of its parents (Kestra OSS resolves secrets globally, so Perch lets a flow name only its own namespace's secrets and inherited ones)`;
}

/** Flow writes: what the stored flow will be able to reach must be within its author's rights. */
const FLOW_WRITES = new Set<Action>(['CREATE', 'UPDATE', 'IMPORT']);

/** The flows of a YAML body, with what each reaches; ambiguous YAML (duplicate keys, aliases) is refused. */
function flowsOf(body: Buffer, multiDocument: boolean, kestraHosts: KestraHosts) {
  const result = analyseFlowSource(body.toString('utf8'), { multiDocument, kestraHosts });
  if (!result.ok) throw new Refusal(400, `The flow YAML is refused${result.line ? ` (line ${result.line})` : ''}: ${result.message}`);
  return result.documents;
}

/** The plain filters of a JSON `{filters: [QueryFilter]}` bulk body; combining ones are refused. */
function bodyFilters(value: unknown): Array<{ field?: unknown; operation?: unknown; value?: unknown }> {
  const filters = (value as { filters?: unknown } | null)?.filters;
  if (!Array.isArray(filters)) throw new Refusal(400, 'The request body must be {filters: [...]}');
  for (const f of filters) {
    const filter = f as { field?: unknown; children?: unknown; logical?: unknown } | null;
    // A field that is not text may still name the namespace to Kestra (`["namespace"]`): refused, not skipped.
    if (!filter || typeof filter !== 'object' || typeof filter.field !== 'string' || filter.children !== undefined || filter.logical !== undefined) {
      throw new Refusal(400, 'Perch only accepts plain {field, operation, value} filters in bulk calls, each field a string');
    }
  }
  return filters as Array<{ field?: unknown; operation?: unknown; value?: unknown }>;
}

const isNamespaceField = (field: unknown) => typeof field === 'string' && field.toLowerCase() === 'namespace';

/** The namespace conditions of a `{filters}` body, read like those of a query. */
function bodyNamespaceConditions(value: unknown): NamespaceCondition[] {
  return bodyFilters(value)
    .filter((f) => isNamespaceField(f.field))
    .map((f) => {
      const raw = f.value;
      const text = typeof raw === 'string' ? raw : Array.isArray(raw) && raw.every((v) => typeof v === 'string') ? raw.join(',') : null;
      if (typeof f.operation !== 'string' || text === null) throw new Refusal(400, 'A namespace filter in the body needs an operation and a string value (or a list of them)');
      const condition = conditionOf(f.operation, text);
      if (typeof condition === 'string') throw new Refusal(400, condition);
      return condition;
    });
}

/** The body with the caller's namespace filters replaced by Perch's one filter. */
function narrowFiltersBody(value: unknown, filter: ScopeFilter): Buffer {
  const kept: unknown[] = bodyFilters(value).filter((f) => !isNamespaceField(f.field));
  kept.push({ field: 'namespace', operation: filter.operation, value: filter.value });
  return Buffer.from(JSON.stringify({ ...(value as object), filters: kept }));
}

/** A namespace source that names nothing: refused, or the call counts as tenant-wide or anywhere, as the row says. */
function absentSource(targets: Targets, whenAbsent: 'refuse' | 'anywhere' | 'tenant', what: string): void {
  if (whenAbsent === 'refuse') throw new Refusal(400, `${what} is required`);
  if (whenAbsent === 'tenant') targets.tenant = true;
  else targets.anywhere = true;
}

/**
 * Collects what a source read from the call itself names (its path, its query, or nothing): true
 * once done, false for a source that needs the body or a lookup (KestraAuthorizer.collect reads those).
 */
function collectAtOnce(source: NamespaceSource, params: Record<string, string>, call: KestraCall, targets: Targets): boolean {
  switch (source.from) {
    case 'path':
      targets.namespaces.push(params[source.param]!);
      return true;
    case 'query': {
      const ns = queryParam(call.query, source.param);
      if (ns) targets.namespaces.push(ns);
      else absentSource(targets, source.whenAbsent, `Query parameter ${source.param}`);
      return true;
    }
    case 'filters':
    case 'filtersBody':
      targets.filters = true;
      return true;
    case 'anywhere':
      targets.anywhere = true;
      return true;
    case 'none':
      targets.tenant = true;
      return true;
    default:
      return false;
  }
}

/**
 * Decides whether the signed-in caller may make this Kestra call, from the policy map and the
 * in-memory decision index, and how the call must be narrowed. Never consults the database.
 */
export class KestraAuthorizer {
  constructor(
    /** The decision index, bounded by NAMESPACE tenants' roots in the proxy (tenant-roots-bound.ts). */
    private readonly index: NamespaceDecisions,
    private readonly executions: ExecutionNamespaceLookup,
    /** Kestra's own addresses: flows that would call them directly are refused. */
    private readonly kestraHosts: KestraHosts = LOOPBACK_ONLY,
    /** Which namespace owns each secret Perch keeps (in memory): a flow may name only its own namespace's and its parents'. */
    private readonly secretOwners: SecretOwners = NO_SECRETS,
    /** Where each namespace's scripts may run (worker groups, issue 25). */
    private readonly placement: PlacementRules = NO_PLACEMENT_RULES,
    /** Stored dashboards read from Kestra (their charts are bounded as previews); without it, they need tenant-wide rights. */
    private readonly dashboards: StoredDashboards | null = null,
    /** Which inputs Kestra reads as files (file-inputs.ts); without it, no text is taken for a FILE input. */
    private readonly fileInputs: FileInputTypes | null = null,
    /** Stored flows, read when a graph expands subflows (graph-subflows.ts); without it, only tenant-wide FLOW VIEW expands them. */
    private readonly flows: StoredFlows | null = null,
  ) {}

  async authorize(call: KestraCall): Promise<Verdict> {
    try {
      return await this.decide(call);
    } catch (error) {
      if (error instanceof Refusal) return { ok: false, status: error.status, message: error.message, details: error.details };
      if (error instanceof KestraReadError) return { ok: false, status: 502, message: error.message };
      throw error;
    }
  }

  private async decide(call: KestraCall): Promise<Verdict> {
    const match = matchPolicy(call.method, call.path);
    if (!match) {
      const ee = eeOperationOf(call.method, call.path);
      if (ee && !call.principal) throw new Refusal(401, 'Sign in to Perch first');
      if (ee) throw new Refusal(501, `Perch does not implement the Kestra EE operation ${ee.operationId} (${ee.method} ${call.path}) yet`, { operationId: ee.operationId });
      throw new Refusal(403, `Perch does not know the Kestra operation ${call.method} ${call.path}, so it is refused`);
    }
    if (match.tenant !== null && match.tenant !== KESTRA_TENANT) throw new Refusal(404, `Tenant ${match.tenant} not found`);
    const { row } = match;
    if (row.access === 'public') return { ok: true, row, namespaces: row.namespace.from === 'path' ? [match.params[row.namespace.param]!] : [] };
    const principal = call.principal;
    if (!principal) throw new Refusal(401, 'Sign in to Perch first');
    switch (row.access) {
      case 'authenticated':
        return { ok: true, row, namespaces: [] };
      case 'instanceOwner':
        if (!principal.superAdmin) throw new Refusal(403, 'Only an instance owner may do this');
        return { ok: true, row, namespaces: [] };
      case 'denied':
      case 'perch':
        throw new Refusal(403, row.reason);
      case 'permission':
        return this.checkPermission(row, match.params, call, principal);
    }
  }

  private async checkPermission(row: PermissionRow, params: Record<string, string>, call: KestraCall, principal: Principal): Promise<Verdict> {
    const sources = [row.namespace, ...(row.alsoNamespaces ?? [])];
    const needsBody = sources.some((s) => BODY_SOURCES.has(s.from)) || row.actionByFlag?.in === 'jsonBody' || row.form !== undefined || row.bodyRepeatsPath !== undefined;
    const body = needsBody ? await call.readBody() : undefined;
    if (row.namespace.from === 'chartBody') return this.boundChart(row, row.namespace.outOfScope, chartOf(() => readChartPreview(body!)), principal);
    if (row.namespace.from === 'storedChart') return this.checkStoredChart(row, row.namespace.outOfScope, params, body!, principal);
    if (row.storedDashboard === 'read' && (await this.isPublishedDefault(params.id!, principal))) return { ok: true, row, namespaces: [] };
    const parts = body && body.length > 0 ? formParts(row, call, body) : undefined;
    let json: unknown;
    const jsonBody = () => (json ??= parseJson(body!));

    const targets: Targets = { namespaces: [], tenant: false, anywhere: false, filters: false, references: [], flows: [] };
    // Most sources are read at once (path, query, filters): only the others cost a promise each.
    for (const source of sources) if (!collectAtOnce(source, params, call, targets)) await this.collect(source, params, call, body, parts, jsonBody, targets);
    // A file under _flows/ is a flow write: the flow's rights and reference checks, as on a flow save.
    const folderFlows = row.namespaceFileWrite ? await this.folderFlows(row.namespaceFileWrite, params.namespace!, call.query, parts) : [];
    if (folderFlows.length > 0) this.addFlows(targets, folderFlows);

    const actions = this.actionsOf(row, call, jsonBody);
    const { tenantId, userId } = principal;
    const missing: string[] = [];
    const need = (resource: Resource, action: Action, scope?: 'tenant') => {
      if (scope === 'tenant' || targets.tenant) {
        if (!this.index.allows(tenantId, userId, resource, action, null)) missing.push(`${resource} ${action} (tenant-wide)`);
      }
      if (scope === 'tenant') return;
      for (const ns of targets.namespaces) {
        if (!this.index.allows(tenantId, userId, resource, action, ns)) missing.push(`${resource} ${action} in ${ns}`);
      }
      if (targets.anywhere || targets.filters) {
        const reach = this.index.scope(tenantId, userId, resource, action);
        if (!reach.all && reach.namespaces.length === 0) missing.push(`${resource} ${action} (in any namespace)`);
      }
    };
    for (const action of actions) need(row.resource, action);
    for (const extra of row.also ?? []) need(extra.resource, extra.action, extra.scope);
    if (folderFlows.length > 0) for (const action of ['CREATE', 'UPDATE'] as const) need('FLOW', action);
    if (missing.length > 0) {
      const unique = [...new Set(missing)];
      throw new Refusal(403, `Not allowed: this needs ${unique.join(', ')}`, { missing: unique });
    }
    if (row.form && 'inputs' in row.form && parts) {
      const files = this.inputFileRefusals(parts, targets.namespaces[0]!, tenantId, userId);
      if (files.length > 0) throw new Refusal(403, `These inputs name files beyond what you may open: ${files.join('; ')}`, { inputs: files });
      const texts = parts.filter((p) => p.filename === undefined && p.data.length > 0).map((p) => ({ name: p.name, texts: [p.data.toString('utf8')] }));
      const revision = queryParam(call.query, 'revision');
      const paths = await this.hostPathInputs(texts, () => params.executionId !== undefined
        ? this.fileInputs!.ofExecution(params.executionId, revision)
        : this.fileInputs!.ofFlow(params.namespace!, params.id!, revision));
      if (paths.length > 0) {
        throw new Refusal(403, `These FILE inputs are given as text that is not a kestra:/// or nsfile:// URI, which Kestra would read from its own server's disk: ${paths.join(', ')}; upload the file instead`, { inputs: paths });
      }
    }
    if (row.expandsSubflows) await this.checkSubflowExpansion(params, call, body, principal);
    if (row.renderedBody) await this.checkRenderedBody(row.renderedBody, jsonBody, targets.namespaces[0]!, principal);
    const offending: string[] = [];
    if ((row.resource === 'FLOW' && actions.some((a) => FLOW_WRITES.has(a))) || folderFlows.length > 0) {
      offending.push(...this.unheldReferences(targets.references, principal, (ref) => `line ${ref.line}`));
    }
    if (offending.length > 0) {
      throw new Refusal(403, `This flow would reach beyond what you may do: ${offending.join('; ')}`, { lines: offending });
    }
    if ((row.resource === 'FLOW' && actions.some((a) => FLOW_WRITES.has(a))) || folderFlows.length > 0) {
      const misplaced = targets.flows.flatMap((f) => (f.placement ? this.placement.refusals(f.namespace, f.placement).map((why) => `flow ${f.namespace}.${f.id}: ${why}`) : []));
      if (misplaced.length > 0) throw new Refusal(403, `This flow would run code outside its worker group: ${misplaced.join('; ')}`, { tasks: misplaced });
    }

    if (row.namespace.from === 'executionId' && /\/file(?:\/|$)/.test(row.path)) {
      // Execution files are read by storage URI: it must lie under the execution's own namespace.
      this.checkStorageUri(call.query, targets.namespaces[0]!);
    }
    for (const [field, param] of Object.entries(row.bodyRepeatsPath ?? {})) {
      // Kestra acts on the object the body names: it must be the one authorized by the path.
      const named = jsonRead(() => textField(jsonBody(), field));
      if (named !== params[param]) throw new Refusal(422, `The body's ${field} is ${named === undefined ? 'missing' : `"${named}"`}, not the path's "${params[param]}": Kestra acts on the body's, so they must be the same`);
    }
    if (row.namespace.from === 'path' && row.namespace.param === 'namespace' && params.id !== undefined) {
      // Updating flow {namespace}/{id}: the body may not name another flow.
      const other = targets.flows.find((f) => f.namespace !== params.namespace || f.id !== params.id);
      if (other) throw new Refusal(422, `The flow in the body is ${other.namespace}.${other.id}, not ${params.namespace}.${params.id}`);
    }
    // An allowed change to a stored dashboard: what Perch kept of it is stale (stored-dashboards.ts).
    if (row.storedDashboard === 'write') this.dashboards?.invalidate(params.id!);
    const verdict: Verdict = { ok: true, row, namespaces: [...new Set(targets.namespaces)], body };
    const reach = this.index.scope(tenantId, userId, row.resource, row.action);
    if (reach.all) return verdict;
    const visible = (ns: string) => this.index.allows(tenantId, userId, row.resource, row.action, ns);
    if (targets.filters) {
      // A {filters} body (the spec draws one) is bounded too, and so is the query, which Kestra's filter binder reads.
      // The 2.0 UI sends no body at all (ui/src/stores/trigger.ts @ c94e7743): then only the query is bounded.
      const inBody = row.namespace.from === 'filtersBody' && body !== undefined && body.length > 0;
      const narrowed = narrowQuery(call.query, reach.namespaces, inBody ? bodyNamespaceConditions(jsonBody()) : []);
      if (!narrowed.ok) throw new Refusal(400, narrowed.message);
      if (narrowed.scope.kind === 'none') {
        // Nothing in common: no request (least of all a broader one) goes to Kestra.
        if (row.list !== 'byQuery' && row.responseNamespace?.startsWith('results[]')) return { ...verdict, answer: { results: [], total: 0 } };
        throw new Refusal(403, `Your namespace filters select no namespace where you may ${row.resource} ${row.action} (${reach.namespaces.join(', ') || 'none'}), so nothing was sent to Kestra`);
      }
      verdict.query = narrowed.query;
      if (!row.responseNamespace && narrowed.scope.kind === 'cone') {
        // No answer to filter (an export, a write by query): only namespaces named one by one bound it
        // exactly. Kestra's JDBC repositories read PREFIX/STARTS_WITH as SQL LIKE 'value%' (no dot
        // boundary, `_` a wildcard), wider than Perch's reading (docs/compatibility.md).
        throw new Refusal(403, `Perch bounds this call only by namespaces named one by one: add filters[namespace][IN]=… with namespaces under ${reach.namespaces.join(', ')}`);
      }
      if (!narrowed.exact && !row.responseNamespace) {
        throw new Refusal(403, `Perch cannot bound this call exactly to your namespaces (${reach.namespaces.join(', ')}) with these filters: name the namespaces with filters[namespace][EQUALS] or [IN], or filter by one of them`);
      }
      if (row.responseNamespace) verdict.responseFilter = { where: row.responseNamespace, visible: (ns) => visible(ns) && narrowed.accepts(ns), exact: narrowed.exact };
      if (inBody) verdict.body = narrowFiltersBody(jsonBody(), narrowed.filter!);
    } else if (row.responseNamespace) {
      if (row.sse) throw new Refusal(403, 'This live view spans namespaces and needs a tenant-wide binding');
      verdict.responseFilter = { where: row.responseNamespace, visible, exact: row.list !== 'filterResponse' };
    }
    return verdict;
  }

  /**
   * A dashboard the tenant opens by default, for a caller without tenant-wide DASHBOARD VIEW: the home
   * page and the overviews read it before drawing it (Dashboard.vue load() @ c94e7743), and refusing
   * would pop up an error on every page. Read-only; its charts are bounded like any other.
   */
  private async isPublishedDefault(id: string, principal: Principal): Promise<boolean> {
    if (!this.dashboards || this.index.sharesKestra?.(principal.tenantId) || this.index.allows(principal.tenantId, principal.userId, 'DASHBOARD', 'VIEW', null)) return false;
    return (await this.dashboards.defaults()).includes(id);
  }

  /**
   * A stored dashboard's chart: forwarded as asked for a caller holding what any chart may read
   * (tenant-wide DASHBOARD VIEW, EXECUTION LIST and ACCESS_LOGS); for anyone else, Perch reads the
   * dashboard from Kestra and bounds its chart as a preview's, the body being the global filter.
   */
  private async checkStoredChart(row: PermissionRow, outOfScope: 'empty' | 'refuse', params: Record<string, string>, body: Buffer, principal: Principal): Promise<Verdict> {
    const { tenantId, userId } = principal;
    const tenantWide = [{ resource: 'DASHBOARD', action: 'VIEW' } as const, ...CHART_DATA_ALSO].every(({ resource, action }) => this.index.allows(tenantId, userId, resource, action, null));
    if (tenantWide) return { ok: true, row, namespaces: [], body };
    if (this.index.sharesKestra?.(tenantId)) {
      // Stored dashboards belong to the whole shared Kestra: Perch does not even read them for a NAMESPACE tenant.
      throw new Refusal(403, `Tenant ${tenantId} lives in a shared Kestra: its stored dashboards are not the tenant's, so their charts are refused there (charts written in the request are bounded to the tenant's namespaces)`);
    }
    if (!this.dashboards) throw new Refusal(403, 'Not allowed: a stored dashboard\'s chart needs DASHBOARD VIEW, EXECUTION LIST and ACCESS_LOGS (tenant-wide)');
    const source = await this.dashboards.sourceOf(params.id!);
    if (source === null) throw new Refusal(404, `Dashboard ${params.id} not found`);
    const preview = chartOf(() => readStoredChart(source, params.chartId!, body));
    if (preview === null) throw new Refusal(404, `Dashboard ${params.id} has no chart ${params.chartId}`);
    // Drawn by the UI on its own (generate(), outOfScope `empty`): what the stored chart itself asks beyond the
    // caller's rights gives an empty chart, not an error pop-up on their home page; nothing is sent either way.
    return this.boundChart(row, outOfScope, preview, principal, outOfScope === 'empty');
  }

  /**
   * A chart: the permission its data type stands for, and for a caller who holds it in some
   * namespaces only, the global filter rewritten to exactly those the chart may read (chart-scope.ts).
   * Kestra ANDs every global namespace filter into the chart's query and drops the chart's own namespace
   * clauses, so Perch's filter bounds it; Perch sends namespaces named one by one (EQUALS / IN), one
   * PREFIX / STARTS_WITH inside a single root, which Kestra's dashboard filters read as Perch does
   * (JdbcFilterService.prefixCondition: `= v OR LIKE 'v.%'`, jOOQ escaping the pattern), or, for
   * several roots, one anchored REGEX naming each (namespacesRegex; docs/compatibility.md).
   */
  private boundChart(row: PermissionRow, outOfScope: 'empty' | 'refuse', preview: ChartPreview, principal: Principal, quietForChart = false): Verdict {
    const { tenantId, userId } = principal;
    const namespaces: string[] = [];
    /** A refusal caused by the chart's own content: an empty page instead when the chart is not the caller's. */
    const refuseChart = (refusal: Refusal): Verdict => {
      if (quietForChart) return { ok: true, row, namespaces, answer: { results: [], total: 0 } };
      throw refusal;
    };
    if (preview.flowDescription !== null) {
      if (!this.index.allows(tenantId, userId, 'FLOW', 'VIEW', preview.flowDescription)) {
        return refuseChart(new Refusal(403, `Not allowed: this needs FLOW VIEW in ${preview.flowDescription}`, { missing: [`FLOW VIEW in ${preview.flowDescription}`] }));
      }
      namespaces.push(preview.flowDescription);
    }
    if (preview.unknownData !== null) {
      const missing = [{ resource: 'DASHBOARD', action: 'VIEW' } as const, ...CHART_DATA_ALSO]
        .filter(({ resource, action }) => !this.index.allows(tenantId, userId, resource, action, null))
        .map(({ resource, action }) => `${resource} ${action} (tenant-wide)`);
      if (missing.length > 0) {
        return refuseChart(new Refusal(403, `Perch bounds chart data to namespaces only for the data types it knows; ${preview.unknownData} needs ${missing.join(', ')}`, { missing }));
      }
      return { ok: true, row, namespaces, body: preview.body('unchanged') };
    }
    if (preview.data === null) {
      // Kestra 2.0 draws data charts and flow descriptions only (DashboardController.fetchChartData).
      if (preview.flowDescription === null) throw new Refusal(400, 'Only data charts and flow descriptions can be previewed');
      return { ok: true, row, namespaces, body: preview.body('unchanged') };
    }

    const { resource, action } = preview.data;
    const reach = this.index.scope(tenantId, userId, resource, action);
    if (reach.all) return { ok: true, row, namespaces, body: preview.body('unchanged') };
    if (!reach.namespaces.length && outOfScope === 'refuse') {
      throw new Refusal(403, `Not allowed: this needs ${resource} ${action} (in any namespace)`, { missing: [`${resource} ${action} (in any namespace)`] });
    }
    if (preview.orFilter) {
      return refuseChart(new Refusal(403, 'Perch does not forward OR clauses in a chart\'s where or numerator for a person bound to namespaces: Kestra applies them after the namespace filter, beyond it'));
    }
    if (typeof preview.namespaceConditions === 'string') {
      const refusal = new Refusal(400, preview.namespaceConditions);
      if (preview.namespaceConditionsFrom === 'chart') return refuseChart(refusal);
      throw refusal;
    }
    const conditions = preview.namespaceConditions;
    // Exclusions a cone does not express travel with it: Kestra ANDs every global namespace filter.
    const exclusions = () => conditions.filter((c) => !['EQUALS', 'IN', 'PREFIX', 'STARTS_WITH'].includes(c.op)).map((c) => ({ operation: c.op, value: c.op === 'NOT_IN' ? c.values : c.values[0]! }));
    const scope = intersectScope(conditions, reach.namespaces);
    let filters: NamespaceFilter[] | null = null;
    if (scope.kind === 'list') {
      filters = [scopeFilterOf(scope)!];
      namespaces.push(...scope.namespaces);
    } else if (scope.kind === 'cone' && rootHolding(scope.cone, reach.namespaces) !== null) {
      filters = [scopeFilterOf(scope)!, ...(scope.exact ? [] : exclusions())];
      namespaces.push(rootHolding(scope.cone, reach.namespaces)!);
    } else if (scope.kind !== 'none') {
      // Several roots: one regex naming each of their cones (no set of ANDed PREFIX filters says "a or b").
      const cones = conesWithin(conditions, reach.namespaces);
      const regex = namespacesRegex(cones);
      if (regex !== null) {
        filters = [{ operation: 'REGEX', value: regex }, ...exclusions()];
        namespaces.push(...cones.map((c) => c.value));
      }
    }
    if (filters === null) {
      // Nothing in common: nothing goes to Kestra.
      if (outOfScope === 'empty') return { ok: true, row, namespaces, answer: { results: [], total: 0 } };
      throw new Refusal(403, `Perch cannot bound this chart to your namespaces for ${resource} ${action} (${reach.namespaces.join(', ') || 'none'}): filter it by namespaces among them, or by one of them`);
    }
    return { ok: true, row, namespaces, body: preview.body(filters) };
  }

  private actionsOf(row: PermissionRow, call: KestraCall, jsonBody: () => unknown): Action[] {
    const flag = row.actionByFlag;
    if (!flag) return [row.action];
    const raw = flag.in === 'query' ? queryParam(call.query, flag.name) : (jsonBody() as Record<string, unknown> | null)?.[flag.name];
    const value = raw === true || raw === 'true' ? true : raw === false || raw === 'false' ? false : undefined;
    return value === undefined ? [flag.whenTrue, flag.whenFalse] : [value ? flag.whenTrue : flag.whenFalse];
  }

  private async collect(
    source: NamespaceSource,
    params: Record<string, string>,
    call: KestraCall,
    body: Buffer | undefined,
    parts: FormPart[] | undefined,
    jsonBody: () => unknown,
    targets: Targets,
  ): Promise<void> {
    const absent = (whenAbsent: 'refuse' | 'anywhere' | 'tenant', what: string) => absentSource(targets, whenAbsent, what);
    switch (source.from) {
      case 'path':
      case 'query':
      case 'filters':
      case 'filtersBody':
      case 'anywhere':
      case 'none':
        collectAtOnce(source, params, call, targets);
        return;
      case 'executionId':
        targets.namespaces.push(await this.executionNamespace(call, params[source.param]!));
        return;
      case 'executionIdsBody': {
        const value = source.field ? (jsonBody() as Record<string, unknown> | null)?.[source.field] : jsonBody();
        const ids = stringsOf(value, 'a list of execution ids');
        const found = await Promise.all(ids.map((id) => this.namespaceInTenant(call, id).then((ns) => ({ id, ns }))));
        const unknown = found.filter((f) => f.ns === null).map((f) => f.id);
        if (unknown.length > 0) throw new Refusal(404, `Executions not found: ${unknown.join(', ')}`, { notFound: unknown });
        targets.namespaces.push(...found.map((f) => f.ns!));
        return;
      }
      case 'flowRefsBody':
        targets.namespaces.push(...namespacesOfRefs(jsonBody(), 'a list of {namespace, id}'));
        return;
      case 'triggerRefsBody': {
        const value = source.field ? (jsonBody() as Record<string, unknown> | null)?.[source.field] : jsonBody();
        targets.namespaces.push(...namespacesOfRefs(value, 'a list of {namespace, flowId, triggerId}'));
        return;
      }
      case 'triggerBody':
        targets.namespaces.push(...namespacesOfRefs([jsonBody()], 'a trigger {namespace, flowId, triggerId}'));
        return;
      case 'flowYamlBody': {
        const flows = body && body.length > 0 ? flowsOf(body, false, this.kestraHosts) : [];
        if (flows.length > 0) this.addFlows(targets, flows);
        else absent(source.whenAbsent, "The flow's namespace");
        return;
      }
      case 'flowYamlDocumentsBody': {
        let sources: string[] = body && body.length > 0 ? [body.toString('utf8')] : [];
        if (parts) {
          // An import: the named part is a ZIP of flows or a multi-document YAML; every flow counts.
          try {
            const upload = parts.find((p) => p.name === (source.multipartPart ?? 'fileUpload'));
            sources = upload ? await flowSourcesOf(upload.data) : [];
          } catch (error) {
            if (error instanceof ArchiveError) throw new Refusal(400, error.message);
            throw error;
          }
        }
        const flows = sources.flatMap((text) => flowsOf(Buffer.from(text), true, this.kestraHosts));
        if (flows.length > 0) this.addFlows(targets, flows);
        else absent(source.whenAbsent, 'At least one flow');
        return;
      }
      case 'renderBody': {
        // Every field Kestra reads to pick the context, as text (json-body.ts): `["id"]` would name an execution too.
        const [namespace, flow, executionId] = jsonRead(() => ['namespace', 'flow', 'executionId', 'flowId'].map((name) => textField(jsonBody(), name)));
        const before = targets.namespaces.length;
        if (namespace !== undefined) targets.namespaces.push(namespace);
        if (flow !== undefined) targets.namespaces.push(...flowsOf(Buffer.from(flow), false, this.kestraHosts).map((f) => f.namespace));
        if (executionId !== undefined) targets.namespaces.push(await this.executionNamespace(call, executionId));
        if (targets.namespaces.length === before) throw new Refusal(400, 'Name a namespace, a flow or an execution to render in');
        return;
      }
      case 'chartBody':
      case 'storedChart':
        throw new Error('chart bodies are read by boundChart');
    }
  }

  private async folderFlows(write: NonNullable<PermissionRow['namespaceFileWrite']>, namespace: string, query: string, parts: FormPart[] | undefined) {
    try {
      return await flowsOfNamespaceFileWrite(write, namespace, (name) => queryParam(query, name), parts?.find((p) => p.name === 'fileContent'), this.kestraHosts);
    } catch (error) {
      if (error instanceof FlowFolderError) throw new Refusal(error.status, error.message);
      if (error instanceof ArchiveError) throw new Refusal(400, error.message);
      throw error;
    }
  }

  /**
   * Inputs given as text that name files: Kestra takes a `kestra:///…` text given to a FILE input as that very
   * file (not a copy under the new execution), and a flow passes its inputs on to subflows, so every text value
   * is read as a flow's YAML is (pebble-file-functions.ts `fileUrisIn`). An uploaded file part is stored under
   * the execution and needs nothing more.
   */
  private inputFileRefusals(parts: readonly FormPart[], own: string, tenantId: string, userId: string): string[] {
    const refused: string[] = [];
    for (const part of parts) {
      if (part.filename !== undefined || part.data.length === 0) continue;
      for (const { target } of fileUrisIn(part.data.toString('utf8'), own)) {
        if (!this.index.allows(tenantId, userId, target.resource, target.action, target.namespace)) {
          refused.push(`input ${part.name}: ${target.what} (needs ${target.resource} ${target.action} ${target.namespace === null ? 'tenant-wide' : `in ${target.namespace}`})`);
        }
      }
    }
    return refused;
  }

  /**
   * The FILE inputs given as text other than storage or namespace-file URIs (a list of them for an ARRAY of
   * FILE): Kestra 2.0.0 opens such a text as a path on its own disk (file-inputs.ts). Only a call with such a
   * text asks Kestra (`fileIdsOf`) which inputs are FILE ones.
   */
  private async hostPathInputs(inputs: ReadonlyArray<{ name: string; texts: readonly string[] }>, fileIdsOf: () => Promise<ReadonlySet<string> | null>): Promise<string[]> {
    const readAsPath = (text: string) => {
      if (isFileUriText(text)) return false;
      try {
        const list: unknown = JSON.parse(text);
        if (Array.isArray(list)) return !list.every(isFileUriText);
      } catch {
        // Not a list: one path.
      }
      return true;
    };
    const suspects = inputs.filter((input) => input.texts.some(readAsPath));
    if (suspects.length === 0 || !this.fileInputs) return [];
    const fileIds = await fileIdsOf();
    return suspects.filter((input) => fileIds?.has(input.name)).map((input) => input.name);
  }

  /**
   * What the caller's references reach beyond their rights, each prefixed by `where` it is: a flow's (line) or a
   * rendered body's (field). A secret Perch keeps, visible from the flow's namespace, is inherited as in EE.
   */
  private unheldReferences(refs: readonly FlowReference[], principal: Principal, where: (ref: FlowReference) => string): string[] {
    const { tenantId, userId } = principal;
    const unheld: string[] = [];
    for (const ref of refs) {
      const refused = refusedSecret(ref, this.secretOwners, tenantId);
      if (refused !== null) {
        unheld.push(`${where(ref)}: ${refused}`);
        continue;
      }
      if (ref.secret && this.secretOwners.ownerOf(tenantId, ref.secret.key!) !== null) continue;
      if (!this.index.allows(tenantId, userId, ref.resource, ref.action, ref.namespace)) {
        unheld.push(`${where(ref)}: ${ref.what} (needs ${ref.resource} ${ref.action} ${ref.namespace === null ? 'tenant-wide' : `in ${ref.namespace}`})`);
      }
    }
    return unheld;
  }

  /**
   * JSON body texts Kestra renders as Pebble in `namespace` when it acts (a backfill's inputs and labels, rendered
   * by the scheduler for each execution): each is read as a flow's expressions are and needs the same rights, and
   * a FILE input may not be given a host path (as when an execution starts).
   */
  private async checkRenderedBody(rendered: NonNullable<PermissionRow['renderedBody']>, jsonBody: () => unknown, namespace: string, principal: Principal): Promise<void> {
    const body = jsonBody();
    const found = rendered.fields.flatMap((field) => textsWithin(jsonRead(() => objectAt(body, field)), field));
    const unheld: string[] = [];
    for (const { where, text } of found) {
      const read = referencesInText(text, namespace, this.kestraHosts);
      if (!read.ok) throw new Refusal(400, `${where} is refused: ${read.message}`);
      unheld.push(...this.unheldReferences(read.references, principal, () => where));
    }
    if (unheld.length > 0) throw new Refusal(403, `Kestra renders these texts in ${namespace}, and they reach beyond what you may do: ${unheld.join('; ')}`, { texts: unheld });
    const inputs = jsonRead(() => objectAt(body, rendered.inputs));
    if (inputs === undefined) return;
    const given = Object.entries(inputs).map(([name, value]) => ({ name, texts: textsWithin(value, name).map((t) => t.text) }));
    const flowId = jsonRead(() => textField(body, 'flowId'));
    if (flowId === undefined) throw new Refusal(400, 'Name the flow (`flowId`) whose inputs these are');
    const paths = await this.hostPathInputs(given, () => this.fileInputs!.ofFlow(namespace, flowId, undefined));
    if (paths.length > 0) {
      throw new Refusal(403, `These FILE inputs are given as text that is not a kestra:/// or nsfile:// URI, which Kestra would read from its own server's disk: ${paths.join(', ')}`, { inputs: paths });
    }
  }

  /**
   * A flow graph with `?subflows=`: Kestra draws each expanded subflow whole, wherever it lives, so FLOW VIEW is
   * needed in every namespace shown, as EE's ACL repository asks (graph-subflows.ts). The flow is the body's
   * source, or the stored one at `?revision=`.
   */
  private async checkSubflowExpansion(params: Record<string, string>, call: KestraCall, body: Buffer | undefined, principal: Principal): Promise<void> {
    const uids = expandedUids(call.query);
    const { tenantId, userId } = principal;
    if (uids.length === 0 || this.index.allows(tenantId, userId, 'FLOW', 'VIEW', null)) return;
    if (!this.flows) throw new Refusal(403, 'Expanding subflows in a graph needs tenant-wide FLOW VIEW here');
    const flows = this.flows;
    const top = params.id !== undefined
      ? await flows.read(params.namespace!, params.id, queryParam(call.query, 'revision'))
      : parseYaml(body?.toString('utf8') ?? '', { merge: false, uniqueKeys: false });
    // No such flow: Kestra answers its 404 without reading any subflow.
    if (top === null) return;
    const visible = (namespace: string) => this.index.allows(tenantId, userId, 'FLOW', 'VIEW', namespace);
    let shown: ExpandedSubflow[];
    try {
      // A subflow the caller may not view is not read at all: its expansion is refused below anyway.
      shown = await expandedSubflows(top, uids, (namespace, id, revision) => (visible(namespace) ? flows.read(namespace, id, revision) : Promise.resolve(null)));
    } catch (error) {
      if (error instanceof SubflowExpansionError) throw new Refusal(403, `${error.message}; expanding it needs tenant-wide FLOW VIEW`);
      throw error;
    }
    const hidden = shown.filter((s) => !visible(s.namespace));
    if (hidden.length > 0) {
      const why = hidden.map((s) => `${s.uid} shows flow ${s.namespace}.${s.flowId} (needs FLOW VIEW in ${s.namespace})`);
      throw new Refusal(403, `Expanding these subflows would show flows you may not view: ${why.join('; ')}`, { subflows: why });
    }
  }

  private checkStorageUri(query: string, namespace: string): void {
    const uri = queryParam(query, 'path');
    if (uri === undefined) return;
    const prefix = `kestra:///${namespace.replaceAll('.', '/')}/`;
    const rest = uri.startsWith(prefix) ? uri.slice(prefix.length) : null;
    if (rest === null || rest.split('/').some((segment) => segment === '..' || segment === '.' || segment === '') || /[\\%]/.test(rest)) {
      throw new Refusal(403, `The file ${uri} is not in this execution's namespace ${namespace}`);
    }
  }

  private addFlows(targets: Targets, flows: ReturnType<typeof flowsOf>): void {
    for (const flow of flows) {
      targets.namespaces.push(flow.namespace);
      targets.flows.push({ namespace: flow.namespace, id: flow.id, placement: flow.placement });
      targets.references.push(...flow.references);
    }
  }

  private async executionNamespace(call: KestraCall, id: string): Promise<string> {
    const ns = await this.namespaceInTenant(call, id);
    if (ns === null) throw new Refusal(404, `Execution ${id} not found`);
    return ns;
  }

  /**
   * An execution's namespace, or null when Kestra has none by that id. An execution of the shared
   * Kestra outside the caller's NAMESPACE tenant does not exist for them: "not found", as an unknown
   * id, so that a refusal never names another tenant's namespace.
   */
  private async namespaceInTenant(call: KestraCall, id: string): Promise<string | null> {
    const ns = await this.executions.namespaceOf(id);
    return ns !== null && call.principal && this.index.inTenant?.(call.principal.tenantId, ns) === false ? null : ns;
  }
}
