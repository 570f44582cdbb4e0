import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KestraReadError, type KestraReader } from './kestra-reader.js';
import { matchPolicy } from '../authz/policy-map.js';
import { queryValue } from '../authz/query-scope.js';

/**
 * Before/after states of the Kestra resources changed through the proxy (issue 6, point 2), one
 * mechanism for all of them:
 *
 * - flows: their YAML source (and revisions);
 * - KV entries: their type and value (KV values are not secrets in Kestra; Kestra OSS secrets live
 *   in its environment and no call through Perch writes one);
 * - trigger states: the `ApiTriggerState` object (enable/disable, unlock, restart, delete);
 * - namespace files: the content of text files up to {@link MAX_TEXT_FILE_BYTES}; for binary or
 *   larger files only their size and SHA-256.
 *
 * The state before is read from Kestra with Perch's account just before the call is forwarded. The
 * state after comes from Kestra's answer when it holds it (a flow's FlowWithSource, a trigger's
 * ApiTriggerState), read whole on its way to the client; otherwise (a KV PUT, a file upload answer
 * nothing) it is read again once Kestra answered, before the client gets the answer. A DELETE has
 * no state after. Reading never fails the call: what could not be read is named in the details
 * (`beforeUnavailable`, `afterUnavailable`). Only Kestra's 404 means "none"; an answer that cannot be
 * read (another status, unreachable, too slow, too large, empty, not the resource) is never taken
 * for "nothing before".
 */

/** Past this, a text file is kept as its size and digest only. */
export const MAX_TEXT_FILE_BYTES = 256 * 1024;
/** JSON answers and reads (flows, KV, triggers) are small; past this one is not kept (audit rows and memory stay small). */
const MAX_JSON_BYTES = 4 * 1024 * 1024;
/** Trigger states of one flow are read page by page, at most this many pages. */
const TRIGGER_PAGES = 20;

/** Where a resource is: its namespace and id, and for some kinds more (a trigger's flow, a file's path). */
interface Where {
  tenant: string;
  namespace: string;
  /** The id the audit entry names: flow id, KV key, trigger id, file path. */
  id: string;
  flowId?: string;
}

interface Snapshot {
  state: string;
  /** What the entry's details need beside the state (a flow's revision). */
  meta?: Record<string, unknown>;
}

/** Perch's own reads from the Kestra the call goes to (kestra-reader.ts). */
type Reader = Pick<KestraReader, 'json' | 'stream'>;

interface ResourceKind {
  kind: string;
  /** The current state, or null when there is none (Kestra answered 404). Throws when it cannot tell. */
  read(reader: Reader, where: Where): Promise<Snapshot | null>;
  /** The state after, from Kestra's JSON answer to the change, when the answer holds it. */
  fromAnswer?(json: unknown, where: Where | null): { snapshot: Snapshot; where: Where } | null;
  /** The entry's details from both snapshots. */
  details?(before: Snapshot | null, after: Snapshot | null): Record<string, unknown>;
}

/**
 * What a call changes: where to read before (null: a create, nothing before) and after (a place to
 * read or take from the answer; `answer`: only from the answer, as a flow create's id is in it; null:
 * a delete), plus details of its own (a moved file's paths).
 */
interface Plan {
  before: Where | null;
  after: Where | 'answer' | null;
  details?: Record<string, unknown>;
}

interface Call {
  tenant: string;
  params: Record<string, string>;
  /** The raw query string. */
  query: string;
  body?: Buffer;
}

// --- Reading from Kestra -----------------------------------------------------------------------

const enc = encodeURIComponent;

/**
 * Kestra's JSON answer for a state: null when there is none (404). Throws KestraReadError when it
 * cannot tell, an empty 200 included: that is no answer, not "nothing there".
 */
async function stateJson(reader: Reader, path: string, what: string): Promise<unknown> {
  const json = await reader.json(path, what, { maxBytes: MAX_JSON_BYTES });
  if (json === undefined) throw new KestraReadError(`Kestra answered 200 with nothing when asked for ${what}`);
  return json;
}

/** An object Kestra answered 200 with that is not the resource asked for. */
const notThe = (what: string, lacking: string) => new KestraReadError(`Kestra's answer for ${what} holds no ${lacking}`);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Object keys sorted at every depth, pretty-printed: the same object always reads the same, so diffs show only changes. */
function stablePretty(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
  };
  return `${JSON.stringify(sort(value), null, 2)}\n`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A file's content when it is text and small enough; otherwise its size and digest only. */
