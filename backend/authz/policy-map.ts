/**
 * The policy map: one declarative row per Kestra OSS 2.0 API operation, saying who may call it and
 * where the namespace it touches comes from. A new Kestra route is one new row; nothing else changes.
 *
 * Sources: the operations of shared/reference/kestra-ee-openapi.yml that do not carry
 * `x-kestra: {edition: ee}` (the OSS surface, 202 operations), plus the few routes OSS serves that the
 * spec lacks (kestra-oss-notes §3.1, rows marked `notInSpec`). Permissions follow the 2.0 resource +
 * action model (kestra-ee-behaviour §2.4). test/authz/policy-map.test.ts fails when a spec operation has
 * no row, when a row is not in the spec (and not marked), or when an action is not valid for its resource.
 *
 * Perch fails closed: a method + path that matches no row is never forwarded.
 *
 * Tenancy: Kestra OSS ignores the `{tenant}` value and serves `main` for anything (oss-notes §2), so
 * `matchPolicy` reports the tenant the request named and the caller must refuse every tenant other than
 * {@link KESTRA_TENANT}. Kestra may still keep a compatibility layer mapping un-tenanted `/api/v1/flows/…`
 * onto `main` (unconfirmed for 2.0). Deliberately, no row describes those un-tenanted variants: they find
 * no row (or, when their shape happens to fit a tenanted row, they name a tenant such as `flows`, which
 * the caller refuses), so Perch never forwards them.
 *
 * How a row is enforced (the contract the enforcement hook implements):
 * - `access`: `public` (no sign-in; Kestra authenticates by other means), `authenticated` (any signed-in
 *   person), `instanceOwner`, `permission` (resource + action, see below), `denied` (never forwarded,
 *   `reason` says why), `perch` (answered or refused by Perch itself, never forwarded, `reason` says how).
 * - `namespace` names where the namespace(s) of the request are found; for a `permission` row every
 *   namespace so found must be covered by one of the caller's bindings for `resource`/`action`
 *   (a binding on `N` covers `N` and `N.*`; a binding without namespace covers everything):
 *   - `none`: the operation is tenant-level: only a binding without namespace satisfies it.
 *   - `anywhere`: the request touches no namespace's data: holding the permission in any namespace
 *     (or tenant-wide) suffices.
 *   - `filters` / `filtersBody`: the scope is a `filters[namespace][OP]=…` query (or a JSON `{filters}`
 *     body). The permission must be held somewhere; `list` says how Perch narrows the scope.
 *   - a source that may be absent carries `whenAbsent`: `refuse` (400 from Perch), `anywhere` or `tenant`
 *     (then it reads as `none`).
 * - `alsoNamespaces`: further places whose namespaces must be covered too, for the same permissions.
 * - `also`: further permissions required on the same namespaces (or tenant-wide with `scope: 'tenant'`).
 * - `actionByFlag`: the action depends on a boolean flag of the request (trigger set-disabled):
 *   `true` → `whenTrue`, `false` → `whenFalse`; absent or unreadable → both are required.
 * - `list`: how a listing or bulk operation is scoped:
 *   - `none`: single-target, nothing more to do.
 *   - `narrowQuery`: a read whose scope Perch rewrites: drop the caller's `namespace` filters and add
 *     the covered namespaces (and still post-filter where `responseNamespace` is given).
 *   - `filterResponse`: Perch drops from the answer each item whose namespace is not covered;
 *     `responseNamespace` says where it is (see {@link PolicyRowCommon.responseNamespace}).
 *   - `byIds`: the body lists several targets; every one's namespace must be covered.
 *   - `byQuery`: a write applied to what a query selects; Perch narrows the filters like `narrowQuery`.
 * - `sse`: the answer is a `text/event-stream` (no buffering, long idle timeout).
 */

import type { Action, Resource } from '../../lib/authz/catalogue.js';
import type { FormShape } from './multipart-form.js';

export type { Action, Resource };

/** Kestra OSS serves exactly one tenant; any other `{tenant}` value must be refused by the caller. */
export const KESTRA_TENANT = 'main';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What Perch does when an optional namespace source is missing from the request. */
export type WhenAbsent = 'refuse' | 'anywhere' | 'tenant';

export type NamespaceSource =
  /** A path parameter: `{namespace}`, or `{id}` for `GET /namespaces/{id}`. */
  | { from: 'path'; param: string }
  /** A query parameter holding one namespace (e.g. `?namespace=`). */
  | { from: 'query'; param: string; whenAbsent: WhenAbsent }
  /** A path parameter holding an execution id: the namespace is looked up via `GET /{t}/executions/{id}`. */
  | { from: 'executionId'; param: string }
  /** JSON array of execution ids (the body itself, or `body[field]`), each looked up. */
  | { from: 'executionIdsBody'; field?: string }
  /** JSON `[{namespace, id}]` (flow references). */
  | { from: 'flowRefsBody' }
  /** JSON `[{namespace, flowId, triggerId}]` (the body itself, or `body[field]`). */
  | { from: 'triggerRefsBody'; field?: string }
  /** JSON `{namespace, flowId, triggerId, …}`. */
  | { from: 'triggerBody' }
  /** A flow YAML body (`application/x-yaml`): its top-level `namespace:`. */
  | { from: 'flowYamlBody'; whenAbsent: WhenAbsent }
  /**
   * Several flows: multi-document YAML, or multipart whose part `multipartPart` is a ZIP of YAML files or
   * a multi-document YAML. Every document's `namespace:` counts; `whenAbsent` applies to an empty body.
   */
  | { from: 'flowYamlDocumentsBody'; whenAbsent: WhenAbsent; multipartPart?: string }
  /**
   * `POST /expressions/render` JSON body: `namespace`, `flow` (YAML, its `namespace:`) and `executionId`
   * (looked up); every one present counts, and at least one must be present. Each, and `flowId`, must be
   * text when present (json-body.ts: Kestra would read `["id"]` as the id).
   */
  | { from: 'renderBody' }
  /**
   * A chart preview body `{chart, globalFilter}` (chart-scope.ts): the chart's data type decides the
   * permission (the row's resource/action stand for Executions data); a caller who holds it in some
   * namespaces only gets the chart bounded to them. `outOfScope`: what a caller whose scope the chart
   * cannot be bounded to gets, an empty page (`empty`, for the UI's automatic charts) or a 403 (`refuse`).
   */
  | { from: 'chartBody'; outOfScope: 'empty' | 'refuse' }
  /**
   * A stored dashboard's chart (`…/dashboards/{id}/charts/{chartId}`): Perch reads the dashboard's source from
   * Kestra (stored-dashboards.ts) and bounds the chart as a `chartBody` one, the request body being the global filter.
   */
  | { from: 'storedChart'; outOfScope: 'empty' | 'refuse' }
  /** Query `filters[namespace][OP]=…` (list/bulk scope; see `list`). */
  | { from: 'filters' }
  /** JSON body `{filters: [QueryFilter]}` (list/bulk scope; see `list`). */
  | { from: 'filtersBody' }
  /** No namespace data is touched: the permission held in any namespace suffices. */
  | { from: 'anywhere' }
  /** Tenant-level: only a binding without namespace satisfies the permission. */
  | { from: 'none' };

export type ListHandling = 'none' | 'narrowQuery' | 'filterResponse' | 'byIds' | 'byQuery';

export interface ExtraPermission {
  resource: Resource;
  action: Action;
  /** Default: the row's namespaces. `tenant`: a binding without namespace is required. */
  scope?: 'tenant';
}

