import { KESTRA_TENANT } from '../authz/policy-map.js';
import type { KillSwitchesTable } from '../store/schema.js';

/**
 * Kill switches as the proxy matches them, from memory. Scope narrows from tenant to namespace (and its
 * children) to flow to execution ids (EE: tenant ⊃ namespace ⊃ flow ⊃ executions). What a call
 * targets but Perch cannot tell at once (a bulk replay by query, the flow of an execution) counts as
 * matching: a kill switch fails closed.
 */
export interface KillSwitchRule {
  id: string;
  name: string;
  evaluationType: 'KILL' | 'CANCEL';
  tenantId: string | null;
  namespace: string | null;
  flowId: string | null;
  executionIds: readonly string[];
  start: number;
  end: number | null;
}

/** What a call starts or touches, as far as Perch knows before forwarding it. */
export interface Target {
  /** Unknown (empty): any namespace. */
  namespaces: readonly string[];
  flowId?: string;
  executionId?: string;
  /** True when the call starts a brand-new execution (not one of existing ids). */
  newExecution: boolean;
}

export const toRule = (row: KillSwitchesTable): KillSwitchRule | null =>
  row.enabled === 1 && row.deleted === 0 && (row.evaluation_type === 'KILL' || row.evaluation_type === 'CANCEL')
    ? {
        id: row.id,
        name: row.name,
        evaluationType: row.evaluation_type,
        tenantId: row.tenant_id,
        namespace: row.namespace,
        flowId: row.flow_id,
        executionIds: JSON.parse(row.execution_ids) as string[],
        start: Number(row.start_date),
        end: row.end_date === null ? null : Number(row.end_date),
      }
    : null;

export const inWindow = (rule: KillSwitchRule, now: number) => rule.start <= now && (rule.end === null || now < rule.end);

/** `namespace` is the rule's namespace or one of its children. */
export const underNamespace = (rule: KillSwitchRule, namespace: string) => rule.namespace === null || namespace === rule.namespace || namespace.startsWith(`${rule.namespace}.`);

export function matches(rule: KillSwitchRule, target: Target, now: number): boolean {
  if (!inWindow(rule, now)) return false;
  if (rule.tenantId !== null && rule.tenantId !== KESTRA_TENANT) return false;
  if (rule.namespace !== null && target.namespaces.length > 0 && !target.namespaces.some((ns) => underNamespace(rule, ns))) return false;
  if (rule.flowId !== null && target.flowId !== undefined && target.flowId !== rule.flowId) return false;
  if (rule.executionIds.length > 0) {
    if (target.newExecution) return false;
    if (target.executionId !== undefined && !rule.executionIds.includes(target.executionId)) return false;
  }
  return true;
}
