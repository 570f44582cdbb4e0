/**
 * In-memory state of the Kestra double (one tenant, `main`, like OSS) and the JSON shapes it is served in.
 */
import { EventEmitter } from 'node:events';
import { isoDuration, nowIso } from './http.js';

export const TENANT = 'main';

export type StateType =
  | 'CREATED'
  | 'SUBMITTED'
  | 'RUNNING'
  | 'PAUSED'
  | 'RESTARTED'
  | 'KILLING'
  | 'SUCCESS'
  | 'WARNING'
  | 'FAILED'
  | 'KILLED'
  | 'CANCELLED'
  | 'QUEUED'
  | 'RETRYING'
  | 'RETRIED'
  | 'SKIPPED'
  | 'BREAKPOINT'
  | 'RESUBMITTED';

export const TERMINAL_STATES: ReadonlySet<StateType> = new Set(['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED', 'SKIPPED', 'RETRIED']);

export interface StateRec {
  current: StateType;
  histories: { state: StateType; date: string }[];
}

export function newState(...states: StateType[]): StateRec {
  const date = nowIso();
  return { current: states[states.length - 1]!, histories: states.map((state) => ({ state, date })) };
}

export function transition(s: StateRec, next: StateType): void {
  s.current = next;
  s.histories.push({ state: next, date: nowIso() });
}

export function isTerminal(s: StateRec): boolean {
  return TERMINAL_STATES.has(s.current);
}

/**
 * State JSON. Besides Kestra's `duration`/`startDate`/`endDate`, the spec's `State` schema *requires*
 * `getDuration`, `getStartDate`, `getEndDate` (Java getters leaked into the generated schema; `getEndDate` is a
 * non-null date-time). The double sends both sets; for a running state `getEndDate` is "now".
 */
