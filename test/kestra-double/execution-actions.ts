/**
 * Execution actions beyond run/resume/kill, bulk operations on executions (`…/by-ids` with a JSON list of ids,
 * `…/by-query` with the search filters) and log deletion, as Kestra 2.0's ExecutionController and LogController
 * behave (docs/compatibility.md names the source read):
 *  - pause: RUNNING only (else 409); the execution goes PAUSED and `…/resume` continues at the same task.
 *  - restart: a terminated or paused execution (else 409); task runs that did not succeed are dropped, the
 *    execution goes RESTARTED, then runs again from the first of them.
 *  - replay: a new execution of the same flow revision (or `revision`, 404 if unknown) with the same inputs and
 *    labels, `originalId` naming the replayed one, which gets the label `system.replayed: true`; with `taskRunId`
 *    (422 if unknown) the task runs before it are kept and the new execution starts at its task.
 *  - labels: a terminated execution (else 400); the given labels replace the others, system labels are kept and
 *    cannot be given (422).
 *  - change-status: to a terminal state (else 422), of a terminated, not killed execution (else 409).
 *  - eval: renders the text/plain body in the execution's context (for a task run of it, 404 if unknown) and
 *    answers `EvalResult {result}`, or `{error, stackTrace}` when it names an undefined variable (still 200).
 *    Only the double's `{{ a.b.c }}` lookups are rendered (no Pebble filters or functions).
 *  - force-run: a non-terminated execution (else 409): CREATED runs now, QUEUED leaves the queue and runs (past the
 *    flow's concurrency limit), PAUSED resumes; any other state is answered unchanged.
 *  - unqueue: a QUEUED execution (else 409) goes to `state`: RUNNING (the default), CANCELLED or FAILED (another
 *    state, 422; the double checks it before anything changes, also for the bulk forms).
 *  - bulk: every id is checked first; any invalid one answers the violations (`BulkErrorResponse`, 400) and changes
 *    nothing. Delete answers `BulkResponse`, and names a missing and a running execution alike "execution not
 *    found" (ExecutionController.deleteExecutionsByIds @ c94e7743, whose code answers 400 where its annotation
 *    and the spec say 422); the asynchronous 2.0 operations answer 202 and an `ApiAsyncOperationResponse` (the
 *    double completes them before answering).
 */
import {
  type Ctx,
  type Route,
  badRequest,
  conflict,
  jsonBody,
  newId,
  notFound,
  sendEmpty,
  sendJson,
  unprocessable,
} from './http.js';
import {
  LEVELS,
  MissingVariableError,
  killExecution,
  renderText,
  resumeExecution,
  matchesExecutionFilters,
  removeExecution,
  requireExecution,
  schedule,
  startExecution,
  unqueueExecution,
} from './executions.js';
import { currentRevision, findFlow } from './flows.js';
import { type ExecutionRec, type StateType, TERMINAL_STATES, executionJson, isTerminal, transition } from './state.js';

const LABEL_KEY = /^[\p{Ll}][\p{L}0-9._-]*$/u;

interface Violation {
  message: string;
  invalidValue: string;
}

/** The JSON list of execution ids a `…/by-ids` operation takes (400 when it is not one). */
function idsFromBody(ctx: Ctx): string[] {
  const ids = jsonBody(ctx, 'executionsId');
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw badRequest('Failed to convert argument [executionsId]: a list of ids is required');
  return ids;
}

/** The executions a `…/by-query` operation selects: the same filters as the search. */
function idsFromQuery(ctx: Ctx, wanted: (e: ExecutionRec) => boolean): string[] {
  return [...ctx.rt.store.executions.values()].filter((e) => matchesExecutionFilters(ctx, e) && wanted(e)).map((e) => e.id);
}

/** Check every id (`problem` names what is wrong with a found execution); answers the violations if any. */
function selectAll(ctx: Ctx, ids: string[], problem: (e: ExecutionRec) => string | null, refusal: { status: number; message: string }): ExecutionRec[] | null {
  const found: ExecutionRec[] = [];
  const invalids: Violation[] = [];
  for (const id of ids) {
    const e = ctx.rt.store.executions.get(id);
    const wrong = e ? problem(e) : 'execution not found';
    if (wrong) invalids.push({ message: wrong, invalidValue: id });
    else found.push(e!);
  }
  if (invalids.length === 0) return found;
  sendJson(ctx, refusal.status, { message: refusal.message, invalids });
  return null;
}

