/**
 * Flow operations beyond create/read/update/delete, as Kestra's FlowController behaves (docs/compatibility.md):
 *  - validate: a YAML body of one or more flows (separated by `---` lines) answers one `ValidateConstraintViolation`
 *    per flow, by index, with `constraints` set only for an invalid one (nothing is stored).
 *  - delete / disable / enable, `…/by-ids` (a JSON list of `{namespace, id}`) or `…/by-query` (the search filters):
 *    flows that do not exist are skipped; `BulkResponse.count` says how many were changed. Disabling or enabling
 *    writes a new revision whose source says `disabled: true|false` (an unchanged flow keeps its revision).
 *  - bulk: see `bulkUpdate`.
 *  - concurrency-limit search: the flows that declare `concurrency`, with how many of their executions are RUNNING
 *    (or the count a PUT set); the PUT finds and writes the limit the body names, not the path's.
 *  - dependencies (`FlowTopologyGraph`): an edge from a flow to each flow a Subflow task of it starts (`FLOW_TASK`)
 *    and from each flow a Flow trigger's `preconditions.flows` (or 2.0's `dependsOn`) names to the triggered flow (`FLOW_TRIGGER`), between
 *    existing flows; a flow's graph holds the edges it starts from and (unless `destinationOnly`) those it ends in,
 *    one hop or (`expandAll`) transitively; a namespace's, those of its flows, one hop. Nodes are `FlowNode`s whose
 *    uid is `<tenant>_<namespace>_<id>`.
 *  - import: the multipart part `fileUpload` is a YAML file (`.yml`/`.yaml`, flows separated by `---` lines, each
 *    named by its index) or a `.zip` (its `.yml`/`.yaml` entries, named by their path); each flow is created or
 *    overwritten as FlowService.importFlow does; the answer lists the names of the flows that could not be imported.
 *    With `failOnError`, any such flow answers 422 naming them (the others stay imported); another file type, 422.
 */
import { unzipSync } from 'fflate';
import YAML from 'yaml';
import { type Ctx, HttpError, type Route, badRequest, jacksonText, jsonBody, paginate, parseKestraYaml, parseMultipart, sendEmpty, sendJson, unprocessable } from './http.js';
import { SUBFLOW_TASK } from './executions.js';
import { bodyText, currentRevision, findFlow, importFlowSource, liveFlows, matchingFlows, parseFlowSource, requireFlow, storeNewFlow, storeRevision } from './flows.js';
import { type FlowRecord, TENANT, flowJson, flowKey, labelsAsList } from './state.js';

function validateFlows(ctx: Ctx): void {
  const results = yamlDocuments(ctx).map((source, index) => {
    const doc = parseKestraYaml(source, { uniqueKeys: false }) as Record<string, unknown> | null;
    const named = {
      index,
      ...(typeof doc?.id === 'string' ? { flow: doc.id } : {}),
      ...(typeof doc?.namespace === 'string' ? { namespace: doc.namespace } : {}),
    };
    try {
      parseFlowSource(ctx.rt, source);
      return named;
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const details = err.violations?.map((v) => `${v.path}: ${v.message}`).join('\n');
      return { ...named, constraints: details || err.message };
    }
  });
  sendJson(ctx, 200, results);
}

/** Flows named by a JSON list of `{namespace, id}` (400 when the body is not one); unknown ones are skipped. */
function flowsFromBody(ctx: Ctx): FlowRecord[] {
  const list = jsonBody(ctx, 'ids');
  const valid = Array.isArray(list) && list.every((x) => typeof x?.namespace === 'string' && typeof x?.id === 'string');
  if (!valid) throw badRequest('Failed to convert argument [ids]: a list of {namespace, id} is required');
  return (list as { namespace: string; id: string }[]).map((x) => findFlow(ctx.rt, x.namespace, x.id)).filter((f): f is FlowRecord => f !== undefined);
}

function setDisabled(flow: FlowRecord, disabled: boolean): void {
  const cur = currentRevision(flow);
  if ((cur.doc.disabled === true) === disabled) return;
  const doc = YAML.parseDocument(cur.source);
  doc.set('disabled', disabled);
  storeRevision(flow, String(doc), { ...cur.doc, disabled });
}

