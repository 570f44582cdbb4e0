import type { FastifyRequest } from 'fastify';
import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, requestFields } from '../audit/entry-fields.js';
import { matchPolicy } from '../authz/policy-map.js';
import type { PerchContext } from '../context.js';
import type { KestraClient } from '../maintenance/kestra-client.js';
import { isNewWork } from '../maintenance/stopped-work.js';
import { announceOperations, followOperations } from '../maintenance/operations-feed.js';
import type { Admission, AdmissionCall, NewExecutionRefusal } from '../proxy/admission.js';
import { listKillSwitches } from './kill-switch-store.js';
import { inWindow, matches, toRule, type KillSwitchRule, type Target } from './kill-switch-rules.js';
import { executionsToStop, killExecutions } from './running-executions.js';

/** How often the switches in force look again for executions to stop (those Kestra started itself: schedules, flow triggers). */
const SWEEP_EVERY_MS = 60_000;
/** setTimeout's longest delay. */
const MAX_DELAY_MS = 2 ** 31 - 1;

type Who = Pick<AuditEntry, 'actor' | 'requestId' | 'ip' | 'userAgent'>;
const PERCH: Who = { actor: { type: 'SYSTEM', email: null }, requestId: null, ip: null, userAgent: null };

/**
 * Kill switches at Perch's door (issue 22, point 2): the enabled rules are kept in memory on each
 * replica (re-read when another replica announces a change); a call that would start new work in a
 * rule's scope is refused. Saving a rule stops the matching executions running in Kestra; so does its
 * start date when it comes, and a sweep every minute while rules are in force (executions Kestra starts
 * by itself never pass Perch's door).
 */
export class KillSwitchGuard implements Admission {
  private rules: KillSwitchRule[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: PerchContext,
    private readonly kestra: KestraClient,
  ) {}

  async refresh(): Promise<void> {
    this.rules = (await listKillSwitches(this.ctx.db)).map(toRule).filter((r): r is KillSwitchRule => r !== null);
    this.schedule();
  }

  /** The next sweep: in a minute while a rule is in force, else at the next start date (if any). */
  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    const starts = this.rules.filter((r) => r.start > now).map((r) => r.start - now);
    const delay = Math.min(...(this.rules.some((r) => inWindow(r, now)) ? [SWEEP_EVERY_MS] : []), ...starts);
    if (!Number.isFinite(delay)) return;
    this.timer = setTimeout(() => void this.sweep(), Math.min(Math.max(delay, 0), MAX_DELAY_MS)).unref();
  }

  private async sweep(): Promise<void> {
    try {
      for (const rule of this.rules.filter((r) => inWindow(r, Date.now()))) await this.stopRunning(rule, PERCH);
    } catch (error) {
      this.ctx.log.warn({ err: error }, 'a kill switch could not stop running executions; trying again at the next sweep');
    } finally {
      this.schedule();
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  follow(): void {
    followOperations(this.ctx, 'kill-switches', () => this.refresh());
  }

  /** After a change: this replica's rules at once, the others' through the change feed. */
  async changed(): Promise<void> {
    await this.refresh();
    await announceOperations(this.ctx, 'kill-switches');
  }

  /**
   * Stops the executions `id`'s rule matches now (if it is enabled and in its window), recording who
   * did it. Kestra's failures propagate: the caller answers them.
   */
  async enforce(id: string, request: FastifyRequest): Promise<string[]> {
    const rule = this.rules.find((r) => r.id === id);
    if (!rule || !inWindow(rule, Date.now())) return [];
    return this.stopRunning(rule, { actor: actorOf(request), ...requestFields(request) });
  }

  private async stopRunning(rule: KillSwitchRule, who: Who): Promise<string[]> {
    const killed = await killExecutions(this.kestra, await executionsToStop(this.kestra, rule));
    if (killed.length > 0) {
      await this.ctx.audit.record({
        tenantId: 'main',
        ...who,
        action: 'UPDATE',
        resourceType: 'EXECUTION',
        resourceId: killed.join(','),
        namespace: rule.namespace,
        outcome: 'SUCCESS',
        details: { permission: 'EXECUTION:KILL', killSwitch: rule.id, evaluationType: rule.evaluationType, executions: killed },
      });
    }
    return killed;
  }

  concerns(row: AdmissionCall['row']): boolean {
    return this.rules.length > 0 && isNewWork(row);
  }

  async stops(call: AdmissionCall): Promise<boolean> {
    const now = Date.now();
    const target = targetOf(call);
    const rule = this.rules.find((r) => matches(r, target, now));
    if (!rule) return false;
    call.reply
      .code(403)
      .header('cache-control', 'no-store')
      .send({ message: `Refused by kill switch "${rule.name}" (${rule.evaluationType}): no new execution starts in its scope until it ends or is disabled`, killSwitch: rule.id });
    return true;
  }

  refusesNewExecution(namespace: string, flowId: string): NewExecutionRefusal | null {
    const rule = this.rules.find((r) => matches(r, { namespaces: [namespace], flowId, newExecution: true }, Date.now()));
    return rule ? { status: 403, message: `Refused by kill switch "${rule.name}" (${rule.evaluationType}): no new execution starts in its scope until it ends or is disabled` } : null;
  }
}

/** What the call starts: a new execution of a flow (create, webhook), or new runs of existing executions. */
function targetOf(call: AdmissionCall): Target {
  const params = matchPolicy(call.request.method, call.request.canonical.path)?.params ?? {};
  const namespaces = params.namespace ? [params.namespace] : call.namespaces;
  if (params.executionId) return { namespaces, executionId: params.executionId, newExecution: false };
  if (params.namespace && params.id) return { namespaces, flowId: params.id, newExecution: true };
  return { namespaces, newExecution: false };
}