const asyncAccepted = (ctx: Ctx, count: number): void => sendJson(ctx, 202, { operationId: newId(), totalItems: count });

function bulkDelete(ctx: Ctx, ids: string[]): void {
  const includeNonTerminated = ctx.query.get('includeNonTerminated') === 'true';
  const selected = selectAll(ctx, ids, (e) => (isTerminal(e.state) || includeNonTerminated ? null : 'execution not found'), {
    status: 400,
    message: 'invalid bulk delete',
  });
  if (!selected) return;
  for (const e of selected) removeExecution(ctx, e);
  sendJson(ctx, 200, { count: selected.length });
}

function terminalStatus(raw: string | null, param: string): StateType {
  if (!raw) throw badRequest(`Required QueryValue [${param}] not specified`);
  if (!TERMINAL_STATES.has(raw as StateType)) throw unprocessable('You can only change the state of an execution to a terminal state.');
  return raw as StateType;
}

function changeStatus(e: ExecutionRec, status: StateType, ctx: Ctx): void {
  transition(e.state, status);
  ctx.rt.store.executionChanged(e);
}

const canChangeStatus = (e: ExecutionRec) => isTerminal(e.state) && e.state.current !== 'KILLED';
const canBeRestarted = (e: ExecutionRec) => isTerminal(e.state) || e.state.current === 'PAUSED';

function pauseOne(ctx: Ctx, e: ExecutionRec): void {
  if (e.timer) clearTimeout(e.timer);
  e.timer = undefined;
  e.pausedByRequest = true;
  changeStatus(e, 'PAUSED', ctx);
}

function restartOne(ctx: Ctx, e: ExecutionRec): void {
  const firstNotDone = e.taskRunList.findIndex((tr) => tr.state.current !== 'SUCCESS');
  e.cursor = firstNotDone === -1 ? e.taskRunList.length : firstNotDone;
  e.taskRunList = e.taskRunList.slice(0, e.cursor);
  e.pausedByRequest = false;
  changeStatus(e, 'RESTARTED', ctx);
  schedule(ctx.rt, e);
}

function replayOne(ctx: Ctx, source: ExecutionRec, taskRunId: string | null, revision: number | undefined): ExecutionRec {
  const flow = findFlow(ctx.rt, source.namespace, source.flowId);
  if (!flow) throw notFound(`Flow id '${source.flowId}' not found in namespace '${source.namespace}'`);
  if (revision !== undefined && !flow.revisions.some((r) => r.revision === revision)) throw notFound(`Unable to find revision ${revision} on flow ${source.namespace}.${source.flowId}`);
  const from = taskRunId ? source.taskRunList.findIndex((tr) => tr.id === taskRunId) : 0;
  if (from === -1) throw unprocessable(`Task run id '${taskRunId}' not found in execution '${source.id}'`);
  const copy = startExecution(ctx.rt, flow, {
    inputs: { ...source.inputs },
    labels: source.labels.filter((l) => !l.key.startsWith('system.')),
    revision: revision ?? source.flowRevision,
    originalId: source.originalId,
  });
  // Kept task runs are those before the replayed one (the first step runs after this handler returns).
  copy.taskRunList = source.taskRunList.slice(0, from).map((tr) => ({ ...tr, state: { ...tr.state, histories: tr.state.histories.map((h) => ({ ...h })) } }));
  copy.cursor = from;
  if (!source.labels.some((l) => l.key === 'system.replayed')) source.labels.push({ key: 'system.replayed', value: 'true' });
  ctx.rt.store.executionChanged(source);
  return copy;
}