export interface ActionFlag {
  in: 'query' | 'jsonBody';
  name: string;
  whenTrue: Action;
  whenFalse: Action;
}

export interface PolicyRowCommon {
  method: HttpMethod;
  /** Template exactly as in the spec, e.g. `/api/v1/{tenant}/flows/{namespace}/{id}`. */
  path: string;
  namespace: NamespaceSource;
  alsoNamespaces?: readonly NamespaceSource[];
  list: ListHandling;
  /**
   * Where each answer item's namespace lives, for `filterResponse` (applied to each event's data for
   * `sse` rows): dot-separated keys, `[]` = every element of an array, `{}` = every key of an object is a
   * namespace. E.g. `results[].namespace`, `[]` (array of namespace strings), `{}`.
   */
  responseNamespace?: string;
  sse?: true;
  /** A multipart operation's one form (issue 16): the parts it takes, or a flow's inputs; see multipart-form.ts. */
  form?: FormShape;
  /** A namespace-file write Kestra may turn into a flow write under `_flows/` (flow-folder.ts). */
  namespaceFileWrite?: 'upload' | 'move' | 'directory' | 'delete';
  /**
   * A stored dashboard `{id}` is read (`read`: also allowed without DASHBOARD VIEW when the tenant's
   * default-dashboards setting names it) or changed (`write`: Perch forgets what it kept of it).
   */
  storedDashboard?: 'read' | 'write';
  /** Served by Kestra OSS but absent from the spec (kestra-oss-notes §3.1). */
  notInSpec?: true;
  /**
   * JSON body fields Kestra reads in place of the path's parameters (body field → path parameter): each must
   * be given, as text, equal to the path's, else 422 (docs/compatibility.md: ConcurrencyLimitController).
   */
  bodyRepeatsPath?: Readonly<Record<string, string>>;
  /**
   * A flow graph whose `?subflows=` Kestra expands by reading each subflow wherever it lives and drawing it
   * whole (task definitions, triggers): FLOW VIEW is needed in every namespace it would show (graph-subflows.ts).
   * The flow is the body's (a source) or the path's `{namespace}/{id}` at `?revision=`.
   */
  expandsSubflows?: true;
  /**
   * JSON body objects whose texts Kestra renders as Pebble in the row's namespace when it acts (a backfill's
   * inputs and labels, rendered by the scheduler for each execution it starts): every text is read as a flow's
   * expressions are and needs the same rights. `inputs`: the object holding a flow's inputs, whose FILE inputs
   * may not be given host paths (kestra-authorizer.ts `checkRenderedBody`).
   */
  renderedBody?: { fields: readonly string[]; inputs: string };
  note?: string;
}

export interface PermissionRow extends PolicyRowCommon {
  access: 'permission';
  resource: Resource;
  action: Action;
  also?: readonly ExtraPermission[];
  actionByFlag?: ActionFlag;
  reason?: undefined;
}

export interface OpenRow extends PolicyRowCommon {
  access: 'public' | 'authenticated' | 'instanceOwner';
  resource?: undefined;
  action?: undefined;
  also?: undefined;
  actionByFlag?: undefined;
  reason?: undefined;
}

export interface RefusedRow extends PolicyRowCommon {
  access: 'denied' | 'perch';
  /** Why it is never forwarded / what Perch answers instead. */
  reason: string;
  resource?: undefined;
  action?: undefined;
  also?: undefined;
  actionByFlag?: undefined;
}

export type PolicyRow = PermissionRow | OpenRow | RefusedRow;

// ---------------------------------------------------------------------------------------------------
// Shared namespace sources (plain data).

const NONE = { from: 'none' } as const satisfies NamespaceSource;
const ANYWHERE = { from: 'anywhere' } as const satisfies NamespaceSource;
const FILTERS = { from: 'filters' } as const satisfies NamespaceSource;
const NS = { from: 'path', param: 'namespace' } as const satisfies NamespaceSource;
const EXEC = { from: 'executionId', param: 'executionId' } as const satisfies NamespaceSource;
const EXEC_IDS = { from: 'executionIdsBody' } as const satisfies NamespaceSource;
const FLOW_REFS = { from: 'flowRefsBody' } as const satisfies NamespaceSource;
const TRIGGER_REFS = { from: 'triggerRefsBody' } as const satisfies NamespaceSource;
const TRIGGER = { from: 'triggerBody' } as const satisfies NamespaceSource;
const INPUTS = { inputs: true } as const satisfies FormShape;
const FLOW_UPLOAD = { parts: ['fileUpload'], files: true } as const satisfies FormShape;

const WEBHOOK_NOTE =
  'Webhook: anonymous by design, Kestra authenticates the request with the key in the path. Perch forwards it without a session and records the namespace.';
const CHART_PREVIEW_NOTE =
  'A chart written in the request (the UI draws its bundled dashboards and the flows list\'s statistics this way): the permission of its data type (Executions: EXECUTION LIST, Logs: ACCESS_LOGS, Metrics: EXECUTION VIEW, Triggers: TRIGGER LIST, a FlowDescription: FLOW VIEW on its namespace), bounded to the caller\'s namespaces by the global namespace filter (chart-scope.ts). Other data types (Flows, plugins\' own) can aggregate any namespace: tenant-wide DASHBOARD VIEW plus tenant-wide EXECUTION LIST and ACCESS_LOGS.';
const STORED_CHART_NOTE =
  'A stored dashboard\'s chart: Perch reads the dashboard from Kestra and bounds the chart as a chart written in the request (CHART_PREVIEW_NOTE); the body is the global filter.';
const DEFAULT_DASHBOARD_NOTE =
  'DASHBOARD VIEW is tenant-wide (EE), but the home page and the overviews must read the dashboard the tenant opens by default (Dashboard.vue load(), an error pop-up otherwise, @ c94e7743): the dashboards the default-dashboards setting names are readable by any signed-in person, read-only; their charts are bounded to each person\'s namespaces.';
/** What reading a chart of a data type Perch does not bound needs beside tenant-wide DASHBOARD VIEW. */
export const CHART_DATA_ALSO = [
  { resource: 'EXECUTION', action: 'LIST' },
  { resource: 'EXECUTION', action: 'ACCESS_LOGS' },
] as const satisfies readonly ExtraPermission[];
const EVAL_NOTE =
  'Renders arbitrary Pebble with the full engine in the execution context: outputs, files, secret() (OSS secrets are global) and kv(namespace=…) of any namespace. Hence EXECUTION UPDATE + ACCESS_OUTPUTS + ACCESS_FILES on the namespace and tenant-wide SECRET VIEW and KVSTORE VIEW.';
const EVAL_ALSO = [
  { resource: 'EXECUTION', action: 'ACCESS_OUTPUTS' },
  { resource: 'EXECUTION', action: 'ACCESS_FILES' },
  { resource: 'SECRET', action: 'VIEW', scope: 'tenant' },
  { resource: 'KVSTORE', action: 'VIEW', scope: 'tenant' },
] as const satisfies readonly ExtraPermission[];
const FLOW_SYNC_ALSO = [
  { resource: 'FLOW', action: 'CREATE' },
  { resource: 'FLOW', action: 'DELETE' },
] as const satisfies readonly ExtraPermission[];
const MCP_ADMIN_REASON =
  'An OSS MCP server acts with Kestra\'s single identity (full authority): creating, changing or enabling one is instance administration.';