/** The flows of a multi-document YAML body (documents separated by `---` lines). */
function yamlDocuments(ctx: Ctx): string[] {
  return bodyText(ctx).split(/^---[ \t]*$/m).filter((s) => s.trim() !== '');
}

/**
 * `POST /flows/bulk`: creates or updates every flow of the body (all validated first: one invalid flow stores
 * none); with `namespace`, every flow must be in it (or below it with `allowNamespaceChild`), and with `delete`
 * (default true) the namespace's flows the body does not name are deleted. Answers the stored flows.
 */
function bulkUpdate(ctx: Ctx): void {
  const namespace = ctx.query.get('namespace');
  const below = ctx.query.get('allowNamespaceChild') === 'true';
  const inScope = (ns: string) => namespace === null || ns === namespace || (below && ns.startsWith(`${namespace}.`));
  const parsed = yamlDocuments(ctx).map((source) => ({ source, doc: parseFlowSource(ctx.rt, source) }));
  const outside = parsed.find((p) => !inScope(p.doc.namespace as string));
  if (outside) {
    const message = `flow namespace '${String(outside.doc.namespace)}' is not allowed in a bulk update of namespace '${namespace}'`;
    throw unprocessable(`Invalid entity: flow.namespace: ${message}`, [{ path: 'flow.namespace', message }]);
  }
  const stored = parsed.map(({ source, doc }) => {
    const existing = findFlow(ctx.rt, doc.namespace as string, doc.id as string);
    if (!existing) return storeNewFlow(ctx.rt, source);
    return { flow: existing, rev: storeRevision(existing, source, doc) };
  });
  if (namespace !== null && ctx.query.get('delete') !== 'false') {
    const kept = new Set(stored.map((x) => x.flow));
    for (const f of liveFlows(ctx)) if (inScope(f.namespace) && !kept.has(f)) f.deleted = true;
  }
  sendJson(
    ctx,
    200,
    stored.map(({ flow, rev }) => {
      // FlowInterface writes labels as a list of {key, value}.
      const json = flowJson(flow, rev, false);
      if (json.labels) json.labels = labelsAsList(json.labels);
      return json;
    }),
  );
}

type FlowAction = (flow: FlowRecord) => void;
const ACTIONS: Record<'delete' | 'disable' | 'enable', FlowAction> = {
  delete: (f) => {
    f.deleted = true;
  },
  disable: (f) => setDisabled(f, true),
  enable: (f) => setDisabled(f, false),
};

function bulk(action: FlowAction, select: (ctx: Ctx) => FlowRecord[]) {
  return (ctx: Ctx): void => {
    const flows = select(ctx);
    for (const f of flows) action(f);
    sendJson(ctx, 200, { count: flows.length });
  };
}

/** A flow's concurrency counter: the value last set by a PUT, else its RUNNING executions. */
function concurrencyLimitOf(ctx: Ctx, f: FlowRecord): Record<string, unknown> {
  const set = ctx.rt.store.concurrencyRunning.get(flowKey(f.namespace, f.id));
  const running = set ?? [...ctx.rt.store.executions.values()].filter((e) => e.namespace === f.namespace && e.flowId === f.id && e.state.current === 'RUNNING').length;
  return { tenantId: TENANT, namespace: f.namespace, flowId: f.id, running };
}

function searchConcurrencyLimits(ctx: Ctx): void {
  const limited = matchingFlows(ctx).filter((f) => currentRevision(f).doc.concurrency !== undefined);
  const page = paginate(limited, ctx.query);
  sendJson(ctx, 200, { results: page.results.map((f) => concurrencyLimitOf(ctx, f)), total: page.total });
}

/**
 * `PUT /concurrency-limit/{namespace}/{flowId}`: as Kestra 2.0's ConcurrencyLimitController, the limit is found and
 * written by the body's `tenantId`, `namespace` and `flowId`; the path's are not read (docs/compatibility.md).
 */
