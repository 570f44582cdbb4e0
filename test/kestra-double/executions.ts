/**
 * Executions, their tiny state machine, logs and webhooks.
 *
 * State machine (one step per `stepMs`, default 50 ms): CREATED → RUNNING → one step per task → SUCCESS.
 * A flow revision with `concurrency: {limit, behavior: QUEUE}` (QUEUE is Kestra's default) sends an execution
 * beyond the limit from CREATED to QUEUED; the oldest queued one runs when a running one ends.
 *  - io.kestra.plugin.core.log.Log           emits log line(s) from `message` (string or list), level from `level`
 *  - io.kestra.plugin.core.flow.Pause        task run and execution go PAUSED until `…/actions/resume`;
 *                                            resume inputs (checked against the task's `onResume` definitions)
 *                                            become `outputs.<taskId>.onResume.<input>` for later expressions
 *  - io.kestra.plugin.core.flow.Subflow      starts `namespace`/`flowId` with `inputs`; with `wait` (default true)
 *                                            waits for the child and fails if it fails (`transmitFailed`, default true)
 *  - io.kestra.plugin.core.execution.Fail    fails the execution
 *  - anything else                           succeeds
 * Expressions: only `{{ a.b.c }}` lookups in {inputs, outputs, execution, flow, labels, trigger} are rendered
 * (no filters/functions); an unresolvable expression renders as an empty string.
 */
import {
  type Ctx,
  type DoubleRuntime,
  type Route,
  conflict,
  filterMatches,
  formFields,
  type MultipartPart,
  newId,
  notFound,
  openSse,
  paginate,
  parseFilters,
  sendBinary,
  sendEmpty,
  sendJson,
  unprocessable,
  nowIso,
} from './http.js';
import { currentRevision, findFlow } from './flows.js';
import {
  type ExecutionRec,
  type FlowRecord,
  type LogRec,
  type TaskRunRec,
  executionJson,
  flowKey,
  isTerminal,
  labelsAsList,
  logJson,
  newState,
  transition,
} from './state.js';

export const LOG_TASK = 'io.kestra.plugin.core.log.Log';
export const PAUSE_TASK = 'io.kestra.plugin.core.flow.Pause';
export const SUBFLOW_TASK = 'io.kestra.plugin.core.flow.Subflow';
export const FAIL_TASK = 'io.kestra.plugin.core.execution.Fail';
export const WEBHOOK_TRIGGER = 'io.kestra.plugin.core.trigger.Webhook';

type InputDef = { id: string; type: string; required?: boolean; defaults?: unknown; values?: unknown[] };

// ---------------------------------------------------------------------------------------------------------------
// Inputs

function coerceInput(def: InputDef, raw: unknown, where: string): unknown {
  const bad = (msg: string): never => {
    throw unprocessable(`Invalid entity: ${where}.${def.id}: ${msg}`, [{ path: `${where}.${def.id}`, message: msg }]);
  };
  const text = typeof raw === 'string' ? raw : undefined;
  switch (def.type) {
    case 'INT': {
      const n = typeof raw === 'number' ? raw : Number(text);
      if (!Number.isInteger(n)) bad(`Invalid input for \`${def.id}\`, it must be an integer`);
      return n;
    }
    case 'FLOAT': {
      const n = typeof raw === 'number' ? raw : Number(text);
      if (Number.isNaN(n)) bad(`Invalid input for \`${def.id}\`, it must be a number`);
      return n;
    }
    case 'BOOL':
    case 'BOOLEAN': {
      if (typeof raw === 'boolean') return raw;
      if (text === 'true' || text === 'false') return text === 'true';
      return bad(`Invalid input for \`${def.id}\`, it must be a boolean`);
    }
    case 'JSON':
    case 'ARRAY':
    case 'MULTISELECT': {
      if (typeof raw !== 'string') return raw;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        if (def.type === 'JSON') bad(`Invalid input for \`${def.id}\`, it must be valid JSON`);
        return raw.split(',').map((s) => s.trim());
      }
    }
    case 'SELECT': {
      if (Array.isArray(def.values) && !def.values.map(String).includes(String(raw))) {
        bad(`Invalid input for \`${def.id}\`, it must match the values \`${JSON.stringify(def.values)}\``);
      }
      return String(raw);
    }
    default:
      return typeof raw === 'string' ? raw : raw;
  }
}