const MCP_DENIED_REASON =
  'Kestra acting as an MCP server runs tools with its own authority (own authentication filter), bypassing Perch RBAC.';
const AI_AGENT_REASON =
  'The 2.0 AI agent runs multi-step plans server-side with Kestra\'s own authority, bypassing Perch RBAC.';
const NOT_IN_SPEC = 'not in spec (kestra-oss-notes §3.1)';
const NOTIFICATIONS_NOTE =
  'NotificationController (the 2.0 bell), un-tenanted. OSS keeps one notification list for its single user: every Perch user shares it, and it holds titles and progress of asynchronous operations only (no namespace, no data), so any signed-in person may read it and mark it read; a refusal here would pop up an error on every page.';
const PLUGIN_ENDPOINT_NOTE =
  'PluginEndpointController: a plugin\'s own endpoint behind its editor widgets (no execution). Reading one needs FLOW VIEW somewhere, sending one data (which the plugin processes with Kestra\'s authority) FLOW VALIDATE somewhere, as the editor\'s other checks do.';
const PLUGIN_ENDPOINT_RUN_NOTE =
  'PluginEndpointController, bound to a task run: the plugin serves (GET) or acts on (POST) that run, so EXECUTION VIEW (UPDATE to act) and ACCESS_OUTPUTS on the execution\'s namespace.';
const PLUGIN_ENDPOINT_RUN_ALSO = [{ resource: 'EXECUTION', action: 'ACCESS_OUTPUTS' }] as const satisfies readonly ExtraPermission[];

// ---------------------------------------------------------------------------------------------------
// The table. Order follows the spec's paths; rows not in the spec come last.