function updateConcurrencyLimit(ctx: Ctx): void {
  const body = jsonBody(ctx, 'concurrencyLimit');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Failed to convert argument [concurrencyLimit]: an object is required');
  const fields = body as Record<string, unknown>;
  const tenantId = jacksonText(fields.tenantId, 'concurrencyLimit');
  const namespace = jacksonText(fields.namespace, 'concurrencyLimit');
  const flowId = jacksonText(fields.flowId, 'concurrencyLimit');
  const flow = tenantId === TENANT && namespace !== null && flowId !== null ? findFlow(ctx.rt, namespace, flowId) : undefined;
  if (!flow || currentRevision(flow).doc.concurrency === undefined) {
    sendEmpty(ctx, 404);
    return;
  }
  const running = fields.running;
  if (running !== undefined && running !== null && !Number.isInteger(running)) throw badRequest('Failed to convert argument [concurrencyLimit]: `running` is an int');
  ctx.rt.store.concurrencyRunning.set(flowKey(flow.namespace, flow.id), (running as number | null | undefined) ?? 0);
  sendJson(ctx, 200, concurrencyLimitOf(ctx, flow));
}

const FLOW_TRIGGER = 'io.kestra.plugin.core.trigger.Flow';

interface TopologyEdge {
  source: FlowRecord;
  target: FlowRecord;
  relation: 'FLOW_TASK' | 'FLOW_TRIGGER';
}

/** Every object below `node` (tasks nest in `tasks`, `then`, `else`, `errors`, … of flowable tasks). */
function* objectsBelow(node: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(node)) for (const x of node) yield* objectsBelow(x);
  else if (node && typeof node === 'object') {
    yield node as Record<string, unknown>;
    for (const v of Object.values(node)) yield* objectsBelow(v);
  }
}

function topologyEdges(ctx: Ctx): TopologyEdge[] {
  const edges: TopologyEdge[] = [];
  const flows = liveFlows(ctx);
  const find = (ns: unknown, id: unknown) => (typeof ns === 'string' && typeof id === 'string' ? findFlow(ctx.rt, ns, id) : undefined);
  for (const flow of flows) {
    const doc = currentRevision(flow).doc;
    for (const task of objectsBelow(doc.tasks)) {
      const child = task.type === SUBFLOW_TASK ? find(task.namespace, task.flowId) : undefined;
      if (child) edges.push({ source: flow, target: child, relation: 'FLOW_TASK' });
    }
    for (const trigger of Array.isArray(doc.triggers) ? (doc.triggers as Record<string, unknown>[]) : []) {
      if (trigger.type !== FLOW_TRIGGER) continue;
      const upstream = (trigger.preconditions as { flows?: unknown } | undefined)?.flows;
      for (const u of Array.isArray(upstream) ? (upstream as Record<string, unknown>[]) : []) {
        const parent = find(u.namespace, u.flowId);
        if (parent) edges.push({ source: parent, target: flow, relation: 'FLOW_TRIGGER' });
      }
      // Later 2.0 `dependsOn`: an entry matches a flow when its namespace and flowId, each if given, are equal
      // (FlowTopologyService.isTriggerChild / Flow.DependencyCondition @ c94e7743).
      const dependsOn = Array.isArray(trigger.dependsOn) ? (trigger.dependsOn as Record<string, unknown>[]) : [];
      for (const parent of flows) {
        const matches = (d: Record<string, unknown>) =>
          (d.namespace == null || d.namespace === parent.namespace) && (d.flowId == null || d.flowId === parent.id);
        if (parent !== flow && dependsOn.some(matches)) edges.push({ source: parent, target: flow, relation: 'FLOW_TRIGGER' });
      }
    }
  }
  return edges;
}

const uid = (f: FlowRecord) => `${TENANT}_${f.namespace}_${f.id}`;