export function fileState(size: number, sha256: string, content: Buffer | null): string {
  if (content && content.length === size && !content.includes(0)) {
    try {
      return utf8.decode(content);
    } catch {
      // Not UTF-8: binary.
    }
  }
  const reason = size > MAX_TEXT_FILE_BYTES ? `over ${MAX_TEXT_FILE_BYTES} bytes` : 'binary';
  return stablePretty({ content: `not kept (${reason})`, sha256, size });
}

// --- The resources ------------------------------------------------------------------------------

interface FlowJson {
  id?: unknown;
  namespace?: unknown;
  revision?: unknown;
  source?: unknown;
}

const flowSnapshot = (flow: FlowJson): Snapshot | null =>
  typeof flow?.source === 'string' ? { state: flow.source, meta: { revision: typeof flow.revision === 'number' ? flow.revision : null } } : null;

const FLOW: ResourceKind = {
  kind: 'flow-source',
  async read(reader, w) {
    const what = `flow ${w.namespace}/${w.id}`;
    const flow = (await stateJson(reader, `/api/v1/${enc(w.tenant)}/flows/${enc(w.namespace)}/${enc(w.id)}?source=true`, what)) as FlowJson | null;
    if (flow === null) return null;
    const snapshot = flowSnapshot(flow);
    if (!snapshot) throw notThe(what, 'source');
    return snapshot;
  },
  fromAnswer(json, where) {
    const flow = json as FlowJson;
    const snapshot = flowSnapshot(flow);
    if (!snapshot) return null;
    const namespace = where?.namespace ?? (typeof flow.namespace === 'string' ? flow.namespace : null);
    const id = where?.id ?? (typeof flow.id === 'string' ? flow.id : null);
    if (namespace === null || id === null) return null;
    return { snapshot, where: { tenant: where?.tenant ?? '', namespace, id } };
  },
  details(before, after) {
    const previous = (before?.meta?.revision as number | null | undefined) ?? null;
    const revision = (after?.meta?.revision as number | null | undefined) ?? previous;
    return { revision, ...(previous !== null ? { previousRevision: previous } : {}) };
  },
};

const KV: ResourceKind = {
  kind: 'kv-value',
  async read(reader, w) {
    const what = `KV entry ${w.namespace}/${w.id}`;
    const kv = await stateJson(reader, `/api/v1/${enc(w.tenant)}/namespaces/${enc(w.namespace)}/kv/${enc(w.id)}`, what);
    if (kv === null) return null;
    if (!isObject(kv) || kv.type === undefined) throw notThe(what, 'type');
    return { state: stablePretty({ type: kv.type, value: kv.value ?? null }) };
  },
};

interface TriggerJson {
  namespace?: unknown;
  flowId?: unknown;
  triggerId?: unknown;
}

const TRIGGER: ResourceKind = {
  kind: 'trigger',
  async read(reader, w) {
    const what = `the triggers of flow ${w.namespace}/${w.flowId}`;
    for (let page = 1; page <= TRIGGER_PAGES; page++) {
      const path = `/api/v1/${enc(w.tenant)}/triggers/${enc(w.namespace)}/${enc(w.flowId!)}?page=${page}&size=100`;
      const list = await stateJson(reader, path, `${what} (page ${page})`);
      if (list === null) return null;
      if (!isObject(list) || !Array.isArray(list.results)) throw notThe(`${what} (page ${page})`, 'results');
      const results = list.results as TriggerJson[];
      const found = results.find((t) => t?.triggerId === w.id);
      if (found) return { state: stablePretty(found) };
      if (results.length < 100) return null;
    }
    throw new KestraReadError(`${what} are more than ${TRIGGER_PAGES * 100}`);
  },
  fromAnswer(json, where) {
    const t = json as TriggerJson;
    if (!where || t?.triggerId !== where.id || t.flowId !== where.flowId || t.namespace !== where.namespace) return null;
    return { snapshot: { state: stablePretty(t) }, where };
  },
};