/** A JSON list of labels (400 when it is not one); system labels other than the execution's own answer 422. */
function labelsFrom(raw: unknown, e: ExecutionRec): { key: string; value: string }[] {
  if (!Array.isArray(raw)) throw badRequest('Failed to convert argument [labels]: a list of labels is required');
  return raw.map((l: unknown) => {
    const { key, value } = (l ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'string' || !LABEL_KEY.test(key) || value === '') throw badRequest(`Invalid label ${JSON.stringify(l)}`);
    if (key.startsWith('system.') && !e.labels.some((x) => x.key === key && x.value === value)) {
      throw unprocessable(`System labels can only be set by Kestra itself, offending label: ${key}=${value}`);
    }
    return { key, value };
  });
}

/** The given labels, then the execution's system labels it does not repeat. */
function withSystemLabels(e: ExecutionRec, labels: { key: string; value: string }[]): { key: string; value: string }[] {
  const system = e.labels.filter((l) => l.key.startsWith('system.') && !labels.some((x) => x.key === l.key && x.value === l.value));
  return [...labels, ...system];
}

/** One label per key, the last one given winning. */
function deduplicate(labels: { key: string; value: string }[]): { key: string; value: string }[] {
  return [...new Map(labels.map((l) => [l.key, l])).values()];
}