function topology(ctx: Ctx, start: FlowRecord[], transitive: boolean): void {
  const destinationOnly = ctx.query.get('destinationOnly') === 'true';
  const all = topologyEdges(ctx);
  const reached = new Set(start);
  const kept = new Set<TopologyEdge>();
  for (let frontier = [...start]; frontier.length > 0; ) {
    const next: FlowRecord[] = [];
    for (const e of all) {
      if (kept.has(e)) continue;
      const out = frontier.includes(e.source);
      const into = !destinationOnly && frontier.includes(e.target);
      if (!out && !into) continue;
      kept.add(e);
      for (const f of [e.source, e.target]) if (!reached.has(f)) (reached.add(f), next.push(f));
    }
    frontier = transitive ? next : [];
  }
  sendJson(ctx, 200, {
    nodes: [...reached].map((f) => ({ uid: uid(f), namespace: f.namespace, id: f.id })),
    edges: [...kept].map((e) => ({ source: uid(e.source), target: uid(e.target), relation: e.relation })),
  });
}

function flowDependencies(ctx: Ctx, p: Record<string, string>): void {
  topology(ctx, [requireFlow(ctx, p.namespace!, p.id!)], ctx.query.get('expandAll') === 'true');
}

function namespaceDependencies(ctx: Ctx, p: Record<string, string>): void {
  topology(ctx, liveFlows(ctx).filter((f) => f.namespace === p.namespace), false);
}

/** The `(source, name)` pairs of an uploaded flow file (HasSource.readSourceFile). */
function uploadedSources(part: { filename?: string; data: Buffer }): [string, string][] {
  const name = (part.filename ?? '').toLowerCase();
  const isYaml = (n: string) => n.endsWith('.yaml') || n.endsWith('.yml');
  if (isYaml(name)) return part.data.toString('utf8').split(/^---\s*$/m).map((source, i) => [source, String(i)]);
  if (name.endsWith('.zip')) {
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(part.data);
    } catch {
      throw badRequest('Unable to read the ZIP archive');
    }
    return Object.entries(entries)
      .filter(([entry]) => !entry.endsWith('/') && isYaml(entry))
      .map(([entry, data]) => [Buffer.from(data).toString('utf8'), entry]);
  }
  throw unprocessable(`Illegal argument: Cannot import file of type ${name.includes('.') ? name.slice(name.lastIndexOf('.')) : name}`);
}

function importFlows(ctx: Ctx): void {
  const part = parseMultipart(ctx.req.headers['content-type'], ctx.body).find((p) => p.name === 'fileUpload');
  if (!part) throw badRequest('Required Part [fileUpload] not specified');
  const wrong: string[] = [];
  for (const [source, name] of uploadedSources(part)) {
    try {
      importFlowSource(ctx.rt, source);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      wrong.push(name);
    }
  }
  if (ctx.query.get('failOnError') === 'true' && wrong.length > 0) {
    throw unprocessable(`Illegal argument: Following invalid flows were not imported: ${wrong.join(', ')}`);
  }
  sendJson(ctx, 200, wrong);
}

const F = '/api/v1/:tenant/flows';

export const flowActionRoutes: Route[] = [
  { method: 'POST', path: `${F}/validate`, handler: validateFlows },
  { method: 'POST', path: `${F}/bulk`, handler: bulkUpdate },
  { method: 'POST', path: `${F}/import`, handler: importFlows },
  { method: 'DELETE', path: `${F}/delete/by-ids`, handler: bulk(ACTIONS.delete, flowsFromBody) },
  { method: 'DELETE', path: `${F}/delete/by-query`, handler: bulk(ACTIONS.delete, matchingFlows) },
  ...(['disable', 'enable'] as const).flatMap((a) => [
    { method: 'POST', path: `${F}/${a}/by-ids`, handler: bulk(ACTIONS[a], flowsFromBody) },
    { method: 'POST', path: `${F}/${a}/by-query`, handler: bulk(ACTIONS[a], matchingFlows) },
  ]),
  { method: 'GET', path: `${F}/:namespace/:id/dependencies`, handler: flowDependencies },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/dependencies', handler: namespaceDependencies },
  { method: 'GET', path: '/api/v1/:tenant/concurrency-limit/search', handler: searchConcurrencyLimits },
  { method: 'PUT', path: '/api/v1/:tenant/concurrency-limit/:namespace/:flowId', handler: updateConcurrencyLimit },
];