/** Resolve declared inputs from submitted values (form fields / subflow inputs); undeclared values are dropped. */
export function resolveInputs(
  defs: unknown, given: Map<string, unknown>, files: MultipartPart[], fileUri: (id: string, name: string) => string, where = 'inputs', storeFile?: (uri: string, data: Buffer) => void,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!Array.isArray(defs)) return out;
  for (const d of defs as InputDef[]) {
    if (!d || typeof d.id !== 'string') continue;
    if (d.type === 'FILE') {
      const f = files.find((p) => p.name === d.id);
      if (f) {
        out[d.id] = fileUri(d.id, f.filename ?? d.id);
        storeFile?.(String(out[d.id]), f.data);
        continue;
      }
    }
    if (given.has(d.id) && given.get(d.id) !== '') {
      out[d.id] = coerceInput(d, given.get(d.id), where);
    } else if (d.defaults !== undefined) {
      out[d.id] = coerceInput(d, d.defaults, where);
    } else if (d.required !== false) {
      throw unprocessable(`Invalid entity: ${where}.${d.id}: Missing required input:${d.id}`, [{ path: `${where}.${d.id}`, message: `Missing required input:${d.id}` }]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions

function lookup(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function renderContext(exec: ExecutionRec): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const tr of exec.taskRunList) if (tr.outputs) outputs[tr.taskId] = tr.outputs;
  return {
    inputs: exec.inputs,
    outputs,
    execution: { id: exec.id, startDate: exec.createdDate, originalId: exec.originalId },
    flow: { id: exec.flowId, namespace: exec.namespace, revision: exec.flowRevision },
    labels: Object.fromEntries(exec.labels.map((l) => [l.key, l.value])),
    trigger: exec.trigger?.variables ?? {},
  };
}

/** A variable an expression names is not defined (strict rendering, as `…/actions/eval` renders). */
export class MissingVariableError extends Error {
  override name = 'IllegalVariableEvaluationException';
}

/** Renders the `{{ a.b.c }}` lookups of a text; an undefined one renders as '' unless `strict`, which throws. */
export function renderText(text: string, exec: ExecutionRec, strict = false): string {
  return renderIn(text, renderContext(exec), strict);
}

/** {@link renderText} against any variables (a flow's, or none). */
export function renderIn(text: string, ctx: Record<string, unknown>, strict = false): string {
  return text.replace(/\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g, (_m, p: string) => {
    const v = lookup(ctx, p);
    if (v === undefined && strict) throw new MissingVariableError(`Unable to render expression: '${p}' is not defined`);
    if (v === undefined || v === null) return '';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

export function render(template: unknown, exec: ExecutionRec): unknown {
  if (typeof template === 'string') return renderText(template, exec);
  if (Array.isArray(template)) return template.map((t) => render(t, exec));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template as Record<string, unknown>).map(([k, v]) => [k, render(v, exec)]));
  }
  return template;
}

// ---------------------------------------------------------------------------------------------------------------
// Engine

export interface StartOptions {
  inputs: Record<string, unknown>;
  labels?: { key: string; value: string }[];
  trigger?: ExecutionRec['trigger'];
  revision?: number;
  correlationId?: string;
  /** Pre-assigned id (so FILE input URIs can name the execution). */
  id?: string;
  /** The execution this one replays (default: itself). */
  originalId?: string;
}

export function startExecution(rt: DoubleRuntime, flow: FlowRecord, opts: StartOptions): ExecutionRec {
  const rev = opts.revision !== undefined ? flow.revisions.find((r) => r.revision === opts.revision) : currentRevision(flow);
  if (!rev) throw notFound(`Flow revision ${opts.revision} not found`);
  const id = opts.id ?? newId();
  const flowLabels = labelsAsList(rev.doc.labels);
  const labels = [...flowLabels.filter((l) => !opts.labels?.some((o) => o.key === l.key)), ...(opts.labels ?? [])];
  labels.push({ key: 'system.correlationId', value: opts.correlationId ?? id });
  const exec: ExecutionRec = {
    id,
    namespace: flow.namespace,
    flowId: flow.id,
    flowRevision: rev.revision,
    inputs: opts.inputs,
    labels,
    state: newState('CREATED'),
    taskRunList: [],
    originalId: opts.originalId ?? id,
    ...(opts.trigger ? { trigger: opts.trigger } : {}),
    createdDate: nowIso(),
    tasks: Array.isArray(rev.doc.tasks) ? (rev.doc.tasks as Record<string, unknown>[]) : [],
    cursor: 0,
  };
  rt.store.executions.set(id, exec);
  rt.store.executionChanged(exec);
  schedule(rt, exec);
  return exec;
}

export function schedule(rt: DoubleRuntime, exec: ExecutionRec): void {
  if (exec.timer) clearTimeout(exec.timer);
  exec.timer = setTimeout(() => {
    exec.timer = undefined;
    if (!rt.store.executions.has(exec.id)) return;
    step(rt, exec);
  }, rt.stepMs);
  exec.timer.unref?.();
}

function log(rt: DoubleRuntime, exec: ExecutionRec, tr: TaskRunRec | null, level: LogRec['level'], message: string): void {
  rt.store.addLog({
    namespace: exec.namespace,
    flowId: exec.flowId,
    taskId: tr?.taskId ?? null,
    executionId: exec.id,
    taskRunId: tr?.id ?? null,
    attemptNumber: 0,
    timestamp: nowIso(),
    level,
    thread: 'perch-kestra-double',
    message,
  });
}

/**
 * A flow's concurrency limit when it queues what exceeds it (Kestra's `concurrency`, `behavior` QUEUE by default);
 * undefined when the revision has none or cancels/fails instead.
 */
function queueingLimit(rt: DoubleRuntime, exec: ExecutionRec): number | undefined {
  const rev = rt.store.flows.get(flowKey(exec.namespace, exec.flowId))?.revisions.find((r) => r.revision === exec.flowRevision);
  const c = rev?.doc.concurrency as { limit?: unknown; behavior?: unknown } | undefined;
  return typeof c?.limit === 'number' && (c.behavior ?? 'QUEUE') === 'QUEUE' ? c.limit : undefined;
}

/** Executions of the flow that hold a concurrency slot: started and not terminated. */
function slotsTaken(rt: DoubleRuntime, exec: ExecutionRec): number {
  return [...rt.store.executions.values()].filter(
    (e) => e !== exec && e.namespace === exec.namespace && e.flowId === exec.flowId && !isTerminal(e.state) && e.state.current !== 'CREATED' && e.state.current !== 'QUEUED',
  ).length;
}

/** Leaves QUEUED for `state`; a RUNNING execution then runs its tasks. */
export function unqueueExecution(rt: DoubleRuntime, exec: ExecutionRec, state: 'RUNNING' | 'CANCELLED' | 'FAILED'): void {
  transition(exec.state, state);
  rt.store.executionChanged(exec);
  if (state === 'RUNNING') schedule(rt, exec);
}

/** The oldest queued execution of the flow takes the slot an ending one frees. */
function dequeueNext(rt: DoubleRuntime, ended: ExecutionRec): void {
  const limit = queueingLimit(rt, ended);
  if (limit === undefined || slotsTaken(rt, ended) >= limit) return;
  const next = [...rt.store.executions.values()].find((e) => e.namespace === ended.namespace && e.flowId === ended.flowId && e.state.current === 'QUEUED');
  if (next) unqueueExecution(rt, next, 'RUNNING');
}

/** The flow's `outputs` (id, type, value), rendered against the execution (Kestra 2.0 flow outputs). */
function flowOutputs(rt: DoubleRuntime, exec: ExecutionRec): Record<string, unknown> | undefined {
  const rev = rt.store.flows.get(flowKey(exec.namespace, exec.flowId))?.revisions.find((r) => r.revision === exec.flowRevision);
  const defs = rev?.doc.outputs;
  if (!Array.isArray(defs) || defs.length === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const d of defs as { id?: unknown; value?: unknown }[]) if (typeof d?.id === 'string') out[d.id] = render(d.value, exec);
  return out;
}

function finish(rt: DoubleRuntime, exec: ExecutionRec, state: 'SUCCESS' | 'FAILED' | 'KILLED'): void {
  if (state === 'SUCCESS') exec.outputs = flowOutputs(rt, exec);
  transition(exec.state, state);
  rt.store.executionChanged(exec);
  dequeueNext(rt, exec);
  // A parent waiting on this execution resumes.
  for (const parent of rt.store.executions.values()) {
    if (parent.waitingOn !== exec.id) continue;
    parent.waitingOn = undefined;
    const tr = parent.taskRunList[parent.taskRunList.length - 1];
    const task = parent.tasks[parent.cursor] ?? {};
    const failed = state !== 'SUCCESS' && task.transmitFailed !== false;
    if (tr) {
      tr.outputs = { executionId: exec.id, state };
      transition(tr.state, failed ? 'FAILED' : 'SUCCESS');
    }
    if (isTerminal(parent.state)) continue;
    if (failed) {
      finish(rt, parent, 'FAILED');
    } else {
      parent.cursor++;
      rt.store.executionChanged(parent);
      schedule(rt, parent);
    }
  }
}

function step(rt: DoubleRuntime, exec: ExecutionRec): void {
  if (isTerminal(exec.state) || exec.state.current === 'PAUSED' || exec.waitingOn) return;
  if (exec.state.current === 'QUEUED') return;
  if (exec.state.current === 'CREATED' || exec.state.current === 'RESTARTED') {
    const limit = exec.state.current === 'CREATED' ? queueingLimit(rt, exec) : undefined;
    const next = limit !== undefined && slotsTaken(rt, exec) >= limit ? 'QUEUED' : 'RUNNING';
    transition(exec.state, next);
    rt.store.executionChanged(exec);
    if (next === 'QUEUED') return;
    rt.store.executionChanged(exec);
    schedule(rt, exec);
    return;
  }
  if (exec.state.current === 'KILLING') {
    finish(rt, exec, 'KILLED');
    return;
  }
  const task = exec.tasks[exec.cursor];
  if (!task) {
    finish(rt, exec, 'SUCCESS');
    return;
  }
  const tr: TaskRunRec = { id: newId(), taskId: String(task.id), state: newState('CREATED', 'RUNNING') };
  exec.taskRunList.push(tr);
  const type = String(task.type);
  if (task.disabled === true) {
    transition(tr.state, 'SKIPPED');
  } else if (type === LOG_TASK) {
    const messages = Array.isArray(task.message) ? task.message : [task.message];
    const level = typeof task.level === 'string' && ['ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE'].includes(task.level) ? (task.level as LogRec['level']) : 'INFO';
    for (const m of messages) log(rt, exec, tr, level, String(render(m ?? '', exec)));
    transition(tr.state, 'SUCCESS');
  } else if (type === PAUSE_TASK) {
    transition(tr.state, 'PAUSED');
    transition(exec.state, 'PAUSED');
    rt.store.executionChanged(exec);
    return;
  } else if (type === SUBFLOW_TASK) {
    const child = findFlow(rt, String(task.namespace), String(task.flowId));
    if (!child) {
      log(rt, exec, tr, 'ERROR', `Unable to find flow '${String(task.namespace)}'.'${String(task.flowId)}'`);
      transition(tr.state, 'FAILED');
      finish(rt, exec, 'FAILED');
      return;
    }
    let childExec: ExecutionRec;
    try {
      const given = new Map(Object.entries((render(task.inputs ?? {}, exec) as Record<string, unknown>) ?? {}));
      childExec = startExecution(rt, child, {
        inputs: resolveInputs(currentRevision(child).doc.inputs, given, [], (id, name) => `kestra:///${child.namespace}/${child.id}/inputs/${id}/${name}`),
        trigger: {
          id: String(task.id),
          type: SUBFLOW_TASK,
          variables: { executionId: exec.id, namespace: exec.namespace, flowId: exec.flowId, flowRevision: exec.flowRevision },
        },
        correlationId: exec.labels.find((l) => l.key === 'system.correlationId')?.value ?? exec.id,
      });
    } catch (err) {
      log(rt, exec, tr, 'ERROR', `Unable to create the subflow execution: ${(err as Error).message}`);
      transition(tr.state, 'FAILED');
      finish(rt, exec, 'FAILED');
      return;
    }
    tr.outputs = { executionId: childExec.id };
    if (task.wait !== false) {
      exec.waitingOn = childExec.id;
      rt.store.executionChanged(exec);
      return;
    }
    transition(tr.state, 'SUCCESS');
  } else if (type === FAIL_TASK) {
    log(rt, exec, tr, 'ERROR', String(render(task.errorMessage ?? 'Task failure', exec)));
    transition(tr.state, 'FAILED');
    finish(rt, exec, 'FAILED');
    return;
  } else {
    transition(tr.state, 'SUCCESS');
  }
  exec.cursor++;
  rt.store.executionChanged(exec);
  schedule(rt, exec);
}

export function resumeExecution(rt: DoubleRuntime, exec: ExecutionRec, fields: Map<string, unknown>, files: MultipartPart[]): void {
  if (exec.state.current !== 'PAUSED') throw conflict(`Execution '${exec.id}' is not paused (state ${exec.state.current})`);
  if (exec.pausedByRequest) {
    exec.pausedByRequest = false;
    transition(exec.state, 'RUNNING');
    rt.store.executionChanged(exec);
    schedule(rt, exec);
    return;
  }
  const task = exec.tasks[exec.cursor] ?? {};
  const tr = exec.taskRunList[exec.taskRunList.length - 1];
  const onResume = resolveInputs(
    task.onResume, fields, files, (id, name) => `kestra:///${exec.namespace}/${exec.flowId}/executions/${exec.id}/inputs/${id}/${name}`, 'onResume',
    (uri, data) => rt.store.storage.set(uri, Buffer.from(data)),
  );
  if (tr) {
    tr.outputs = { onResume };
    transition(tr.state, 'RUNNING');
    transition(tr.state, 'SUCCESS');
  }
  transition(exec.state, 'RUNNING');
  exec.cursor++;
  rt.store.executionChanged(exec);
  schedule(rt, exec);
}

export function killExecution(rt: DoubleRuntime, exec: ExecutionRec): void {
  if (isTerminal(exec.state)) throw conflict(`Execution '${exec.id}' is already finished (state ${exec.state.current})`);
  if (exec.state.current === 'KILLING') return;
  for (const tr of exec.taskRunList) if (!isTerminal(tr.state)) transition(tr.state, 'KILLED');
  const child = exec.waitingOn ? rt.store.executions.get(exec.waitingOn) : undefined;
  exec.waitingOn = undefined;
  transition(exec.state, 'KILLING');
  rt.store.executionChanged(exec);
  if (child && !isTerminal(child.state)) killExecution(rt, child);
  schedule(rt, exec);
}

/** Resolves with the execution once `predicate` holds (checked now and on every change). */
export function waitForExecution(rt: DoubleRuntime, id: string, predicate: (e: ExecutionRec) => boolean, timeoutMs = 10_000): Promise<ExecutionRec> {
  return new Promise((resolve, reject) => {
    const exec = rt.store.executions.get(id);
    if (!exec) {
      reject(new Error(`no execution ${id}`));
      return;
    }
    if (predicate(exec)) {
      resolve(exec);
      return;
    }
    const onChange = (e: ExecutionRec): void => {
      if (!predicate(e)) return;
      cleanup();
      resolve(e);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`execution ${id} did not reach the expected state within ${timeoutMs} ms (state ${exec.state.current})`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      rt.store.off(`execution:${id}`, onChange);
    };
    rt.store.on(`execution:${id}`, onChange);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Routes

export function requireExecution(ctx: Ctx, id: string): ExecutionRec {
  const e = ctx.rt.store.executions.get(id);
  if (!e) throw notFound(`Execution id '${id}' not found`);
  return e;
}

function executionUrl(ctx: Ctx, e: ExecutionRec): string {
  return `${ctx.rt.baseUrl}/ui/main/executions/${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.flowId)}/${e.id}`;
}

async function createExecution(ctx: Ctx, p: Record<string, string>): Promise<void> {
  const flow = findFlow(ctx.rt, p.namespace!, p.id!);
  if (!flow) throw notFound(`Flow id '${p.id}' not found in namespace '${p.namespace}'`);
  const revParam = ctx.query.get('revision');
  const rev = revParam ? flow.revisions.find((r) => r.revision === Number(revParam)) : currentRevision(flow);
  if (!rev) throw notFound(`Flow revision ${revParam} not found`);
  if (rev.doc.disabled === true) throw conflict('Cannot execute a disabled flow');
  const { fields, files } = formFields(ctx);
  const executionIdForFiles = newId();
  const inputs = resolveInputs(
    rev.doc.inputs, new Map(fields), files, (id, name) => `kestra:///${flow.namespace}/${flow.id}/executions/${executionIdForFiles}/inputs/${id}/${name}`,
    'inputs', (uri, data) => ctx.rt.store.storage.set(uri, Buffer.from(data)),
  );
  const labels: { key: string; value: string }[] = [];
  for (const l of ctx.query.getAll('labels')) {
    const i = l.indexOf(':');
    if (i <= 0) throw unprocessable(`Invalid entity: labels: Invalid label '${l}', it must be 'key:value'`);
    labels.push({ key: l.slice(0, i), value: l.slice(i + 1) });
  }
  let exec = startExecution(ctx.rt, flow, { inputs, labels, revision: rev.revision, id: executionIdForFiles });
  if (ctx.query.get('wait') === 'true') exec = await waitForExecution(ctx.rt, exec.id, (e) => isTerminal(e.state), 60_000);
  sendJson(ctx, 200, { ...executionJson(exec, 'execution'), url: executionUrl(ctx, exec) });
}

function getExecution(ctx: Ctx, p: Record<string, string>): void {
  sendJson(ctx, 200, executionJson(requireExecution(ctx, p.executionId!), 'api'));
}

/** Forget an execution, and its logs unless `deleteLogs=false` (Kestra's default is true). */
export function removeExecution(ctx: Ctx, e: ExecutionRec): void {
  if (e.timer) clearTimeout(e.timer);
  ctx.rt.store.executions.delete(e.id);
  if (ctx.query.get('deleteLogs') !== 'false') ctx.rt.store.logs.delete(e.id);
}

function deleteExecution(ctx: Ctx, p: Record<string, string>): void {
  removeExecution(ctx, requireExecution(ctx, p.executionId!));
  sendEmpty(ctx, 204);
}

export function matchesExecutionFilters(ctx: Ctx, e: ExecutionRec): boolean {
  return parseFilters(ctx.query).every((f) => {
    switch (f.field) {
      case 'namespace':
        return filterMatches(f, e.namespace);
      case 'flowId':
        return filterMatches(f, e.flowId);
      case 'state':
        return filterMatches(f, e.state.current);
      case 'labels': {
        if (f.key === undefined) return true;
        return filterMatches(f, e.labels.find((l) => l.key === f.key)?.value);
      }
      case 'q':
        return filterMatches({ ...f, operation: 'CONTAINS' }, `${e.id} ${e.namespace} ${e.flowId}`);
      default:
        return true;
    }
  });
}

function sortedExecutions(ctx: Ctx): ExecutionRec[] {
  return [...ctx.rt.store.executions.values()].sort((a, b) => b.createdDate.localeCompare(a.createdDate));
}

function searchExecutions(ctx: Ctx): void {
  const list = sortedExecutions(ctx).filter((e) => matchesExecutionFilters(ctx, e));
  const page = paginate(list, ctx.query);
  sendJson(ctx, 200, { results: page.results.map((e) => executionJson(e, 'light')), total: page.total });
}

function searchByFlow(ctx: Ctx): void {
  const ns = ctx.query.get('namespace');
  const flowId = ctx.query.get('flowId');
  const list = sortedExecutions(ctx).filter((e) => (!ns || e.namespace === ns) && (!flowId || e.flowId === flowId));
  const page = paginate(list, ctx.query);
  sendJson(ctx, 200, { results: page.results.map((e) => executionJson(e, 'light')), total: page.total });
}

function followExecution(ctx: Ctx, p: Record<string, string>): void {
  const exec = requireExecution(ctx, p.executionId!);
  const store = ctx.rt.store;
  const sse = openSse(ctx);
  const onChange = (e: ExecutionRec): void => {
    sse.send(executionJson(e, 'execution'));
    if (isTerminal(e.state)) sse.end();
  };
  store.on(`execution:${exec.id}`, onChange);
  sse.onClose(() => store.off(`execution:${exec.id}`, onChange));
  onChange(exec);
}

/**
 * A file of the execution's storage (`downloadFileFromExecution`): the path must lie under the
 * execution's own storage prefix, as Kestra's `validateFile` requires ("Invalid prefix path" otherwise).
 */
async function executionFile(ctx: Ctx, p: Record<string, string>): Promise<void> {
  const exec = requireExecution(ctx, p.executionId!);
  const path = ctx.query.get('path') ?? '';
  if (!path.startsWith(`kestra:///${exec.namespace}/${exec.flowId}/executions/${exec.id}/`)) throw unprocessable('Invalid prefix path');
  const data = ctx.rt.store.storage.get(path);
  if (!data) throw notFound(`File '${path}' not found`);
  const name = path.split('/').pop() ?? 'file';
  await sendBinary(ctx, 200, data, data.length, 'application/octet-stream', { 'content-disposition': `attachment; filename="${name}"` });
}

function resume(ctx: Ctx, p: Record<string, string>): void {
  const exec = requireExecution(ctx, p.executionId!);
  const { fields, files } = formFields(ctx);
  resumeExecution(ctx.rt, exec, new Map(fields), files);
  sendJson(ctx, 200, executionJson(exec, 'execution'));
}

function kill(ctx: Ctx, p: Record<string, string>): void {
  const exec = requireExecution(ctx, p.executionId!);
  killExecution(ctx.rt, exec);
  sendJson(ctx, 200, executionJson(exec, 'execution'), { contentType: 'text/json' });
}

/** Log levels, least severe first. */
export const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

function logsFor(ctx: Ctx, executionId: string): LogRec[] {
  const minLevel = ctx.query.get('minLevel')?.toUpperCase();
  const taskId = ctx.query.get('taskId');
  const taskRunId = ctx.query.get('taskRunId');
  const filters = parseFilters(ctx.query);
  return (ctx.rt.store.logs.get(executionId) ?? []).filter(
    (l) =>
      (!minLevel || LEVELS.indexOf(l.level) >= LEVELS.indexOf(minLevel)) &&
      (!taskId || l.taskId === taskId) &&
      (!taskRunId || l.taskRunId === taskRunId) &&
      filters.every((f) => {
        if (f.field === 'level' && f.operation === 'GREATER_THAN_OR_EQUAL_TO') return LEVELS.indexOf(l.level) >= LEVELS.indexOf(f.values[0] ?? 'TRACE');
        if (f.field === 'level') return filterMatches(f, l.level);
        if (f.field === 'taskId') return filterMatches(f, l.taskId ?? undefined);
        return true;
      }),
  );
}

/** Log search across executions: paged, with namespace, flow and level filters. */
function searchLogs(ctx: Ctx): void {
  const filters = parseFilters(ctx.query);
  const logs = [...ctx.rt.store.logs.values()].flat().filter((l) =>
    filters.every((f) => {
      if (f.field === 'namespace') return filterMatches(f, l.namespace);
      if (f.field === 'flowId') return filterMatches(f, l.flowId);
      if (f.field === 'level') return filterMatches(f, l.level);
      return true;
    }),
  );
  const page = paginate(logs, ctx.query);
  sendJson(ctx, 200, { results: page.results.map((l) => logJson(l, false)), total: page.total, type: 'OFFSET' });
}

function listLogs(ctx: Ctx, p: Record<string, string>): void {
  sendJson(ctx, 200, logsFor(ctx, p.executionId!).map((l) => logJson(l, false)));
}

/**
 * Log SSE: replays existing lines, then streams new ones. The double ends the stream once the execution is in a
 * terminal state (a choice of the double; an unknown execution is answered with 404 before any stream opens).
 */
function followLogs(ctx: Ctx, p: Record<string, string>): void {
  const exec = requireExecution(ctx, p.executionId!);
  const store = ctx.rt.store;
  const sse = openSse(ctx);
  for (const l of logsFor(ctx, exec.id)) sse.send(logJson(l, true));
  if (isTerminal(exec.state)) {
    sse.end();
    return;
  }
  const onLog = (l: LogRec): void => sse.send(logJson(l, true));
  const onChange = (e: ExecutionRec): void => {
    if (isTerminal(e.state)) sse.end();
  };
  store.on(`log:${exec.id}`, onLog);
  store.on(`execution:${exec.id}`, onChange);
  sse.onClose(() => {
    store.off(`log:${exec.id}`, onLog);
    store.off(`execution:${exec.id}`, onChange);
  });
}

function webhook(ctx: Ctx, p: Record<string, string>): void {
  const flow = findFlow(ctx.rt, p.namespace!, p.id!);
  if (!flow) throw notFound(`Flow id '${p.id}' not found in namespace '${p.namespace}'`);
  const rev = currentRevision(flow);
  const triggers = Array.isArray(rev.doc.triggers) ? (rev.doc.triggers as Record<string, unknown>[]) : [];
  const trigger = triggers.find((t) => t.type === WEBHOOK_TRIGGER && String(t.key) === p.key && t.disabled !== true);
  if (!trigger || rev.doc.disabled === true) throw notFound('Webhook not found');
  let body: unknown = ctx.body.length > 0 ? ctx.body.toString('utf8') : null;
  try {
    if (typeof body === 'string') body = JSON.parse(body) as unknown;
  } catch {
    /* keep text */
  }
  const headers: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(ctx.req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v : [v];
  const parameters: Record<string, string[]> = {};
  for (const [k, v] of ctx.query) (parameters[k] ??= []).push(v);
  const exec = startExecution(ctx.rt, flow, {
    inputs: {},
    trigger: { id: String(trigger.id), type: WEBHOOK_TRIGGER, variables: { body, headers, parameters } },
  });
  const full = executionJson(exec, 'api');
  sendJson(ctx, 200, {
    tenantId: full.tenantId,
    id: exec.id,
    namespace: exec.namespace,
    flowId: exec.flowId,
    flowRevision: exec.flowRevision,
    trigger: full.trigger,
    labels: full.labels,
    state: full.state,
    url: executionUrl(ctx, exec),
  });
}

export const executionRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/:tenant/executions/search', handler: searchExecutions },
  { method: 'GET', path: '/api/v1/:tenant/executions', handler: searchByFlow },
  ...(['GET', 'POST', 'PUT'] as const).flatMap((method) => [
    { method, path: '/api/v1/:tenant/executions/webhook/:namespace/:id/:key', handler: webhook, open: true },
    { method, path: '/api/v1/:tenant/executions/webhook/:namespace/:id/:key/:path', handler: webhook, open: true },
  ]),
  { method: 'GET', path: '/api/v1/:tenant/executions/:executionId/follow', handler: followExecution },
  { method: 'GET', path: '/api/v1/:tenant/executions/:executionId/file', handler: executionFile },
  { method: 'POST', path: '/api/v1/:tenant/executions/:executionId/actions/resume', handler: resume },
  { method: 'DELETE', path: '/api/v1/:tenant/executions/:executionId/actions/kill', handler: kill },
  { method: 'GET', path: '/api/v1/:tenant/executions/:executionId', handler: getExecution },
  { method: 'DELETE', path: '/api/v1/:tenant/executions/:executionId', handler: deleteExecution },
  { method: 'POST', path: '/api/v1/:tenant/executions/:namespace/:id', handler: createExecution },
  { method: 'GET', path: '/api/v1/:tenant/logs/search', handler: searchLogs },
  { method: 'GET', path: '/api/v1/:tenant/logs/:executionId/follow', handler: followLogs },
  { method: 'GET', path: '/api/v1/:tenant/logs/:executionId', handler: listLogs },
];
