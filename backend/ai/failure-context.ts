import type { Principal } from '../auth/sessions.js';
import type { KestraAuthorizer } from '../authz/kestra-authorizer.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import { conflict, HttpError } from '../http/errors.js';
import type { CopilotKestra } from './kestra-grounding.js';
import type { Redaction } from './secret-redaction.js';

/**
 * What the copilot reads of a failed execution, as the person asking may read it: the proxy's own
 * decision for each read (the execution: EXECUTION VIEW; its logs: ACCESS_LOGS; its flow: FLOW VIEW,
 * each in the execution's namespace), then Kestra's answers with Perch's account. Logs are bounded
 * (the last lines, each line and the whole capped) and every text of the run goes through the
 * tenant's secret redaction before it may reach a provider.
 */

/** At most this many log lines (the last ones) go into a prompt. */
export const MAX_LOG_LINES = 200;
/** One log line is cut after this many characters. */
export const MAX_LOG_LINE_CHARS = 2_000;
/** The log lines of a prompt together: the oldest go first beyond this. */
export const MAX_LOG_CHARS = 24_000;

const seg = encodeURIComponent;

export interface FailedExecution {
  id: string;
  namespace: string;
  flowId: string;
  flowRevision: number | null;
  /** The flow's current source (what a fix changes). */
  flowSource: string;
  /** The failure as the model reads it: failed task runs and the last log lines, redacted. */
  failure: string;
  logLines: number;
  logLinesLeftOut: number;
}

interface ExecutionJson {
  id?: unknown;
  namespace?: unknown;
  flowId?: unknown;
  flowRevision?: unknown;
  state?: { current?: unknown };
  taskRunList?: Array<{ id?: unknown; taskId?: unknown; state?: { current?: unknown }; attempts?: unknown[] }>;
}
interface LogJson { timestamp?: unknown; level?: unknown; taskId?: unknown; message?: unknown }

async function allowed(authorizer: KestraAuthorizer, principal: Principal, path: string, what: string): Promise<void> {
  const verdict = await authorizer.authorize({ method: 'GET', path, query: '', contentType: undefined, principal, readBody: async () => Buffer.alloc(0) });
  if (!verdict.ok) throw new HttpError(verdict.status, `${what}: ${verdict.message}`, verdict.details);
}

/** The last lines that fit the bounds, oldest first; how many were left out. */
export function boundedLogLines(logs: LogJson[], redaction: Redaction): { lines: string[]; leftOut: number } {
  const lines: string[] = [];
  let chars = 0;
  for (let i = logs.length - 1; i >= 0 && lines.length < MAX_LOG_LINES; i--) {
    const log = logs[i]!;
    const message = String(log.message ?? '');
    const cut = message.length > MAX_LOG_LINE_CHARS ? `${message.slice(0, MAX_LOG_LINE_CHARS)}…` : message;
    const line = redaction.redact(`${String(log.timestamp ?? '')} ${String(log.level ?? '')} [${String(log.taskId ?? '-')}] ${cut}`);
    if (chars + line.length > MAX_LOG_CHARS && lines.length > 0) break;
    chars += line.length + 1;
    lines.push(line);
  }
  return { lines: lines.reverse(), leftOut: logs.length - lines.length };
}

export async function readFailedExecution(
  { authorizer, kestra }: CopilotKestra,
  principal: Principal,
  executionId: string,
  redaction: () => Promise<Redaction>,
): Promise<FailedExecution> {
  const executionPath = `/api/v1/${KESTRA_TENANT}/executions/${seg(executionId)}`;
  await allowed(authorizer, principal, executionPath, `Reading execution ${executionId}`);
  const execution = (await kestra.read(executionPath, `execution ${executionId}`)) as ExecutionJson;
  const namespace = String(execution?.namespace ?? '');
  const flowId = String(execution?.flowId ?? '');
  if (!namespace || !flowId) throw new HttpError(502, `Kestra's answer for execution ${executionId} names no flow`);
  const state = String(execution.state?.current ?? '');
  if (state !== 'FAILED') throw conflict(`Execution ${executionId} is ${state || 'in no known state'}, not FAILED: there is no failure to explain or fix`);
  const logsPath = `/api/v1/${KESTRA_TENANT}/logs/${seg(executionId)}`;
  const flowPath = `/api/v1/${KESTRA_TENANT}/flows/${seg(namespace)}/${seg(flowId)}`;
  await allowed(authorizer, principal, logsPath, `Reading the logs of execution ${executionId}`);
  await allowed(authorizer, principal, flowPath, `Reading flow ${namespace}.${flowId}`);
  const [logs, flow, redact] = await Promise.all([kestra.read(`${logsPath}?minLevel=INFO`, `logs of execution ${executionId}`), kestra.read(flowPath, `flow ${namespace}.${flowId}`), redaction()]);
  const flowSource = (flow as { source?: unknown })?.source;
  if (typeof flowSource !== 'string') throw new HttpError(502, `Kestra's answer for flow ${namespace}.${flowId} has no source`);

  const failed = (execution.taskRunList ?? []).filter((t) => t?.state?.current === 'FAILED');
  const { lines, leftOut } = boundedLogLines(Array.isArray(logs) ? (logs as LogJson[]) : [], redact);
  const revision = typeof execution.flowRevision === 'number' ? execution.flowRevision : null;
  const failure = [
    `Execution ${executionId} of flow ${namespace}.${flowId}${revision !== null ? ` (revision ${revision})` : ''} FAILED.`,
    failed.length > 0
      ? `Failed task runs:\n${failed.map((t) => `- task ${String(t.taskId)} (task run ${String(t.id)}), ${Array.isArray(t.attempts) ? t.attempts.length : 0} attempt(s)`).join('\n')}`
      : 'No task run is marked FAILED (the execution itself failed).',
    `Its last log lines (INFO and above${leftOut > 0 ? `; ${leftOut} earlier line(s) left out` : ''}):\n${lines.join('\n') || '(none)'}`,
  ].join('\n\n');
  return { id: executionId, namespace, flowId, flowRevision: revision, flowSource, failure, logLines: lines.length, logLinesLeftOut: leftOut };
}