const ROWS: readonly PolicyRow[] = [
  // --- Misc, un-tenanted ---
  { method: 'GET', path: '/api/v1/basicAuthValidationErrors', access: 'perch', namespace: NONE, list: 'none', reason: 'Kestra credential diagnostics: Perch holds Kestra\'s credentials and refuses this (the operator reads Perch\'s own startup checks).' },
  { method: 'GET', path: '/api/v1/configs', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/configs/login', access: 'perch', namespace: NONE, list: 'none', reason: 'Perch answers {"isBasicAuthInitialized":true} itself so the stock UI never shows Kestra\'s setup page.' },
  { method: 'POST', path: '/api/v1/login', access: 'perch', namespace: NONE, list: 'none', reason: 'Sign-in is Perch\'s own; Kestra\'s single credential never reaches browsers.' },
  { method: 'POST', path: '/api/v1/logout', access: 'perch', namespace: NONE, list: 'none', reason: 'Sign-out ends the Perch session.' },
  { method: 'GET', path: '/api/v1/pebble/filters', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/pebble/functions', access: 'authenticated', namespace: NONE, list: 'none' },

  // --- Plugins (catalogue and documentation: any signed-in person) ---
  { method: 'GET', path: '/api/v1/plugins', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/groups/subgroups', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/icons', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/icons/groups', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/icons/{cls}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/icons/{cls}/icon.svg', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/inputs', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/inputs/{type}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'POST', path: '/api/v1/plugins/pluginUiManifest', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/properties/{type}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/schemas/{type}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/triggers', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/{cls}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/{cls}/versions', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/{cls}/versions/{version}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/plugins/{group}/pluginUi/{path}', access: 'authenticated', namespace: NONE, list: 'none', note: '{path} is one segment: a nested asset path finds no row (fail closed).' },

  // --- Kestra's single credential ---
  { method: 'POST', path: '/api/v1/{tenant}/basicAuth', access: 'perch', namespace: NONE, list: 'none', reason: 'Setting Kestra\'s single credential would lock Perch out or hand out Kestra\'s authority: refused.' },

  // --- Community blueprints (public catalogue; EE needs no permission for them) ---
  { method: 'GET', path: '/api/v1/{tenant}/blueprints/community/{kind}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/blueprints/community/{kind}/tags', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/blueprints/community/{kind}/{id}', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/blueprints/community/{kind}/{id}/graph', access: 'authenticated', namespace: NONE, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/blueprints/community/{kind}/{id}/source', access: 'authenticated', namespace: NONE, list: 'none' },

  // --- Concurrency limits (flow settings) ---
  { method: 'GET', path: '/api/v1/{tenant}/concurrency-limit/search', access: 'permission', resource: 'FLOW', action: 'LIST', namespace: ANYWHERE, list: 'filterResponse', responseNamespace: 'results[].namespace', note: 'No filter parameter: post-filtering makes `total` approximate.' },
  { method: 'PUT', path: '/api/v1/{tenant}/concurrency-limit/{namespace}/{flowId}', access: 'permission', resource: 'FLOW', action: 'UPDATE', namespace: NS, bodyRepeatsPath: { tenantId: 'tenant', namespace: 'namespace', flowId: 'flowId' }, list: 'none', note: 'Kestra finds and writes the limit the body names, not the path\'s.' },

  // --- Dashboards (tenant-level resource) ---
  { method: 'GET', path: '/api/v1/{tenant}/dashboards', access: 'permission', resource: 'DASHBOARD', action: 'LIST', namespace: NONE, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards', access: 'permission', resource: 'DASHBOARD', action: 'CREATE', namespace: NONE, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards/charts/export/to-csv', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: { from: 'chartBody', outOfScope: 'refuse' }, list: 'narrowQuery', note: CHART_PREVIEW_NOTE },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards/charts/preview', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: { from: 'chartBody', outOfScope: 'empty' }, list: 'narrowQuery', note: CHART_PREVIEW_NOTE },
  { method: 'GET', path: '/api/v1/{tenant}/dashboards/settings/default-dashboards', access: 'authenticated', namespace: NONE, list: 'none', note: 'Which stored dashboards the home page and the overviews open (three ids, no data): every such page reads it first (DashboardController.getDefaultDashboards, ui/src/components/dashboard/Dashboard.vue @ c94e7743), and DASHBOARD VIEW can only be granted tenant-wide, so any signed-in person may read it.' },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards/validate', access: 'permission', resource: 'DASHBOARD', action: 'VIEW', namespace: NONE, list: 'none', note: 'Validation has no effect and reads no data; DASHBOARD has no VALIDATE action.' },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards/validate/chart', access: 'permission', resource: 'DASHBOARD', action: 'VIEW', namespace: NONE, list: 'none', note: 'Validation has no effect and reads no data; DASHBOARD has no VALIDATE action.' },
  { method: 'GET', path: '/api/v1/{tenant}/dashboards/{id}', access: 'permission', resource: 'DASHBOARD', action: 'VIEW', namespace: NONE, list: 'none', storedDashboard: 'read', note: DEFAULT_DASHBOARD_NOTE },
  { method: 'PUT', path: '/api/v1/{tenant}/dashboards/{id}', access: 'permission', resource: 'DASHBOARD', action: 'UPDATE', namespace: NONE, list: 'none', storedDashboard: 'write' },
  { method: 'DELETE', path: '/api/v1/{tenant}/dashboards/{id}', access: 'permission', resource: 'DASHBOARD', action: 'DELETE', namespace: NONE, list: 'none', storedDashboard: 'write' },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards/{id}/charts/{chartId}', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: { from: 'storedChart', outOfScope: 'empty' }, list: 'narrowQuery', note: STORED_CHART_NOTE },
  { method: 'POST', path: '/api/v1/{tenant}/dashboards/{id}/charts/{chartId}/export/to-csv', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: { from: 'storedChart', outOfScope: 'refuse' }, list: 'narrowQuery', note: STORED_CHART_NOTE },

  // --- Executions: lists and bulk ---
  { method: 'GET', path: '/api/v1/{tenant}/executions', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: { from: 'query', param: 'namespace', whenAbsent: 'refuse' }, list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/executions/by-ids', access: 'permission', resource: 'EXECUTION', action: 'DELETE', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'DELETE', path: '/api/v1/{tenant}/executions/by-query', access: 'permission', resource: 'EXECUTION', action: 'DELETE', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/change-status/by-ids', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/change-status/by-query', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', namespace: FILTERS, list: 'byQuery' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/distinct-field-values', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: FILTERS, list: 'narrowQuery', note: 'Lists distinct namespaces/flowIds/labels: the narrowed filters bound the values.' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/export/by-query/csv', access: 'permission', resource: 'EXECUTION', action: 'EXPORT', namespace: FILTERS, list: 'narrowQuery' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/flows/{namespace}/{flowId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: NS, list: 'none', note: 'FlowForExecution: the flow behind executions (execution pages and the run dialog).' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/force-run/by-ids', access: 'permission', resource: 'EXECUTION', action: 'FORCE_RUN', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/force-run/by-query', access: 'permission', resource: 'EXECUTION', action: 'FORCE_RUN', namespace: FILTERS, list: 'byQuery' },
  { method: 'DELETE', path: '/api/v1/{tenant}/executions/kill/by-ids', access: 'permission', resource: 'EXECUTION', action: 'KILL', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'DELETE', path: '/api/v1/{tenant}/executions/kill/by-query', access: 'permission', resource: 'EXECUTION', action: 'KILL', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/labels/by-ids', access: 'permission', resource: 'EXECUTION', action: 'CHANGE_LABELS', namespace: { from: 'executionIdsBody', field: 'executionsId' }, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/labels/by-query', access: 'permission', resource: 'EXECUTION', action: 'CHANGE_LABELS', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/latest', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: FLOW_REFS, list: 'byIds' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/namespaces', access: 'permission', resource: 'FLOW', action: 'EXECUTE', namespace: ANYWHERE, list: 'filterResponse', responseNamespace: '[]', note: 'Namespaces with executable flows (run dialog): FLOW EXECUTE.' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/namespaces/{namespace}/flows', access: 'permission', resource: 'FLOW', action: 'EXECUTE', namespace: NS, list: 'none', note: 'Minimal flow data "for when you are allowed to execute but not read".' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/pause/by-ids', access: 'permission', resource: 'EXECUTION', action: 'PAUSE', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/pause/by-query', access: 'permission', resource: 'EXECUTION', action: 'PAUSE', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/replay/by-ids', access: 'permission', resource: 'EXECUTION', action: 'REPLAY', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/replay/by-query', access: 'permission', resource: 'EXECUTION', action: 'REPLAY', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/restart/by-ids', access: 'permission', resource: 'EXECUTION', action: 'RESTART', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/restart/by-query', access: 'permission', resource: 'EXECUTION', action: 'RESTART', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/resume/by-ids', access: 'permission', resource: 'EXECUTION', action: 'RESUME', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/resume/by-query', access: 'permission', resource: 'EXECUTION', action: 'RESUME', namespace: FILTERS, list: 'byQuery' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/search', access: 'permission', resource: 'EXECUTION', action: 'LIST', namespace: FILTERS, list: 'narrowQuery', responseNamespace: 'results[].namespace' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/unqueue/by-ids', access: 'permission', resource: 'EXECUTION', action: 'UNQUEUE', namespace: EXEC_IDS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/unqueue/by-query', access: 'permission', resource: 'EXECUTION', action: 'UNQUEUE', namespace: FILTERS, list: 'byQuery' },

  // --- Webhooks (key-authenticated by Kestra) ---
  { method: 'GET', path: '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}', access: 'public', namespace: NS, list: 'none', note: WEBHOOK_NOTE },
  { method: 'POST', path: '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}', access: 'public', namespace: NS, list: 'none', note: WEBHOOK_NOTE },
  { method: 'PUT', path: '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}', access: 'public', namespace: NS, list: 'none', note: WEBHOOK_NOTE },
  { method: 'GET', path: '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{path}', access: 'public', namespace: NS, list: 'none', note: WEBHOOK_NOTE },
  { method: 'POST', path: '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{path}', access: 'public', namespace: NS, list: 'none', note: WEBHOOK_NOTE },
  { method: 'PUT', path: '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{path}', access: 'public', namespace: NS, list: 'none', note: WEBHOOK_NOTE },

  // --- One execution (namespace looked up from the id) ---
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: EXEC, list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/executions/{executionId}', access: 'permission', resource: 'EXECUTION', action: 'DELETE', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/change-status', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/eval', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', also: EVAL_ALSO, namespace: EXEC, list: 'none', note: EVAL_NOTE },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/eval/{taskRunId}', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', also: EVAL_ALSO, namespace: EXEC, list: 'none', note: EVAL_NOTE },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/force-run', access: 'permission', resource: 'EXECUTION', action: 'FORCE_RUN', namespace: EXEC, list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/executions/{executionId}/actions/kill', access: 'permission', resource: 'EXECUTION', action: 'KILL', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/labels', access: 'permission', resource: 'EXECUTION', action: 'CHANGE_LABELS', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/pause', access: 'permission', resource: 'EXECUTION', action: 'PAUSE', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/replay', access: 'permission', resource: 'EXECUTION', action: 'REPLAY', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/replay-with-inputs', access: 'permission', resource: 'EXECUTION', action: 'REPLAY', namespace: EXEC, form: INPUTS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/restart', access: 'permission', resource: 'EXECUTION', action: 'RESTART', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/resume', access: 'permission', resource: 'EXECUTION', action: 'RESUME', namespace: EXEC, form: INPUTS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/resume-from-breakpoint', access: 'permission', resource: 'EXECUTION', action: 'RESUME', namespace: EXEC, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/resume/validate', access: 'permission', resource: 'EXECUTION', action: 'RESUME', namespace: EXEC, form: INPUTS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/state', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', namespace: EXEC, list: 'none', note: 'Changes a task run\'s state.' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{executionId}/actions/unqueue', access: 'permission', resource: 'EXECUTION', action: 'UNQUEUE', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/file', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/file/metas', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/file/preview', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/flow', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/follow', access: 'permission', resource: 'EXECUTION', action: 'FOLLOW', namespace: EXEC, list: 'none', sse: true },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/follow-dependencies', access: 'permission', resource: 'EXECUTION', action: 'FOLLOW', namespace: EXEC, list: 'filterResponse', responseNamespace: 'namespace', sse: true, note: 'Streams status events of dependent executions, possibly in other namespaces: drop events whose data.namespace is not covered.' },
  { method: 'GET', path: '/api/v1/{tenant}/executions/{executionId}/graph', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: EXEC, list: 'none', note: '?subflows= expands subflows wherever they live, as EE does without a FLOW check: an execution graph shows their structure only (ids, types, pause inputs).' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{namespace}/{id}', access: 'permission', resource: 'FLOW', action: 'EXECUTE', namespace: NS, form: INPUTS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/executions/{namespace}/{id}/validate', access: 'permission', resource: 'FLOW', action: 'EXECUTE', namespace: NS, form: INPUTS, list: 'none', note: 'Validates the inputs of a new execution.' },

  // --- Expressions ---
  { method: 'POST', path: '/api/v1/{tenant}/expressions/render', access: 'permission', resource: 'FLOW', action: 'VIEW', also: [{ resource: 'EXECUTION', action: 'ACCESS_OUTPUTS' }], namespace: { from: 'renderBody' }, list: 'none', note: 'Restricted engine (secret() masked), but with an executionId it shows that execution\'s values: FLOW VIEW + EXECUTION ACCESS_OUTPUTS on every namespace named.' },

  // --- Flows ---
  { method: 'POST', path: '/api/v1/{tenant}/flows', access: 'permission', resource: 'FLOW', action: 'CREATE', namespace: { from: 'flowYamlBody', whenAbsent: 'refuse' }, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/bulk', access: 'permission', resource: 'FLOW', action: 'UPDATE', also: FLOW_SYNC_ALSO, namespace: { from: 'query', param: 'namespace', whenAbsent: 'tenant' }, alsoNamespaces: [{ from: 'flowYamlDocumentsBody', whenAbsent: 'anywhere' }], list: 'none', note: 'Creates/updates every flow of the body and, with delete=true, deletes the flows of ?namespace= (and children) absent from it; without ?namespace= the sync spans the tenant.' },
  { method: 'DELETE', path: '/api/v1/{tenant}/flows/delete/by-ids', access: 'permission', resource: 'FLOW', action: 'DELETE', namespace: FLOW_REFS, list: 'byIds' },
  { method: 'DELETE', path: '/api/v1/{tenant}/flows/delete/by-query', access: 'permission', resource: 'FLOW', action: 'DELETE', namespace: FILTERS, list: 'byQuery' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/deprecated', access: 'permission', resource: 'FLOW', action: 'LIST', namespace: { from: 'query', param: 'namespace', whenAbsent: 'anywhere' }, list: 'filterResponse', responseNamespace: '[].namespace' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/disable/by-ids', access: 'permission', resource: 'FLOW', action: 'DISABLE', namespace: FLOW_REFS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/disable/by-query', access: 'permission', resource: 'FLOW', action: 'DISABLE', namespace: FILTERS, list: 'byQuery' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/distinct-namespaces', access: 'permission', resource: 'FLOW', action: 'LIST', namespace: ANYWHERE, list: 'filterResponse', responseNamespace: '[]' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/enable/by-ids', access: 'permission', resource: 'FLOW', action: 'ENABLE', namespace: FLOW_REFS, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/enable/by-query', access: 'permission', resource: 'FLOW', action: 'ENABLE', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/export/by-ids', access: 'permission', resource: 'FLOW', action: 'EXPORT', namespace: FLOW_REFS, list: 'byIds' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/export/by-query', access: 'permission', resource: 'FLOW', action: 'EXPORT', namespace: FILTERS, list: 'narrowQuery', note: 'ZIP answer: cannot be post-filtered, the narrowed filters are the only bound.' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/export/by-query/csv', access: 'permission', resource: 'FLOW', action: 'EXPORT', namespace: FILTERS, list: 'narrowQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/expressions', access: 'permission', resource: 'FLOW', action: 'VALIDATE', namespace: { from: 'flowYamlBody', whenAbsent: 'anywhere' }, list: 'none', note: 'Editor autocompletion for the posted YAML.' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/graph', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: { from: 'flowYamlBody', whenAbsent: 'anywhere' }, expandsSubflows: true, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/import', access: 'permission', resource: 'FLOW', action: 'IMPORT', also: [{ resource: 'FLOW', action: 'UPDATE' }], namespace: { from: 'flowYamlDocumentsBody', whenAbsent: 'refuse', multipartPart: 'fileUpload' }, form: FLOW_UPLOAD, list: 'byIds', note: 'Multipart ZIP or multi-document YAML; importing overwrites existing flows, hence UPDATE too.' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/search', access: 'permission', resource: 'FLOW', action: 'LIST', namespace: FILTERS, list: 'narrowQuery', responseNamespace: 'results[].namespace' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/source', access: 'permission', resource: 'FLOW', action: 'LIST', namespace: { from: 'query', param: 'namespace', whenAbsent: 'anywhere' }, list: 'filterResponse', responseNamespace: 'results[].model.namespace', note: '?namespace= is one prefix, which cannot express several bindings: post-filter (total approximate).' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/validate', access: 'permission', resource: 'FLOW', action: 'VALIDATE', namespace: { from: 'flowYamlDocumentsBody', whenAbsent: 'anywhere' }, form: FLOW_UPLOAD, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/validate/task', access: 'permission', resource: 'FLOW', action: 'VALIDATE', namespace: ANYWHERE, list: 'none', note: 'The body is one task: no namespace.' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/validate/trigger', access: 'permission', resource: 'FLOW', action: 'VALIDATE', namespace: ANYWHERE, list: 'none', note: 'The body is one trigger: no namespace.' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/{namespace}', access: 'permission', resource: 'FLOW', action: 'LIST', namespace: NS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/flows/{namespace}', access: 'permission', resource: 'FLOW', action: 'UPDATE', also: FLOW_SYNC_ALSO, namespace: NS, alsoNamespaces: [{ from: 'flowYamlDocumentsBody', whenAbsent: 'anywhere' }], list: 'none', note: 'Namespace sync: ?delete defaults to true and deletes the namespace\'s flows absent from the body, so CREATE, UPDATE and DELETE are all required.' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/{namespace}/{id}', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'PUT', path: '/api/v1/{tenant}/flows/{namespace}/{id}', access: 'permission', resource: 'FLOW', action: 'UPDATE', namespace: NS, alsoNamespaces: [{ from: 'flowYamlBody', whenAbsent: 'refuse' }], list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/flows/{namespace}/{id}', access: 'permission', resource: 'FLOW', action: 'DELETE', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/{namespace}/{id}/dependencies', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: NS, list: 'none', note: 'The topology names flows of other namespaces (ids only).' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/{namespace}/{id}/graph', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: NS, expandsSubflows: true, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/{namespace}/{id}/revisions', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/flows/{namespace}/{id}/revisions', access: 'permission', resource: 'FLOW', action: 'DELETE', namespace: NS, list: 'none', note: 'Erases flow history: DELETE rather than UPDATE.' },
  { method: 'GET', path: '/api/v1/{tenant}/flows/{namespace}/{id}/tasks/{taskId}', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: NS, list: 'none' },

  // --- KV store (list) ---
  { method: 'GET', path: '/api/v1/{tenant}/kv', access: 'permission', resource: 'KVSTORE', action: 'LIST', namespace: FILTERS, list: 'narrowQuery', responseNamespace: 'results[].namespace' },

  // --- Logs ---
  { method: 'GET', path: '/api/v1/{tenant}/logs/search', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_LOGS', namespace: FILTERS, list: 'narrowQuery', responseNamespace: 'results[].namespace' },
  { method: 'GET', path: '/api/v1/{tenant}/logs/{executionId}', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_LOGS', namespace: EXEC, list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/logs/{executionId}', access: 'permission', resource: 'EXECUTION', action: 'DELETE', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/logs/{executionId}/download', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_LOGS', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/logs/{executionId}/follow', access: 'permission', resource: 'EXECUTION', action: 'FOLLOW', also: [{ resource: 'EXECUTION', action: 'ACCESS_LOGS' }], namespace: EXEC, list: 'none', sse: true },
  { method: 'DELETE', path: '/api/v1/{tenant}/logs/{namespace}/{flowId}', access: 'permission', resource: 'EXECUTION', action: 'DELETE', namespace: NS, list: 'none', note: 'Deletes a trigger\'s logs (?triggerId= required).' },

  // --- MCP server definitions ---
  { method: 'GET', path: '/api/v1/{tenant}/mcp/servers', access: 'permission', resource: 'MCP_SERVER', action: 'LIST', namespace: NONE, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/mcp/servers', access: 'instanceOwner', namespace: NONE, list: 'none', note: MCP_ADMIN_REASON },
  { method: 'GET', path: '/api/v1/{tenant}/mcp/servers/{id}', access: 'permission', resource: 'MCP_SERVER', action: 'VIEW', namespace: NONE, list: 'none' },
  { method: 'PUT', path: '/api/v1/{tenant}/mcp/servers/{id}', access: 'instanceOwner', namespace: NONE, list: 'none', note: MCP_ADMIN_REASON },
  { method: 'DELETE', path: '/api/v1/{tenant}/mcp/servers/{id}', access: 'instanceOwner', namespace: NONE, list: 'none', note: MCP_ADMIN_REASON },
  { method: 'PATCH', path: '/api/v1/{tenant}/mcp/servers/{id}/toggle', access: 'instanceOwner', namespace: NONE, list: 'none', note: MCP_ADMIN_REASON },
  { method: 'GET', path: '/api/v1/{tenant}/mcp/servers/{id}/tools', access: 'permission', resource: 'MCP_SERVER', action: 'VIEW', namespace: NONE, list: 'none' },

  // --- Metrics (read under EXECUTION) ---
  { method: 'GET', path: '/api/v1/{tenant}/metrics/aggregates/{namespace}/{flowId}/{metric}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/metrics/aggregates/{namespace}/{flowId}/{taskId}/{metric}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/metrics/names/{namespace}/{flowId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/metrics/names/{namespace}/{flowId}/{taskId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/metrics/tasks/{namespace}/{flowId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/metrics/{executionId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', namespace: EXEC, list: 'none' },

  // --- Namespaces ---
  { method: 'POST', path: '/api/v1/{tenant}/namespaces/autocomplete', access: 'permission', resource: 'NAMESPACE', action: 'LIST', namespace: ANYWHERE, list: 'filterResponse', responseNamespace: '[]' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/search', access: 'permission', resource: 'NAMESPACE', action: 'LIST', namespace: FILTERS, list: 'filterResponse', responseNamespace: 'results[].id', note: 'Namespace items carry their name in `id`.' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{id}', access: 'permission', resource: 'NAMESPACE', action: 'VIEW', namespace: { from: 'path', param: 'id' }, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/dependencies', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: NS, list: 'none', note: 'The topology names flows of other namespaces (ids only).' },

  // --- Namespace files: MANAGE_FILES covers every namespace-file operation (EE §2.4), reads included ---
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/files', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/namespaces/{namespace}/files', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, form: { parts: ['fileContent'], files: true }, namespaceFileWrite: 'upload', list: 'none' },
  { method: 'PUT', path: '/api/v1/{tenant}/namespaces/{namespace}/files', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, namespaceFileWrite: 'move', list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/namespaces/{namespace}/files', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, namespaceFileWrite: 'delete', list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/files/directory', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/namespaces/{namespace}/files/directory', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, namespaceFileWrite: 'directory', list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/files/export', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/files/revisions', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/files/search', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/files/stats', access: 'permission', resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: NS, list: 'none' },

  // --- Secrets (OSS: global environment secrets) ---
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/inherited-secrets', access: 'permission', resource: 'SECRET', action: 'LIST', namespace: NS, list: 'filterResponse', responseNamespace: '{}', note: 'Answer maps parent namespaces to their secret keys: drop uncovered parents.' },

  // --- KV store (per namespace) ---
  { method: 'DELETE', path: '/api/v1/{tenant}/namespaces/{namespace}/kv', access: 'permission', resource: 'KVSTORE', action: 'DELETE', namespace: NS, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/kv/inheritance', access: 'permission', resource: 'KVSTORE', action: 'LIST', namespace: NS, list: 'filterResponse', responseNamespace: '[].namespace', note: 'Answer includes parent namespaces\' keys: drop uncovered parents.' },
  { method: 'GET', path: '/api/v1/{tenant}/namespaces/{namespace}/kv/{key}', access: 'permission', resource: 'KVSTORE', action: 'VIEW', namespace: NS, list: 'none' },
  { method: 'PUT', path: '/api/v1/{tenant}/namespaces/{namespace}/kv/{key}', access: 'permission', resource: 'KVSTORE', action: 'UPDATE', also: [{ resource: 'KVSTORE', action: 'CREATE' }], namespace: NS, list: 'none', note: 'A PUT creates or overwrites; Perch cannot tell which without asking, so both.' },
  { method: 'DELETE', path: '/api/v1/{tenant}/namespaces/{namespace}/kv/{key}', access: 'permission', resource: 'KVSTORE', action: 'DELETE', namespace: NS, list: 'none' },

  // --- Outputs ---
  { method: 'GET', path: '/api/v1/{tenant}/outputs/{executionId}', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_OUTPUTS', namespace: EXEC, list: 'none' },
  { method: 'GET', path: '/api/v1/{tenant}/outputs/{executionId}/{taskRunId}', access: 'permission', resource: 'EXECUTION', action: 'ACCESS_OUTPUTS', namespace: EXEC, list: 'none' },

  { method: 'GET', path: '/api/v1/{tenant}/secrets', access: 'permission', resource: 'SECRET', action: 'LIST', namespace: NONE, list: 'none', note: 'OSS secrets are global environment secrets usable from every namespace: listing them is tenant-level.' },

  // --- Triggers ---
  { method: 'PUT', path: '/api/v1/{tenant}/triggers/backfill/create', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER, renderedBody: { fields: ['backfill'], inputs: 'backfill.inputs' }, list: 'none', note: 'The scheduler renders the backfill\'s inputs and labels as Pebble in the trigger\'s namespace for each execution.' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/delete', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/delete/by-query', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/delete/by-triggers', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER_REFS, list: 'byIds' },
  { method: 'PUT', path: '/api/v1/{tenant}/triggers/backfill/pause', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/pause/by-query', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/pause/by-triggers', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER_REFS, list: 'byIds' },
  { method: 'PUT', path: '/api/v1/{tenant}/triggers/backfill/unpause', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/unpause/by-query', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/backfill/unpause/by-triggers', access: 'permission', resource: 'TRIGGER', action: 'BACKFILL', namespace: TRIGGER_REFS, list: 'byIds' },
  { method: 'DELETE', path: '/api/v1/{tenant}/triggers/delete/by-query', access: 'permission', resource: 'TRIGGER', action: 'DELETE', namespace: { from: 'filtersBody' }, list: 'byQuery', note: 'The spec draws the filters as a JSON body {filters}; Kestra reads the query (where the 2.0 UI puts them, with no body). Perch bounds both.' },
  { method: 'DELETE', path: '/api/v1/{tenant}/triggers/delete/by-triggers', access: 'permission', resource: 'TRIGGER', action: 'DELETE', namespace: TRIGGER_REFS, list: 'byIds' },
  { method: 'GET', path: '/api/v1/{tenant}/triggers/export/by-query/csv', access: 'permission', resource: 'TRIGGER', action: 'EXPORT', namespace: FILTERS, list: 'narrowQuery' },
  { method: 'GET', path: '/api/v1/{tenant}/triggers/search', access: 'permission', resource: 'TRIGGER', action: 'LIST', namespace: FILTERS, list: 'narrowQuery', responseNamespace: 'results[].state.namespace' },
  { method: 'PUT', path: '/api/v1/{tenant}/triggers/set-disabled', access: 'permission', resource: 'TRIGGER', action: 'DISABLE', actionByFlag: { in: 'jsonBody', name: 'disabled', whenTrue: 'DISABLE', whenFalse: 'ENABLE' }, namespace: TRIGGER, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/set-disabled/by-query', access: 'permission', resource: 'TRIGGER', action: 'DISABLE', actionByFlag: { in: 'query', name: 'disabled', whenTrue: 'DISABLE', whenFalse: 'ENABLE' }, namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/set-disabled/by-triggers', access: 'permission', resource: 'TRIGGER', action: 'DISABLE', actionByFlag: { in: 'jsonBody', name: 'disabled', whenTrue: 'DISABLE', whenFalse: 'ENABLE' }, namespace: { from: 'triggerRefsBody', field: 'triggers' }, list: 'byIds' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/unlock/by-query', access: 'permission', resource: 'TRIGGER', action: 'UNLOCK', namespace: FILTERS, list: 'byQuery' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/unlock/by-triggers', access: 'permission', resource: 'TRIGGER', action: 'UNLOCK', namespace: TRIGGER_REFS, list: 'byIds' },
  { method: 'GET', path: '/api/v1/{tenant}/triggers/{namespace}/{flowId}', access: 'permission', resource: 'TRIGGER', action: 'LIST', namespace: NS, list: 'none' },
  { method: 'DELETE', path: '/api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}', access: 'permission', resource: 'TRIGGER', action: 'DELETE', namespace: NS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/restart', access: 'permission', resource: 'TRIGGER', action: 'RESTART', namespace: NS, list: 'none' },
  { method: 'POST', path: '/api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/unlock', access: 'permission', resource: 'TRIGGER', action: 'UNLOCK', namespace: NS, list: 'none' },

  // --- Usage counters (across every namespace) ---
  { method: 'GET', path: '/api/v1/{tenant}/usages/all', access: 'instanceOwner', namespace: NONE, list: 'none', note: 'Instance-wide usage counters.' },

  // --- Served by Kestra OSS, absent from the spec ---
  { method: 'POST', path: '/api/v1/main/ai/generate/flow', access: 'permission', resource: 'COPILOT', action: 'USE', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: OSS AiController, tenant hard-coded "main"; answers YAML text only.` },
  { method: 'POST', path: '/api/v1/main/ai/generate/dashboard', access: 'permission', resource: 'COPILOT', action: 'USE', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: newer OSS AiController; answers YAML text only.` },
  { method: 'GET', path: '/api/v1/main/ai/providers', access: 'permission', resource: 'COPILOT', action: 'USE', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: OSS AiController.` },
  { method: 'GET', path: '/api/v1/{tenant}/ai/usage', access: 'permission', resource: 'COPILOT', action: 'USE', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: AiUsageController (AI spend/limits).` },
  { method: 'POST', path: '/api/v1/{tenant}/ai/threads', access: 'denied', namespace: NONE, list: 'none', notInSpec: true, reason: AI_AGENT_REASON, note: `${NOT_IN_SPEC}: AiAgentController create thread.` },
  { method: 'GET', path: '/api/v1/{tenant}/ai/threads/{threadId}', access: 'denied', namespace: NONE, list: 'none', notInSpec: true, reason: AI_AGENT_REASON, note: `${NOT_IN_SPEC}: AiAgentController thread history.` },
  { method: 'POST', path: '/api/v1/{tenant}/ai/threads/{threadId}/chat', access: 'denied', namespace: NONE, list: 'none', sse: true, notInSpec: true, reason: AI_AGENT_REASON, note: `${NOT_IN_SPEC}: AiAgentController chat turn (SSE).` },
  { method: 'POST', path: '/api/v1/{tenant}/ai/threads/{threadId}/confirm', access: 'denied', namespace: NONE, list: 'none', sse: true, notInSpec: true, reason: AI_AGENT_REASON, note: `${NOT_IN_SPEC}: AiAgentController confirm a proposed action (SSE).` },
  { method: 'GET', path: '/api/v1/{tenant}/mcp', access: 'denied', namespace: NONE, list: 'none', notInSpec: true, reason: MCP_DENIED_REASON, note: `${NOT_IN_SPEC}: McpToolController (streamable HTTP).` },
  { method: 'POST', path: '/api/v1/{tenant}/mcp', access: 'denied', namespace: NONE, list: 'none', notInSpec: true, reason: MCP_DENIED_REASON, note: `${NOT_IN_SPEC}: McpToolController (streamable HTTP).` },
  { method: 'DELETE', path: '/api/v1/{tenant}/mcp', access: 'denied', namespace: NONE, list: 'none', notInSpec: true, reason: MCP_DENIED_REASON, note: `${NOT_IN_SPEC}: McpToolController (streamable HTTP).` },

  // --- Called by the 2.0 UI, absent from the spec (sources: docs/compatibility.md, "Routes the 2.0 UI calls") ---
  { method: 'GET', path: '/api/v1/notifications/since', access: 'authenticated', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE}` },
  { method: 'GET', path: '/api/v1/notifications/follow', access: 'authenticated', namespace: NONE, list: 'none', sse: true, notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE} The bell's live stream.` },
  { method: 'GET', path: '/api/v1/notifications/history', access: 'authenticated', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE}` },
  { method: 'GET', path: '/api/v1/notifications/unread-count', access: 'authenticated', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE}` },
  { method: 'POST', path: '/api/v1/notifications/{id}/read', access: 'authenticated', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE}` },
  { method: 'POST', path: '/api/v1/notifications/{id}/unread', access: 'authenticated', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE}` },
  { method: 'POST', path: '/api/v1/notifications/read-all', access: 'authenticated', namespace: NONE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${NOTIFICATIONS_NOTE}` },
  { method: 'GET', path: '/api/v1/{tenant}/plugins/{group}/endpoints/{name}', access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: ANYWHERE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${PLUGIN_ENDPOINT_NOTE}` },
  { method: 'POST', path: '/api/v1/{tenant}/plugins/{group}/endpoints/{name}', access: 'permission', resource: 'FLOW', action: 'VALIDATE', namespace: ANYWHERE, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${PLUGIN_ENDPOINT_NOTE}` },
  { method: 'GET', path: '/api/v1/{tenant}/plugins/{group}/endpoints/{name}/{executionId}/{taskRunId}', access: 'permission', resource: 'EXECUTION', action: 'VIEW', also: PLUGIN_ENDPOINT_RUN_ALSO, namespace: EXEC, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${PLUGIN_ENDPOINT_RUN_NOTE}` },
  { method: 'POST', path: '/api/v1/{tenant}/plugins/{group}/endpoints/{name}/{executionId}/{taskRunId}', access: 'permission', resource: 'EXECUTION', action: 'UPDATE', also: PLUGIN_ENDPOINT_RUN_ALSO, namespace: EXEC, list: 'none', notInSpec: true, note: `${NOT_IN_SPEC}: ${PLUGIN_ENDPOINT_RUN_NOTE}` },
];

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as Record<string, unknown>)) deepFreeze(inner);
  }
  return value;
}

