import type { Banner } from '../../lib/schemas/ui-config.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { listKillSwitches } from './kill-switch-store.js';
import { inWindow, toRule, type KillSwitchRule } from './kill-switch-rules.js';

/**
 * The notices of the kill switches in force (EE shows them as banners): a tenant-wide one to everyone, a
 * namespace one only to instance owners and people who may see flows or executions there, so that a
 * namespace's name reaches nobody who could not see it anyway.
 */
export async function killSwitchBanners(ctx: PerchContext, principal: Principal | null, now: number): Promise<Banner[]> {
  if (!principal) return [];
  const concerns = (rule: KillSwitchRule) =>
    rule.namespace === null ||
    principal.superAdmin ||
    ctx.authz.allows(KESTRA_TENANT, principal.userId, 'FLOW', 'VIEW', rule.namespace) ||
    ctx.authz.allows(KESTRA_TENANT, principal.userId, 'EXECUTION', 'VIEW', rule.namespace);
  return (await listKillSwitches(ctx.db))
    .map(toRule)
    .filter((rule): rule is KillSwitchRule => rule !== null && inWindow(rule, now) && concerns(rule))
    .map((rule) => ({
      id: `kill-switch-${rule.id}`,
      type: rule.evaluationType === 'KILL' ? 'ERROR' : 'WARNING',
      message: `Kill switch “${rule.name}” (${rule.evaluationType}): no new execution starts ${rule.flowId ? `for flow ${rule.namespace}.${rule.flowId}` : rule.namespace ? `in namespace ${rule.namespace}` : 'anywhere'}${rule.executionIds.length ? ' (some executions)' : ''}`,
      startDate: new Date(rule.start).toISOString(),
      endDate: rule.end === null ? null : new Date(rule.end).toISOString(),
    }));
}
