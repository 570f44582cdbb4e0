/**
 * Execution actions beyond run/resume/kill, bulk operations on executions (`…/by-ids` with a JSON list of ids,
 * `…/by-query` with the search filters) and log deletion, as Kestra's ExecutionController and LogController
 * behave (see docs/compatibility.md for the source read):
 *  - pause: RUNNING only (else 409); the execution goes PAUSED and `…/resume` continues at the same task.
 *  - restart: a FAILED or KILLED execution only (else 409); failed task runs are dropped, the execution goes
 *    RESTARTED, then runs again from the first task that did not succeed.
 *  - replay: a terminated execution only (else 409); a new execution of the same flow revision (or `revision`)
 *    with the same inputs and labels, `originalId` naming the replayed one; with `taskRunId`, the task runs before
 *    it are kept and the new execution starts at its task.
 *  - labels: a terminated execution only (409); `system.` labels refused (400); labels replace those of the same key.
 *  - change-status: to a terminal state (else 422), of a terminated execution (else 422).
 *  - bulk: every id is checked first; any invalid one answers the list of violations and changes nothing
 *    (delete 422, the asynchronous 2.0 operations 400); delete answers `BulkResponse`, kill and change-status an
 *    `ApiAsyncOperationResponse` with 202 (the double completes them before answering).
 */
import {
  type Ctx,
  type Route,
  badRequest,
  conflict,
  newId,
  notFound,
  sendEmpty,
  sendJson,
  unprocessable,
} from './http.js';
import {
  LEVELS,
  killExecution,
  matchesExecutionFilters,
  removeExecution,
  requireExecution,
  schedule,
  startExecution,
} from './executions.js';
import { findFlow } from './flows.js';
import { type ExecutionRec, type StateType, TERMINAL_STATES, executionJson, isTerminal, transition } from './state.js';

const LABEL_KEY = /^[\p{Ll}][\p{L}0-9._-]*$/u;

interface Violation {
  message: string;
  invalidValue: string;
}

/** The JSON list of execution ids a `…/by-ids` operation takes (400 when it is not one). */
function idsFromBody(ctx: Ctx): string[] {
  let ids: unknown;
  try {
    ids = JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw badRequest('Failed to convert argument [executionsId]: the body is not JSON');
  }
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
  const selected = selectAll(ctx, ids, (e) => (isTerminal(e.state) || includeNonTerminated ? null : 'execution not terminated'), {
    status: 422,
    message: 'invalid bulk delete',
  });
  if (!selected) return;
  for (const e of selected) removeExecution(ctx, e);
  sendJson(ctx, 200, { count: selected.length });
}