/** Every Kestra OSS operation Perch knows, one row each. */
export const POLICY_MAP: readonly PolicyRow[] = deepFreeze(ROWS);

// ---------------------------------------------------------------------------------------------------
// Matching: one segment trie per method, compiled once. Every row whose template fits the path is a
// candidate (static and parameter branches are both followed, so the work is bounded by the trie, not
// by the number of rows). Among candidates the winner is chosen as Micronaut chooses routes: fewest path
// variables, then the longest literal text. A tie means Kestra itself would answer "more than one route
// matched": no row. (Static-first alone is not enough: `POST …/executions/webhook/actions/eval/x` fits
// the public webhook row with 4 variables and the eval row with 3; Kestra runs eval.)

export interface PolicyMatch {
  row: PolicyRow;
  /** Path parameters by name, each percent-decoded once (includes `tenant` for tenanted rows). */
  params: Record<string, string>;
  /** The tenant the request named: `params.tenant`, `main` for rows hard-coded to it, null for un-tenanted rows. */
  tenant: string | null;
}

interface Leaf {
  row: PolicyRow;
  paramNames: readonly string[];
  /** Characters of literal segments: Micronaut's tie-breaker after the variable count. */
  literalLength: number;
  fixedTenant: string | null;
}

interface TrieNode {
  statics: Map<string, TrieNode>;
  param: TrieNode | null;
  leaf: Leaf | null;
}