const FILE: ResourceKind = {
  kind: 'namespace-file',
  async read(reader, w) {
    const hash = createHash('sha256');
    let kept: Buffer[] | null = [];
    let size = 0;
    const found = await reader.stream(`/api/v1/${enc(w.tenant)}/namespaces/${enc(w.namespace)}/files?path=${enc(w.id)}`, `namespace file ${w.id} in ${w.namespace}`, (buf) => {
      hash.update(buf);
      size += buf.length;
      if (kept && size <= MAX_TEXT_FILE_BYTES) kept.push(buf);
      else kept = null;
    });
    if (!found) return null;
    return { state: fileState(size, hash.digest('hex'), kept && Buffer.concat(kept)) };
  },
};

const trigger = (c: Call, w: { namespace?: unknown; flowId?: unknown; triggerId?: unknown }): Where | null =>
  typeof w.namespace === 'string' && typeof w.flowId === 'string' && typeof w.triggerId === 'string'
    ? { tenant: c.tenant, namespace: w.namespace, flowId: w.flowId, id: w.triggerId }
    : null;

function jsonBody(c: Call): Record<string, unknown> {
  try {
    const json = JSON.parse(c.body?.toString('utf8') ?? '') as unknown;
    return json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const inPath = (c: Call): Where => ({ tenant: c.tenant, namespace: c.params.namespace!, id: c.params.id ?? c.params.key ?? c.params.triggerId!, flowId: c.params.flowId });
const file = (c: Call, name: string): Where | null => {
  let path: string | undefined;
  try {
    path = queryValue(c.query, name); // as Kestra reads it, like the authorizer
  } catch {
    return null; // ambiguous: the authorizer refuses such a call anyway
  }
  return path ? { tenant: c.tenant, namespace: c.params.namespace!, id: path } : null;
};
const same = (w: Where | null): Plan | null => (w ? { before: w, after: w } : null);
const gone = (w: Where | null): Plan | null => (w ? { before: w, after: null } : null);

/** The calls whose states are kept, by policy row (`${method} ${path}`). */
const CAPTURED: Record<string, { kind: ResourceKind; plan: (call: Call) => Plan | null }> = {
  'POST /api/v1/{tenant}/flows': { kind: FLOW, plan: () => ({ before: null, after: 'answer' }) },
  'PUT /api/v1/{tenant}/flows/{namespace}/{id}': { kind: FLOW, plan: (c) => same(inPath(c)) },
  'DELETE /api/v1/{tenant}/flows/{namespace}/{id}': { kind: FLOW, plan: (c) => gone(inPath(c)) },
  'PUT /api/v1/{tenant}/namespaces/{namespace}/kv/{key}': { kind: KV, plan: (c) => same(inPath(c)) },
  'DELETE /api/v1/{tenant}/namespaces/{namespace}/kv/{key}': { kind: KV, plan: (c) => gone(inPath(c)) },
  'PUT /api/v1/{tenant}/triggers/set-disabled': {
    kind: TRIGGER,
    plan: (c) => {
      const w = trigger(c, jsonBody(c));
      return w && { before: w, after: w, details: { flowId: w.flowId, triggerId: w.id } };
    },
  },
  'POST /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/restart': { kind: TRIGGER, plan: (c) => same(inPath(c)) },
  'POST /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}/unlock': { kind: TRIGGER, plan: (c) => same(inPath(c)) },
  'DELETE /api/v1/{tenant}/triggers/{namespace}/{flowId}/{triggerId}': { kind: TRIGGER, plan: (c) => gone(inPath(c)) },
  'POST /api/v1/{tenant}/namespaces/{namespace}/files': { kind: FILE, plan: (c) => same(file(c, 'path')) },
  'DELETE /api/v1/{tenant}/namespaces/{namespace}/files': { kind: FILE, plan: (c) => gone(file(c, 'path')) },
  'PUT /api/v1/{tenant}/namespaces/{namespace}/files': {
    kind: FILE,
    plan: (c) => {
      const from = file(c, 'from');
      const to = file(c, 'to');
      return from && to && { before: from, after: to, details: { from: from.id, to: to.id } };
    },
  },
};

// --- Per request --------------------------------------------------------------------------------

interface Capture {
  kind: ResourceKind;
  plan: Plan;
  reader: Reader;
  before: Snapshot | null;
  after: Snapshot | null;
  /** Where the state after was found (a create learns it from the answer). */
  afterWhere: Where | null;
  afterDone: boolean;
  beforeError?: string;
  afterError?: string;
}

const captures = new WeakMap<FastifyRequest, Capture>();

const reason = (error: unknown) => (error instanceof KestraReadError ? error.message : ((error as { code?: string }).code ?? (error as Error).message));

/**
 * Reads the state before when this authorized call changes a flow, a KV entry, a trigger or a
 * namespace file. `body` is the request body when the authorizer read it (a trigger named in it).
 * Never fails the call.
 */
export function captureStatesBefore(request: FastifyRequest, reader: Reader, body?: Buffer): Promise<void> | undefined {
  const row = request.kestraCall?.row;
  const captured = row && CAPTURED[`${row.method} ${row.path}`];
  // Most calls (every read) capture nothing: no promise for them on the proxy's hot path.
  return captured ? readStateBefore(request, captured, reader, body) : undefined;
}

async function readStateBefore(request: FastifyRequest, captured: NonNullable<(typeof CAPTURED)[string]>, reader: Reader, body?: Buffer): Promise<void> {
  const params = matchPolicy(request.method, request.canonical.path)?.params ?? {};
  const plan = captured.plan({ tenant: params.tenant ?? 'main', params, query: request.canonical.query, body });
  if (!plan) return;
  const capture: Capture = { kind: captured.kind, plan, reader, before: null, after: null, afterWhere: null, afterDone: plan.after === null };
  captures.set(request, capture);
  if (!plan.before) return;
  try {
    capture.before = await captured.kind.read(capture.reader, plan.before);
  } catch (error) {
    capture.beforeError = reason(error);
  }
}

/** True when a successful answer to this call would hold the state after, which Perch then reads on its way out. */
export function readsAnswerState(request: FastifyRequest): boolean {
  const capture = captures.get(request);
  return !!capture?.kind.fromAnswer && capture.plan.after !== null;
}

/** True when Kestra's answer to this call holds the state after, and should be read on its way out. */
export function wantsAnswerState(request: FastifyRequest, statusCode: number, contentType: unknown): boolean {
  return readsAnswerState(request) && statusCode >= 200 && statusCode < 300 && /json/i.test(String(contentType ?? ''));
}

/** Reads Kestra's answer whole, keeps the state after it holds, and sends the same bytes. */
export async function sendTeedAnswer(request: FastifyRequest, reply: FastifyReply, stream: NodeJS.ReadableStream): Promise<unknown> {
  const capture = captures.get(request)!;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    chunks.push(buf);
  }
  const body = Buffer.concat(chunks);
  if (size <= MAX_JSON_BYTES) {
    try {
      const where = capture.plan.after === 'answer' ? null : capture.plan.after;
      const found = capture.kind.fromAnswer!(JSON.parse(body.toString('utf8')), where);
      if (found) {
        capture.after = found.snapshot;
        capture.afterWhere = found.where;
        capture.afterDone = true;
      }
    } catch {
      // Not the resource after all: the answer still goes out untouched (and the state is read instead).
    }
  }
  return reply.send(body);
}

/** What a successful change adds to its audit entry. */
export interface ResourceChange {
  namespace: string | null;
  id: string | null;
  states?: { kind: string; before: string | null; after: string | null };
  details: Record<string, unknown>;
}

/**
 * The states of a change Kestra accepted: the one read before, and the one after (from the answer,
 * or read now). Undefined when the call changed nothing Perch keeps states of, or failed.
 */
export async function resourceChangeOf(request: FastifyRequest, succeeded: boolean): Promise<ResourceChange | undefined> {
  const capture = captures.get(request);
  if (!capture || !succeeded) return undefined;
  captures.delete(request);
  const { plan, kind } = capture;
  if (!capture.afterDone && plan.after !== null && plan.after !== 'answer') {
    try {
      capture.after = await kind.read(capture.reader, plan.after);
      capture.afterWhere = plan.after;
    } catch (error) {
      capture.afterError = reason(error);
    }
  }
  const where = capture.afterWhere ?? (plan.after !== 'answer' ? plan.after : null) ?? plan.before;
  const before = capture.before?.state ?? null;
  const after = capture.after?.state ?? null;
  return {
    namespace: where?.namespace ?? null,
    id: where?.id ?? null,
    ...(before !== null || after !== null ? { states: { kind: kind.kind, before, after } } : {}),
    details: {
      ...plan.details,
      ...kind.details?.(capture.before, capture.after),
      ...(capture.beforeError ? { beforeUnavailable: capture.beforeError } : {}),
      ...(capture.afterError ? { afterUnavailable: capture.afterError } : {}),
    },
  };
}
