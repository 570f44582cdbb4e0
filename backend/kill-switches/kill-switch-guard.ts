import type { FastifyRequest } from 'fastify';
import { actorOf, requestFields } from '../audit/entry-fields.js';
import { matchPolicy } from '../authz/policy-map.js';
import type { PerchContext } from '../context.js';
import type { KestraClient } from '../maintenance/kestra-client.js';
import { isNewWork } from '../maintenance/stopped-work.js';
import { announceOperations, followOperations } from '../maintenance/operations-feed.js';
import type { Admission, AdmissionCall } from '../proxy/admission.js';
import { listKillSwitches } from './kill-switch-store.js';
import { inWindow, matches, toRule, type KillSwitchRule, type Target } from './kill-switch-rules.js';
import { executionsToStop, killExecutions } from './running-executions.js';

/**
 * Kill switches at Perch's door (issue 22, point 2): the enabled rules are kept in memory on each
 * replica (re-read when another replica announces a change); a call that would start new work in a
 * rule's scope is refused, and saving a rule stops the matching executions running in Kestra.
 */
export class KillSwitchGuard implements Admission {
  private rules: KillSwitchRule[] = [];

  constructor(
    private readonly ctx: PerchContext,
    private readonly kestra: KestraClient,
  ) {}

  async refresh(): Promise<void> {
    this.rules = (await listKillSwitches(this.ctx.db)).map(toRule).filter((r): r is KillSwitchRule => r !== null);
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
    const killed = await killExecutions(this.kestra, await executionsToStop(this.kestra, rule));
    if (killed.length > 0) {
      await this.ctx.audit.record({
        tenantId: 'main',
        actor: actorOf(request),
        action: 'UPDATE',
        resourceType: 'EXECUTION',
        resourceId: killed.join(','),
        namespace: rule.namespace,
        ...requestFields(request),
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
}

/** What the call starts: a new execution of a flow (create, webhook), or new runs of existing executions. */
function targetOf(call: AdmissionCall): Target {
  const params = matchPolicy(call.request.method, call.request.canonical.path)?.params ?? {};
  const namespaces = params.namespace ? [params.namespace] : call.namespaces;
  if (params.executionId) return { namespaces, executionId: params.executionId, newExecution: false };
  if (params.namespace && params.id) return { namespaces, flowId: params.id, newExecution: true };
  return { namespaces, newExecution: false };
}