const newNode = (): TrieNode => ({ statics: new Map(), param: null, leaf: null });

const PARAM_SEGMENT = /^\{([A-Za-z][A-Za-z0-9_]*)\}$/;

function compile(rows: readonly PolicyRow[]): Map<HttpMethod, TrieNode> {
  const tries = new Map<HttpMethod, TrieNode>();
  for (const row of rows) {
    if (!row.path.startsWith('/')) throw new Error(`policy-map: path must start with '/': ${row.path}`);
    let node = tries.get(row.method);
    if (!node) tries.set(row.method, (node = newNode()));
    const segments = row.path.slice(1).split('/');
    const paramNames: string[] = [];
    let literalLength = 0;
    for (const segment of segments) {
      const param = PARAM_SEGMENT.exec(segment);
      if (param) {
        paramNames.push(param[1]!);
        node = node.param ??= newNode();
      } else {
        if (segment === '' || segment.includes('{') || segment.includes('}') || segment.includes('%')) {
          throw new Error(`policy-map: bad segment '${segment}' in ${row.path}`);
        }
        literalLength += segment.length;
        let next = node.statics.get(segment);
        if (!next) node.statics.set(segment, (next = newNode()));
        node = next;
      }
    }
    if (new Set(paramNames).size !== paramNames.length) throw new Error(`policy-map: repeated parameter in ${row.path}`);
    if (node.leaf) {
      throw new Error(`policy-map: ${row.method} ${row.path} has the same shape as ${node.leaf.row.method} ${node.leaf.row.path}`);
    }
    const tenantSegment = segments[2];
    node.leaf = {
      row,
      paramNames,
      literalLength,
      fixedTenant: segments[0] === 'api' && segments[1] === 'v1' && tenantSegment === KESTRA_TENANT ? KESTRA_TENANT : null,
    };
  }
  return tries;
}

