import type { KestraClient } from '../maintenance/kestra-client.js';
import { underNamespace, type KillSwitchRule } from './kill-switch-rules.js';

/**
 * The executions a kill switch stops now, through Kestra's API (OSS 2.0 ExecutionController: search with
 * `filters[…]`, `DELETE /executions/{id}/actions/kill`). OSS has no graceful cancel: a CANCEL switch kills
 * the executions that have not started running yet (created, queued, paused) and lets running ones finish
 * their run; a KILL switch kills every one not finished (docs/operations.md).
 */
const NOT_STARTED = ['CREATED', 'QUEUED', 'PAUSED', 'BREAKPOINT'];
const UNFINISHED = [...NOT_STARTED, 'SUBMITTED', 'RUNNING', 'RESTARTED', 'RETRYING', 'RESUBMITTED'];
const PAGE_SIZE = 100;
/** At most this many executions are stopped per sweep (a bound, not a quota: the next save sweeps again). */
const MAX_STOPPED = 10_000;

interface ExecutionPage {
  results: Array<{ id?: unknown; namespace?: unknown; flowId?: unknown; state?: { current?: unknown } }>;
  total: number;
}

/** The ids of the executions `rule` stops now. */
export async function executionsToStop(kestra: KestraClient, rule: KillSwitchRule): Promise<string[]> {
  const states = rule.evaluationType === 'KILL' ? UNFINISHED : NOT_STARTED;
  const filters = new URLSearchParams();
  filters.set('filters[state][IN]', states.join(','));
  // Kestra reads PREFIX as SQL LIKE: a narrowing only; every result is checked again below.
  if (rule.namespace !== null) filters.set('filters[namespace][PREFIX]', rule.namespace);
  if (rule.flowId !== null) filters.set('filters[flowId][EQUALS]', rule.flowId);
  const found: string[] = [];
  for (let page = 1, seen = 0; found.length < MAX_STOPPED; page++) {
    filters.set('page', String(page));
    filters.set('size', String(PAGE_SIZE));
    const answer = await kestra.json<ExecutionPage>('GET', `/executions/search?${filters}`);
    const results = answer?.results ?? [];
    for (const e of results) {
      if (typeof e.id !== 'string' || typeof e.namespace !== 'string' || typeof e.state?.current !== 'string') continue;
      if (!states.includes(e.state.current) || !underNamespace(rule, e.namespace)) continue;
      if (rule.flowId !== null && e.flowId !== rule.flowId) continue;
      if (rule.executionIds.length > 0 && !rule.executionIds.includes(e.id)) continue;
      found.push(e.id);
    }
    seen += results.length;
    if (results.length === 0 || seen >= (answer?.total ?? 0)) break;
  }
  return found;
}

/** Kills each execution; those Kestra no longer finds or already stopped are skipped. Returns the ones killed. */
export async function killExecutions(kestra: KestraClient, ids: readonly string[]): Promise<string[]> {
  const killed: string[] = [];
  for (const id of ids) {
    const answer = await kestra.send('DELETE', `/api/v1/main/executions/${encodeURIComponent(id)}/actions/kill`, { accept: 'application/json' });
    if (answer.status >= 200 && answer.status < 300) killed.push(id);
  }
  return killed;
}