function bulkKill(ctx: Ctx, ids: string[]): void {
  const selected = selectAll(ctx, ids, (e) => (isTerminal(e.state) ? 'execution already finished' : null), { status: 400, message: 'invalid bulk kill' });
  if (!selected) return;
  for (const e of selected) killExecution(ctx.rt, e);
  asyncAccepted(ctx, selected.length);
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

function bulkChangeStatus(ctx: Ctx, ids: string[]): void {
  const status = terminalStatus(ctx.query.get('newStatus'), 'newStatus');
  const selected = selectAll(ctx, ids, (e) => (isTerminal(e.state) ? null : 'execution not in a terminated state'), {
    status: 400,
    message: 'invalid bulk change executions state',
  });
  if (!selected) return;
  for (const e of selected) changeStatus(e, status, ctx);
  asyncAccepted(ctx, selected.length);
}

function pause(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (e.state.current !== 'RUNNING') throw conflict(`Execution '${e.id}' is not running (state ${e.state.current}), it cannot be paused`);
  if (e.timer) clearTimeout(e.timer);
  e.timer = undefined;
  e.pausedByRequest = true;
  changeStatus(e, 'PAUSED', ctx);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function restart(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  if (e.state.current !== 'FAILED' && e.state.current !== 'KILLED') throw conflict(`Execution '${e.id}' must be failed to be restarted (state ${e.state.current})`);
  const firstNotDone = e.taskRunList.findIndex((tr) => tr.state.current !== 'SUCCESS');
  e.cursor = firstNotDone === -1 ? e.taskRunList.length : firstNotDone;
  e.taskRunList = e.taskRunList.slice(0, e.cursor);
  changeStatus(e, 'RESTARTED', ctx);
  schedule(ctx.rt, e);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function replay(ctx: Ctx, p: Record<string, string>): void {
  const source = requireExecution(ctx, p.executionId!);
  if (!isTerminal(source.state)) throw conflict(`Execution '${source.id}' is not terminated (state ${source.state.current}), it cannot be replayed`);
  const flow = findFlow(ctx.rt, source.namespace, source.flowId);
  if (!flow) throw notFound(`Flow id '${source.flowId}' not found in namespace '${source.namespace}'`);
  const taskRunId = ctx.query.get('taskRunId');
  const from = taskRunId ? source.taskRunList.findIndex((tr) => tr.id === taskRunId) : 0;
  if (from === -1) throw unprocessable(`Invalid entity: taskRunId: task run '${taskRunId}' not found in execution '${source.id}'`);
  const revision = ctx.query.get('revision');
  const copy = startExecution(ctx.rt, flow, {
    inputs: { ...source.inputs },
    labels: source.labels.filter((l) => l.key !== 'system.correlationId'),
    revision: revision ? Number(revision) : source.flowRevision,
    originalId: source.originalId,
  });
  // Kept task runs are those before the replayed one (the first step runs after this handler returns).
  copy.taskRunList = source.taskRunList.slice(0, from).map((tr) => ({ ...tr, state: { ...tr.state, histories: tr.state.histories.map((h) => ({ ...h })) } }));
  copy.cursor = from;
  sendJson(ctx, 200, executionJson(copy, 'execution'));
}

function setLabels(ctx: Ctx, p: Record<string, string>): void {
  const e = requireExecution(ctx, p.executionId!);
  let labels: unknown;
  try {
    labels = JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw badRequest('Failed to convert argument [labels]: the body is not JSON');
  }
  if (!Array.isArray(labels)) throw badRequest('Failed to convert argument [labels]: a list of labels is required');
  const given = labels.map((l: unknown) => {
    const { key, value } = (l ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== 'string' || typeof value !== 'string' || !LABEL_KEY.test(key) || value === '') throw badRequest(`Invalid label ${JSON.stringify(l)}`);
    if (key.startsWith('system.')) throw badRequest(`System labels can only be set by Kestra itself, offending label: ${key}=${value}`);
    return { key, value };
  });
  if (!isTerminal(e.state)) throw conflict(`Execution '${e.id}' is not terminated (state ${e.state.current}), its labels cannot be set`);
  e.labels = [...e.labels.filter((l) => !given.some((g) => g.key === l.key)), ...given];
  ctx.rt.store.executionChanged(e);
  sendJson(ctx, 200, executionJson(e, 'execution'));
}

function changeStatusOne(ctx: Ctx, p: Record<string, string>): void {
  const status = terminalStatus(ctx.query.get('status'), 'status');
  const e = requireExecution(ctx, p.executionId!);
  if (!isTerminal(e.state)) throw unprocessable('You can only change the state of a terminated execution.');
  changeStatus(e, status, ctx);
  sendJson(ctx, 200, executionJson(e, 'execution'));
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
const nonTerminal = (e: ExecutionRec) => !isTerminal(e.state);

export const executionActionRoutes: Route[] = [
  { method: 'DELETE', path: `${E}/by-ids`, handler: (ctx) => bulkDelete(ctx, idsFromBody(ctx)) },
  {
    method: 'DELETE',
    path: `${E}/by-query`,
    handler: (ctx) => bulkDelete(ctx, idsFromQuery(ctx, (e) => isTerminal(e.state) || ctx.query.get('includeNonTerminated') === 'true')),
  },
  { method: 'DELETE', path: `${E}/kill/by-ids`, handler: (ctx) => bulkKill(ctx, idsFromBody(ctx)) },
  { method: 'DELETE', path: `${E}/kill/by-query`, handler: (ctx) => bulkKill(ctx, idsFromQuery(ctx, nonTerminal)) },
  { method: 'POST', path: `${E}/change-status/by-ids`, handler: (ctx) => bulkChangeStatus(ctx, idsFromBody(ctx)) },
  { method: 'POST', path: `${E}/change-status/by-query`, handler: (ctx) => bulkChangeStatus(ctx, idsFromQuery(ctx, (e) => isTerminal(e.state))) },
  { method: 'POST', path: `${E}/:executionId/actions/pause`, handler: pause },
  { method: 'POST', path: `${E}/:executionId/actions/restart`, handler: restart },
  { method: 'POST', path: `${E}/:executionId/actions/replay`, handler: replay },
  { method: 'POST', path: `${E}/:executionId/actions/labels`, handler: setLabels },
  { method: 'POST', path: `${E}/:executionId/actions/change-status`, handler: changeStatusOne },
  { method: 'DELETE', path: '/api/v1/:tenant/logs/:executionId', handler: deleteExecutionLogs },
  { method: 'DELETE', path: '/api/v1/:tenant/logs/:namespace/:flowId', handler: deleteFlowLogs },
];