const TRIES = compile(POLICY_MAP);

/** Decodes once; null when malformed or when the value could smuggle a path (`/`, `.`, `..`, empty). */
function decodeParam(raw: string): string | null {
  if (raw === '') return null;
  let value: string;
  try {
    value = raw.includes('%') ? decodeURIComponent(raw) : raw;
  } catch {
    return null;
  }
  if (value === '' || value === '.' || value === '..' || value.includes('/')) return null;
  return value;
}

interface Candidate {
  leaf: Leaf;
  values: string[];
}

/**
 * Collects every leaf whose template fits `segments`. Returns false when the path must be refused
 * whatever it matches: a parameter that is malformed or decodes to `/`, `.` or `..`, or an escaped
 * spelling of a static segment (e.g. `%73earch`), which Kestra might route as the literal.
 */
function collect(node: TrieNode, segments: readonly string[], index: number, values: string[], out: Candidate[]): boolean {
  if (index === segments.length) {
    if (node.leaf) out.push({ leaf: node.leaf, values: [...values] });
    return true;
  }
  const raw = segments[index]!;
  const staticNext = node.statics.get(raw);
  if (staticNext) {
    if (!collect(staticNext, segments, index + 1, values, out)) return false;
  } else if (raw.includes('%')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return false;
    }
    if (node.statics.has(decoded)) return false;
  }
  if (node.param) {
    const value = decodeParam(raw);
    if (value === null) return false;
    values.push(value);
    const ok = collect(node.param, segments, index + 1, values, out);
    values.pop();
    if (!ok) return false;
  }
  return true;
}

