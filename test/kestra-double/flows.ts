/**
 * Flows: create/get/update/delete (YAML bodies), search, distinct namespaces, list by namespace, revisions.
 */
import YAML from 'yaml';
import { formatErrors } from './openapi-contract.js';
import {
  type Ctx,
  badRequest,
  type DoubleRuntime,
  type Route,
  filterMatches,
  notFound,
  paginate,
  parseFilters,
  sendEmpty,
  sendJson,
  unprocessable,
  nowIso,
  parseKestraYaml,
} from './http.js';
import { type FlowRecord, type FlowRevision, flowJson, flowKey, labelsAsMap } from './state.js';

const FLOW_KEYS = new Set([
  'id',
  'namespace',
  'revision',
  'description',
  'inputs',
  'outputs',
  'disabled',
  'labels',
  'variables',
  'tasks',
  'errors',
  'finally',
  'afterExecution',
  'triggers',
  'concurrency',
  'retry',
  'sla',
  'checks',
  'workerSelector',
  'policyRefs',
  'deleted',
]);

interface Violation {
  path: string;
  message: string;
}

/** Parse and check flow YAML the way the double's Kestra does: structure + the spec's `Flow` schema. */
export function parseFlowSource(rt: Pick<DoubleRuntime, 'contract'>, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseKestraYaml(source);
  } catch (err) {
    throw unprocessable(`Invalid entity: Unable to parse YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw unprocessable('Invalid entity: flow source must be a YAML mapping');
  const flow = doc as Record<string, unknown>;
  const violations: Violation[] = [];
  for (const k of Object.keys(flow)) {
    if (!FLOW_KEYS.has(k)) violations.push({ path: k, message: `Unrecognized field "${k}"` });
  }
  if (typeof flow.id !== 'string' || flow.id === '') violations.push({ path: 'id', message: 'must not be null' });
  if (typeof flow.namespace !== 'string' || flow.namespace === '') violations.push({ path: 'namespace', message: 'must not be null' });
  if (!Array.isArray(flow.tasks) || flow.tasks.length === 0) violations.push({ path: 'tasks', message: 'must not be empty' });
  const ids = new Set<string>();
  const walk = (tasks: unknown, where: string): void => {
    if (!Array.isArray(tasks)) return;
    tasks.forEach((t, i) => {
      if (!t || typeof t !== 'object') return;
      const id = (t as { id?: unknown }).id;
      if (typeof id === 'string') {
        if (ids.has(id)) violations.push({ path: `${where}[${i}].id`, message: `Duplicate task id with name [${id}]` });
        ids.add(id);
      }
      walk((t as { tasks?: unknown }).tasks, `${where}[${i}].tasks`);
    });
  };
  // The spec's AbstractTrigger requires `when` (2.0 replaced trigger conditions with it); a trigger written
  // without one is served with the always-true default, as a defaulted Java field would be.
  if (Array.isArray(flow.triggers)) {
    for (const t of flow.triggers) {
      if (t && typeof t === 'object' && !Array.isArray(t) && (t as Record<string, unknown>).when === undefined) {
        (t as Record<string, unknown>).when = 'true';
      }
    }
  }
  walk(flow.tasks, 'tasks');
  walk(flow.errors, 'errors');
  walk(flow.finally, 'finally');
  if (violations.length === 0 && rt.contract) {
    const candidate = { ...flow, labels: labelsAsMap(flow.labels), disabled: flow.disabled === true, deleted: false, draft: false };
    if (candidate.labels === undefined) delete candidate.labels;
    const { valid, errors } = rt.contract.validateSchema('Flow', candidate);
    if (!valid) {
      for (const e of errors) violations.push({ path: e.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'flow', message: e.message ?? 'invalid' });
      if (violations.length === 0) violations.push({ path: 'flow', message: formatErrors(errors) });
    }
  }
  if (violations.length > 0) {
    throw unprocessable(`Invalid entity: ${violations.map((v) => `${v.path}: ${v.message}`).join(', ')}`, violations);
  }
  return flow;
}

export function currentRevision(flow: FlowRecord): FlowRevision {
  return flow.revisions[flow.revisions.length - 1]!;
}

export function findFlow(rt: Pick<DoubleRuntime, 'store'>, namespace: string, id: string): FlowRecord | undefined {
  const f = rt.store.flows.get(flowKey(namespace, id));
  return f && !f.deleted ? f : undefined;
}

export function requireFlow(ctx: Ctx, namespace: string, id: string): FlowRecord {
  const f = findFlow(ctx.rt, namespace, id);
  if (!f) throw notFound(`Flow id '${id}' not found in namespace '${namespace}'`);
  return f;
}

export function bodyText(ctx: Ctx): string {
  return decodeText(ctx.body, bodyCharset(ctx.req.headers['content-type'], ctx.req.headers['accept-charset']));
}

/**
 * The charset Micronaut decodes a `@Body String` with (StringBodyReader): the Content-Type's `charset`, else the
 * first Accept-Charset (an unknown one reads as UTF-8), else UTF-8 (docs/compatibility.md).
 */
function bodyCharset(contentType: string | undefined, acceptCharset: string | string[] | undefined): string {
  const declared = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
  if (declared !== undefined) {
    if (!knownCharset(declared)) throw badRequest(`Unsupported charset ${declared}`);
    return declared;
  }
  const accepted = (Array.isArray(acceptCharset) ? acceptCharset[0] : acceptCharset)?.split(';')[0]!.split(',')[0]!.trim();
  return accepted !== undefined && accepted !== '*' && knownCharset(accepted) ? accepted : 'utf-8';
}

const knownCharset = (label: string): boolean => {
  if (/^(?:iso-8859-1|latin1)$/i.test(label)) return true;
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
};

/** Java's ISO-8859-1 maps every byte to the code point of its value (0x85 is NEL); WHATWG's label means windows-1252. */
function decodeText(body: Buffer, charset: string): string {
  return /^(?:iso-8859-1|latin1)$/i.test(charset) ? body.toString('latin1') : new TextDecoder(charset).decode(body);
}

/** The flows not deleted, by namespace then id. */
export function liveFlows(ctx: Ctx): FlowRecord[] {
  return [...ctx.rt.store.flows.values()]
    .filter((f) => !f.deleted)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.id.localeCompare(b.id));
}

/** Create a flow from YAML (422 if invalid or if it already exists). Also used by the double's seeding helper. */
export function storeNewFlow(rt: Pick<DoubleRuntime, 'contract' | 'store'>, source: string): { flow: FlowRecord; rev: FlowRevision } {
  const doc = parseFlowSource(rt, source);
  const namespace = doc.namespace as string;
  const id = doc.id as string;
  const store = rt.store;
  const key = flowKey(namespace, id);
  const existing = store.flows.get(key);
  if (existing && !existing.deleted) {
    throw unprocessable(`Invalid entity: flow.id: Flow id already exists`, [{ path: 'flow.id', message: 'Flow id already exists' }]);
  }
  const revision = existing ? currentRevision(existing).revision + 1 : 1;
  const rev: FlowRevision = { revision, source, doc, updated: nowIso() };
  const flow: FlowRecord = existing ?? { namespace, id, revisions: [], deleted: false };
  flow.deleted = false;
  flow.revisions.push(rev);
  store.flows.set(key, flow);
  return { flow, rev };
}

/** Kestra's FlowService.importFlow: creates the flow the YAML names, or overwrites it with a new revision. */
export function importFlowSource(rt: Pick<DoubleRuntime, 'contract' | 'store'>, source: string): FlowRecord {
  const doc = parseFlowSource(rt, source);
  const existing = findFlow(rt, doc.namespace as string, doc.id as string);
  if (!existing) return storeNewFlow(rt, source).flow;
  const cur = currentRevision(existing);
  if (cur.source !== source) existing.revisions.push({ revision: cur.revision + 1, source, doc, updated: new Date().toISOString() });
  return existing;
}

function createFlow(ctx: Ctx): void {
  const { flow, rev } = storeNewFlow(ctx.rt, bodyText(ctx));
  sendJson(ctx, 200, flowJson(flow, rev, true));
}

function updateFlow(ctx: Ctx, p: Record<string, string>): void {
  const flow = requireFlow(ctx, p.namespace!, p.id!);
  const source = bodyText(ctx);
  const doc = parseFlowSource(ctx.rt, source);
  if (doc.namespace !== flow.namespace || doc.id !== flow.id) {
    throw unprocessable('Invalid entity: flow.namespace/id: Illegal flow id or namespace update', [
      { path: 'flow', message: `Illegal flow namespace or id update (path ${flow.namespace}/${flow.id}, body ${String(doc.namespace)}/${String(doc.id)})` },
    ]);
  }
  sendJson(ctx, 200, flowJson(flow, storeRevision(flow, source, doc), true));
}

/** A new revision of a flow from its new source (none when the source is unchanged); the current revision. */
export function storeRevision(flow: FlowRecord, source: string, doc: Record<string, unknown>): FlowRevision {
  const cur = currentRevision(flow);
  if (cur.source === source) return cur;
  const rev: FlowRevision = { revision: cur.revision + 1, source, doc, updated: nowIso() };
  flow.revisions.push(rev);
  return rev;
}

function getFlow(ctx: Ctx, p: Record<string, string>): void {
  const flow = requireFlow(ctx, p.namespace!, p.id!);
  const wanted = ctx.query.get('revision');
  const rev = wanted ? flow.revisions.find((r) => r.revision === Number(wanted)) : currentRevision(flow);
  if (!rev) throw notFound(`Flow revision ${wanted} not found`);
  sendJson(ctx, 200, flowJson(flow, rev, ctx.query.get('source') !== 'false'));
}

function deleteFlow(ctx: Ctx, p: Record<string, string>): void {
  const flow = requireFlow(ctx, p.namespace!, p.id!);
  flow.deleted = true;
  sendEmpty(ctx, 204);
}

/** Full-text search in the flows' sources (`q`), within `namespace` (a prefix): paged {model, fragments}. */
function searchBySource(ctx: Ctx): void {
  const q = ctx.query.get('q') ?? '';
  const namespace = ctx.query.get('namespace');
  const found = liveFlows(ctx).filter((f) => (!namespace || f.namespace === namespace || f.namespace.startsWith(`${namespace}.`)) && currentRevision(f).source.includes(q));
  const page = paginate(found, ctx.query);
  sendJson(ctx, 200, {
    results: page.results.map((f) => ({ model: flowJson(f, currentRevision(f), false), fragments: q ? [q] : [] })),
    total: page.total,
  });
}

/** The live flows the search filters of the request select (also what `…/by-query` operations act on). */
export function matchingFlows(ctx: Ctx): FlowRecord[] {
  const filters = parseFilters(ctx.query);
  return liveFlows(ctx).filter((f) => {
    const rev = currentRevision(f);
    return filters.every((flt) => {
      switch (flt.field) {
        case 'namespace':
          return filterMatches(flt, f.namespace);
        case 'flowId':
        case 'id':
          return filterMatches(flt, f.id);
        case 'q':
        case 'query':
          return (
            filterMatches({ ...flt, operation: 'CONTAINS' }, f.id) ||
            filterMatches({ ...flt, operation: 'CONTAINS' }, f.namespace)
          );
        case 'labels': {
          const labels = labelsAsMap(rev.doc.labels) ?? {};
          return flt.key === undefined ? true : filterMatches(flt, labels[flt.key]);
        }
        case 'scope':
          return flt.values.includes('USER') ? f.namespace !== 'system' : true;
        default:
          return true;
      }
    });
  });
}

function searchFlows(ctx: Ctx): void {
  const page = paginate(matchingFlows(ctx), ctx.query);
  sendJson(ctx, 200, { results: page.results.map((f) => flowJson(f, currentRevision(f), false)), total: page.total });
}

function distinctNamespaces(ctx: Ctx): void {
  sendJson(ctx, 200, [...new Set(liveFlows(ctx).map((f) => f.namespace))].sort());
}

function listByNamespace(ctx: Ctx, p: Record<string, string>): void {
  sendJson(
    ctx,
    200,
    liveFlows(ctx)
      .filter((f) => f.namespace === p.namespace)
      .map((f) => flowJson(f, currentRevision(f), false)),
  );
}

function revisions(ctx: Ctx, p: Record<string, string>): void {
  const flow = requireFlow(ctx, p.namespace!, p.id!);
  sendJson(ctx, 200, flow.revisions.map((r) => flowJson(flow, r, true)));
}

export const flowRoutes: Route[] = [
  { method: 'POST', path: '/api/v1/:tenant/flows', handler: createFlow },
  { method: 'GET', path: '/api/v1/:tenant/flows/search', handler: searchFlows },
  { method: 'GET', path: '/api/v1/:tenant/flows/distinct-namespaces', handler: distinctNamespaces },
  { method: 'GET', path: '/api/v1/:tenant/flows/source', handler: searchBySource },
  { method: 'GET', path: '/api/v1/:tenant/flows/:namespace', handler: listByNamespace },
  { method: 'GET', path: '/api/v1/:tenant/flows/:namespace/:id/revisions', handler: revisions },
  { method: 'GET', path: '/api/v1/:tenant/flows/:namespace/:id', handler: getFlow },
  { method: 'PUT', path: '/api/v1/:tenant/flows/:namespace/:id', handler: updateFlow },
  { method: 'DELETE', path: '/api/v1/:tenant/flows/:namespace/:id', handler: deleteFlow },
];