export function stateJson(s: StateRec): Record<string, unknown> {
  const start = s.histories[0]?.date ?? nowIso();
  const end = isTerminal(s) ? s.histories[s.histories.length - 1]!.date : null;
  const duration = isoDuration((end ? Date.parse(end) : Date.now()) - Date.parse(start));
  return {
    current: s.current,
    histories: s.histories.map((h) => ({ ...h })),
    duration,
    startDate: start,
    // Kestra's mapper writes no null fields (JsonInclude NON_NULL): a running state has no endDate at all.
    ...(end ? { endDate: end } : {}),
    getDuration: duration,
    getStartDate: start,
    getEndDate: end ?? nowIso(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Flows

export interface FlowRevision {
  revision: number;
  source: string;
  /** Parsed YAML document. */
  doc: Record<string, unknown>;
  updated: string;
}

export interface FlowRecord {
  namespace: string;
  id: string;
  revisions: FlowRevision[];
  deleted: boolean;
}

export function flowKey(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
}

/** Flow labels: YAML may give a map or a list of {key,value}; the spec's Flow schema only admits the map form. */
export function labelsAsMap(labels: unknown): Record<string, string> | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (Array.isArray(labels)) {
    const out: Record<string, string> = {};
    for (const l of labels) {
      if (l && typeof l === 'object' && 'key' in l) out[String((l as { key: unknown }).key)] = String((l as { value?: unknown }).value ?? '');
    }
    return out;
  }
  if (typeof labels === 'object') return Object.fromEntries(Object.entries(labels as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  return undefined;
}

export function labelsAsList(labels: unknown): { key: string; value: string }[] {
  return Object.entries(labelsAsMap(labels) ?? {}).map(([key, value]) => ({ key, value }));
}

/** `Flow` JSON (search results, list by namespace) or `FlowWithSource` (get/create/update/revisions). */
export function flowJson(flow: FlowRecord, rev: FlowRevision, withSource: boolean): Record<string, unknown> {
  const doc = { ...rev.doc };
  const labels = labelsAsMap(doc.labels);
  delete doc.labels;
  const out: Record<string, unknown> = {
    id: flow.id,
    namespace: flow.namespace,
    revision: rev.revision,
    ...doc,
    disabled: doc.disabled === true,
    deleted: false,
    draft: false,
    updated: rev.updated,
  };
  out.id = flow.id;
  out.namespace = flow.namespace;
  out.revision = rev.revision;
  if (labels && Object.keys(labels).length > 0) out.labels = labels;
  if (withSource) out.source = rev.source;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Executions and logs

export interface TaskRunRec {
  id: string;
  taskId: string;
  state: StateRec;
  outputs?: Record<string, unknown>;
}

export interface ExecutionRec {
  id: string;
  namespace: string;
  flowId: string;
  flowRevision: number;
  inputs: Record<string, unknown>;
  labels: { key: string; value: string }[];
  state: StateRec;
  taskRunList: TaskRunRec[];
  originalId: string;
  trigger?: { id: string; type: string; variables?: Record<string, unknown> };
  createdDate: string;
  /** Tasks to run (snapshot of the flow revision). */
  tasks: Record<string, unknown>[];
  /** Index of the next task to run. */
  cursor: number;
  /** Child execution the current Subflow task waits for. */
  waitingOn?: string;
  /** Paused by `…/actions/pause` (not by a Pause task): resuming continues at the same task. */
  pausedByRequest?: boolean;
  /** The flow's `outputs`, rendered when the execution succeeds (Kestra 2.0 `Execution.outputs`). */
  outputs?: Record<string, unknown>;
  timer?: NodeJS.Timeout;
}

export interface LogRec {
  namespace: string;
  flowId: string;
  taskId: string | null;
  executionId: string;
  taskRunId: string | null;
  attemptNumber: number;
  timestamp: string;
  level: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';
  thread: string;
  message: string;
}

function taskRunJson(exec: ExecutionRec, tr: TaskRunRec, full: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { id: tr.id };
  if (full) {
    out.executionId = exec.id;
    out.namespace = exec.namespace;
    out.flowId = exec.flowId;
  }
  out.taskId = tr.taskId;
  out.attempts = [{ state: stateJson(tr.state) }];
  out.state = stateJson(tr.state);
  // 2.0: task runs carry no outputs in execution JSON (they are served by /outputs/{executionId}).
  return out;
}

/**
 * Execution JSON. `kind` selects the spec schema: `execution` = `Execution` (SSE, resume, kill, create),
 * `api` = `ApiExecution` (GET by id: 2.0 task runs without executionId/namespace/flowId/outputs),
 * `light` = `ApiLightExecution` (search: no task runs).
 */
export function executionJson(exec: ExecutionRec, kind: 'execution' | 'api' | 'light'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (kind !== 'execution') out.tenantId = TENANT;
  out.id = exec.id;
  out.namespace = exec.namespace;
  out.flowId = exec.flowId;
  out.flowRevision = exec.flowRevision;
  if (kind !== 'light') out.taskRunList = exec.taskRunList.map((tr) => taskRunJson(exec, tr, kind === 'execution'));
  out.inputs = { ...exec.inputs };
  if (exec.outputs) out.outputs = { ...exec.outputs };
  out.labels = exec.labels.map((l) => ({ ...l }));
  out.state = stateJson(exec.state);
  out.originalId = exec.originalId;
  if (exec.trigger) out.trigger = { ...exec.trigger };
  if (kind !== 'light') out.metadata = { attemptNumber: 1, originalCreatedDate: exec.createdDate };
  if (kind === 'execution') out.deleted = false;
  return out;
}

export function logJson(log: LogRec, follow: boolean): Record<string, unknown> {
  return { ...(follow ? { tenantId: TENANT } : {}), ...log };
}

// ---------------------------------------------------------------------------------------------------------------
// Namespace files and KV

export interface FileRec {
  data: Buffer;
  created: number;
  modified: number;
  /** 1 for the first write, +1 for each later one (2.0 namespace files keep revisions). */
  revision: number;
}

export interface KvRec {
  value: unknown;
  type: 'STRING' | 'NUMBER' | 'BOOLEAN' | 'DATETIME' | 'DATE' | 'DURATION' | 'JSON';
  description?: string;
  expiresAt?: number;
  revision: number;
  created: string;
  updated: string;
}

/** A trigger's state (`ApiTriggerState` less its ids). */
export interface TriggerRec {
  disabled: boolean;
  locked: boolean;
  updatedAt: string;
  evaluatedAt?: string;
  /** A backfill in progress (`Backfill`), as created; the double starts none of its executions. */
  backfill?: Record<string, unknown>;
}

/** A stored dashboard: its YAML source as sent, and what Kestra parsed of it. */
export interface DashboardRec {
  id: string;
  title: string;
  description?: string;
  charts: Record<string, unknown>[];
  sourceCode: string;
  created: string;
  updated: string;
}

export class DoubleStore extends EventEmitter {
  readonly flows = new Map<string, FlowRecord>();
  readonly executions = new Map<string, ExecutionRec>();
  readonly logs = new Map<string, LogRec[]>();
  /** namespace → path (`/a/b.txt`) → file */
  readonly files = new Map<string, Map<string, FileRec>>();
  /** namespace → explicitly created directories (`/a`) */
  readonly dirs = new Map<string, Set<string>>();
  /** namespace → key → value */
  readonly kv = new Map<string, Map<string, KvRec>>();
  /** `namespace\0flowId\0triggerId` → trigger state */
  readonly triggers = new Map<string, TriggerRec>();
  /** Internal storage: `kestra:///…` URI → bytes (FILE inputs an execution was given). */
  readonly storage = new Map<string, Buffer>();
  /** Stored dashboards by id (dashboards.ts), and the tenant's default-dashboards setting (null: never set). */
  readonly dashboards = new Map<string, DashboardRec>();
  dashboardSettings: Record<string, string> | null = null;
  /** `namespace\0flowId` → the running count a `PUT /concurrency-limit/…` set (Kestra stores the counter). */
  readonly concurrencyRunning = new Map<string, number>();

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** Emitted as `execution` (all) and `execution:<id>` after every change. */
  executionChanged(exec: ExecutionRec): void {
    this.emit(`execution:${exec.id}`, exec);
    this.emit('execution', exec);
  }

  addLog(log: LogRec): void {
    let list = this.logs.get(log.executionId);
    if (!list) this.logs.set(log.executionId, (list = []));
    list.push(log);
    this.emit(`log:${log.executionId}`, log);
  }

  reset(): void {
    for (const e of this.executions.values()) if (e.timer) clearTimeout(e.timer);
    this.flows.clear();
    this.executions.clear();
    this.logs.clear();
    this.files.clear();
    this.dirs.clear();
    this.kv.clear();
    this.triggers.clear();
    this.storage.clear();
    this.dashboards.clear();
    this.dashboardSettings = null;
  }
}