function pause(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (e.state.current !== 'RUNNING') throw conflict('Cannot pause execution: execution is not running.');
  pauseOne(ctx, e);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function restart(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (!canBeRestarted(e)) throw conflict(`Cannot restart execution: current state is '${e.state.current}', expected terminated or paused.`);
  restartOne(ctx, e);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function replay(ctx: Ctx, p: Record<string, string>): void {
  const source = requireExecution(ctx, p.executionId!);
  const revision = ctx.query.get('revision');
  const copy = replayOne(ctx, source, ctx.query.get('taskRunId'), revision ? Number(revision) : undefined);
  sendJson(ctx, 200, executionJson(copy, 'execution'));
}

function setLabels(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (!isTerminal(e.state)) throw badRequest('The execution is not terminated');
  e.labels = withSystemLabels(e, labelsFrom(jsonBody(ctx, 'labels'), e));
  ctx.rt.store.executionChanged(e);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function changeStatusOne(ctx: Ctx, p: Record<string, string>): void {
  const status = terminalStatus(ctx.query.get('status'), 'status');
  const e = requireExecution(ctx, p.executionId!);
  if (!canChangeStatus(e)) throw conflict('Cannot change execution state: execution must be terminated and not killed.');
  changeStatus(e, status, ctx);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function forceRunOne(ctx: Ctx, e: ExecutionRec): void {
  if (e.state.current === 'CREATED') {
    transition(e.state, 'RUNNING');
    ctx.rt.store.executionChanged(e);
    schedule(ctx.rt, e);
  } else if (e.state.current === 'QUEUED') {
    unqueueExecution(ctx.rt, e, 'RUNNING');
  } else if (e.state.current === 'PAUSED') {
    resumeExecution(ctx.rt, e, new Map(), []);
  }
}

function forceRun(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (isTerminal(e.state)) throw conflict('Cannot force run execution: only non-terminated executions can be force run.');
  forceRunOne(ctx, e);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

const UNQUEUE_TARGETS = ['RUNNING', 'CANCELLED', 'FAILED'] as const;
type UnqueueTarget = (typeof UNQUEUE_TARGETS)[number];

/** The state an unqueued execution goes to (ConcurrencyLimitService: RUNNING when none is given). */
function unqueueTarget(raw: string | null): UnqueueTarget {
  if (raw === null || raw === '') return 'RUNNING';
  if (!(UNQUEUE_TARGETS as readonly string[]).includes(raw)) {
    throw unprocessable(`Illegal argument: Invalid target state: ${raw}. Valid states are: [${UNQUEUE_TARGETS.join(', ')}]`);
  }
  return raw as UnqueueTarget;
}

function unqueue(ctx: Ctx, p: Record<string, string>): void {
  const target = unqueueTarget(ctx.query.get('state'));
  const e = requireExecution(ctx, p.executionId!);
  if (e.state.current !== 'QUEUED') throw conflict('Cannot unqueue execution: only QUEUED executions can be unqueued.');
  unqueueExecution(ctx.rt, e, target);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function evalExpression(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (p.taskRunId !== undefined && !e.taskRunList.some((tr) => tr.id === p.taskRunId)) throw notFound(`Task run '${p.taskRunId}' not found in execution '${e.id}'`);
  try {
    sendJson(ctx, 200, { result: renderText(ctx.body.toString('utf8'), e, true) });
  } catch (err) {
    if (!(err instanceof MissingVariableError)) throw err;
    sendJson(ctx, 200, { error: err.message, stackTrace: `${err.name}: ${err.message}` });
  }
}

/**
 * The asynchronous bulk operations of 2.0: what makes an execution invalid (Kestra's message), and what is done
 * to each once all are valid. `prepare` reads what the whole request needs before any id is checked.
 */
interface BulkAction {
  name: string;
  problem: (e: ExecutionRec) => string | null;
  apply: (ctx: Ctx, e: ExecutionRec, prepared: unknown) => void;
  prepare?: (ctx: Ctx) => unknown;
}

const BULK_ACTIONS: Record<string, BulkAction> = {
  kill: { name: 'kill', problem: (e) => (isTerminal(e.state) ? 'execution already finished' : null), apply: (ctx, e) => killExecution(ctx.rt, e) },
  pause: { name: 'pause', problem: (e) => (e.state.current === 'RUNNING' ? null : 'execution not in state RUNNING'), apply: pauseOne },
  resume: {
    name: 'resume',
    problem: (e) => (e.state.current === 'PAUSED' ? null : 'execution not in state PAUSED'),
    apply: (ctx, e) => resumeExecution(ctx.rt, e, new Map(), []),
  },
  restart: {
    name: 'restart',
    problem: (e) => (canBeRestarted(e) ? null : `Execution '${e.id}' must be terminated or paused to be restarted, current state is '${e.state.current}' !`),
    apply: restartOne,
  },
  replay: {
    name: 'replay',
    problem: () => null,
    apply: (ctx, e, latest) => replayOne(ctx, e, null, latest ? currentRevision(findFlow(ctx.rt, e.namespace, e.flowId)!).revision : undefined),
    prepare: (ctx) => ctx.query.get('latestRevision') === 'true',
  },
  'force-run': {
    name: 'force run',
    problem: (e) => (isTerminal(e.state) ? 'execution in a terminated state' : null),
    apply: forceRunOne,
  },
  unqueue: {
    name: 'unqueue',
    problem: (e) => (e.state.current === 'QUEUED' ? null : 'execution not in state QUEUED'),
    apply: (ctx, e, target) => unqueueExecution(ctx.rt, e, target as UnqueueTarget),
    // By ids the target is `state`, by query `newState`.
    prepare: (ctx) => {
      return unqueueTarget(ctx.query.get(ctx.pathname.endsWith('/by-query') ? 'newState' : 'state'));
    },
  },
  'change-status': {
    name: 'change executions state',
    problem: (e) => (canChangeStatus(e) ? null : 'execution not in a terminated state or is killed'),
    apply: (ctx, e, status) => changeStatus(e, status as StateType, ctx),
    prepare: (ctx) => terminalStatus(ctx.query.get('newStatus'), 'newStatus'),
  },
};

function runBulk(ctx: Ctx, action: BulkAction, ids: string[], prepared: unknown): void {
  const selected = selectAll(ctx, ids, action.problem, { status: 400, message: `invalid bulk ${action.name}` });
  if (!selected) return;
  for (const e of selected) action.apply(ctx, e, prepared);
  asyncAccepted(ctx, selected.length);
}

/** Labels by ids take `{executionsId, executionLabels}`; each execution keeps its labels, the given ones win. */
const LABELS: BulkAction = {
  name: 'set labels',
  problem: (e) => (isTerminal(e.state) ? null : 'execution is not terminated'),
  apply: (ctx, e, labels) => {
    e.labels = withSystemLabels(e, deduplicate([...e.labels.filter((l) => !l.key.startsWith('system.')), ...labelsFrom(labels, e)]));
    ctx.rt.store.executionChanged(e);
  },
};

function labelsByIds(ctx: Ctx): void {
  const body = jsonBody(ctx, 'setLabelsByIds') as { executionsId?: unknown; executionLabels?: unknown } | null;
  const ids = body?.executionsId;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string') || !Array.isArray(body?.executionLabels)) {
    throw badRequest('Failed to convert argument [setLabelsByIds]: {executionsId, executionLabels} is required');
  }
  runBulk(ctx, LABELS, ids, body.executionLabels);
}

/** Deletes an execution's log lines, narrowed by `minLevel`, `taskRunId`, `taskId`, `attempt`. */
function deleteExecutionLogs(ctx: Ctx, p: Record<string, string>): void {
  const logs = ctx.rt.store.logs.get(p.executionId!) ?? [];
  const minLevel = ctx.query.get('minLevel')?.toUpperCase();
  const taskRunId = ctx.query.get('taskRunId');
  const taskId = ctx.query.get('taskId');
  const attempt = ctx.query.get('attempt');
  const doomed = (l: (typeof logs)[number]) =>
    (!minLevel || LEVELS.indexOf(l.level) >= LEVELS.indexOf(minLevel)) &&
    (!taskRunId || l.taskRunId === taskRunId) &&
    (!taskId || l.taskId === taskId) &&
    (!attempt || l.attemptNumber === Number(attempt));
  ctx.rt.store.logs.set(p.executionId!, logs.filter((l) => !doomed(l)));
  sendEmpty(ctx, 200);
}

/**
 * Deletes the logs a flow's trigger wrote (`triggerId` is required). The double's triggers write no log lines,
 * so execution logs are never touched, as in Kestra, where this deletes by trigger id only.
 */
function deleteFlowLogs(ctx: Ctx): void {
  if (!ctx.query.get('triggerId')) throw badRequest('Required QueryValue [triggerId] not specified');
  sendEmpty(ctx, 200);
}

const E = '/api/v1/:tenant/executions';

export const executionActionRoutes: Route[] = [
  { method: 'DELETE', path: `${E}/by-ids`, handler: (ctx) => bulkDelete(ctx, idsFromBody(ctx)) },
  {
    method: 'DELETE',
    path: `${E}/by-query`,
    handler: (ctx) => bulkDelete(ctx, idsFromQuery(ctx, (e) => isTerminal(e.state) || ctx.query.get('includeNonTerminated') === 'true')),
  },
  ...Object.entries(BULK_ACTIONS).flatMap(([segment, action]) => {
    const method = segment === 'kill' ? 'DELETE' : 'POST';
    // Read what the request needs (e.g. a valid `newStatus`) before reading the ids, as Kestra does.
    const by = (ids: (ctx: Ctx) => string[]) => (ctx: Ctx) => {
      const prepared = action.prepare?.(ctx);
      runBulk(ctx, action, ids(ctx), prepared);
    };
    return [
      { method, path: `${E}/${segment}/by-ids`, handler: by(idsFromBody) },
      { method, path: `${E}/${segment}/by-query`, handler: by((ctx) => idsFromQuery(ctx, () => true)) },
    ];
  }),
  { method: 'POST', path: `${E}/labels/by-ids`, handler: labelsByIds },
  { method: 'POST', path: `${E}/labels/by-query`, handler: (ctx) => runBulk(ctx, LABELS, idsFromQuery(ctx, () => true), jsonBody(ctx, 'setLabels')) },
  { method: 'POST', path: `${E}/:executionId/actions/eval`, handler: evalExpression },
  { method: 'POST', path: `${E}/:executionId/actions/eval/:taskRunId`, handler: evalExpression },
  { method: 'POST', path: `${E}/:executionId/actions/pause`, handler: pause },
  { method: 'POST', path: `${E}/:executionId/actions/restart`, handler: restart },
  { method: 'POST', path: `${E}/:executionId/actions/replay`, handler: replay },
  { method: 'POST', path: `${E}/:executionId/actions/labels`, handler: setLabels },
  { method: 'POST', path: `${E}/:executionId/actions/change-status`, handler: changeStatusOne },
  { method: 'POST', path: `${E}/:executionId/actions/force-run`, handler: forceRun },
  { method: 'POST', path: `${E}/:executionId/actions/unqueue`, handler: unqueue },
  { method: 'DELETE', path: '/api/v1/:tenant/logs/:executionId', handler: deleteExecutionLogs },
  { method: 'DELETE', path: '/api/v1/:tenant/logs/:namespace/:flowId', handler: deleteFlowLogs },
];