/** Micronaut's order: fewer path variables first, then more literal text. */
function moreSpecific(a: Leaf, b: Leaf): number {
  return a.paramNames.length - b.paramNames.length || b.literalLength - a.literalLength;
}

/**
 * Finds the row for a request. `method` is the HTTP method (HEAD is read as GET); `path` is the raw
 * canonical path, percent-escapes still encoded (a query string, if any, is ignored). Each parameter is
 * decoded once after matching. Returns null when no row matches, or when a parameter is malformed or
 * decodes to something containing `/` (or to `.`/`..`): Perch then refuses the request.
 * The caller must also refuse any `tenant` other than {@link KESTRA_TENANT}.
 */
export function matchPolicy(method: string, path: string): PolicyMatch | null {
  // By method, then path: no `${method} ${path}` key string made (and hashed) on every call.
  let byPath = MATCHES.get(method);
  const known = byPath?.get(path);
  if (known !== undefined) return known;
  const found = findPolicy(method, path);
  const match = found && Object.freeze({ ...found, params: Object.freeze(found.params) });
  if (path.length <= REMEMBERED_PATH_LENGTH) {
    // A full memo starts over rather than tracking recency: cheap, and bounded whatever callers send.
    if (remembered >= REMEMBERED_MATCHES) {
      MATCHES.clear();
      remembered = 0;
      byPath = undefined;
    }
    if (!byPath) MATCHES.set(method, (byPath = new Map()));
    byPath.set(path, match);
    remembered++;
  }
  return match;
}

/**
 * Matches by method and path, remembered: a UI asks for the same few paths again and again, and the
 * answer depends on nothing else (the rows never change at run time). Frozen, so no caller can
 * change what the next one gets.
 */
const MATCHES = new Map<string, Map<string, PolicyMatch | null>>();
/** Matches remembered, all methods together (each method's map holds at least one). */
let remembered = 0;
const REMEMBERED_MATCHES = 4096;
const REMEMBERED_PATH_LENGTH = 512;

function findPolicy(method: string, path: string): PolicyMatch | null {
  let verb = method.toUpperCase();
  if (verb === 'HEAD') verb = 'GET';
  const trie = TRIES.get(verb as HttpMethod);
  if (!trie) return null;
  const queryAt = path.indexOf('?');
  const bare = queryAt === -1 ? path : path.slice(0, queryAt);
  if (!bare.startsWith('/') || bare.includes('#')) return null;
  const candidates: Candidate[] = [];
  if (!collect(trie, bare.slice(1).split('/'), 0, [], candidates)) return null;
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => moreSpecific(a.leaf, b.leaf));
  const best = candidates[0]!;
  if (candidates.length > 1 && moreSpecific(best.leaf, candidates[1]!.leaf) === 0) return null;
  const params: Record<string, string> = {};
  best.leaf.paramNames.forEach((name, i) => {
    params[name] = best.values[i]!;
  });
  return { row: best.leaf.row, params, tenant: params.tenant ?? best.leaf.fixedTenant };
}
