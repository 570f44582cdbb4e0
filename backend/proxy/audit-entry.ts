import type { FastifyRequest } from 'fastify';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import type { AuditAction } from '../../lib/schemas/audit.js';
import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, chainOf, methodAction, outcomeOf, requestFields } from '../audit/entry-fields.js';
import { matchPolicy, type PolicyRow } from '../authz/policy-map.js';
import { resourceChangeOf } from './resource-states.js';
import '../http/fastify-types.js';

/*
 * What the audit log records of a Kestra call through the proxy: the proxy knows the operation (its
 * policy row) and the states it changed (resource-states.ts), and hands the entry to the audit hook
 * (audit/http-hook.ts, `auditKestraCalls`), which decides when a call is recorded at all.
 */

/** Permission actions that change state, and the audit action each is recorded as. */
const CHANGE_ACTIONS: Partial<Record<Action, AuditAction>> = {
  CREATE: 'CREATE', UPDATE: 'UPDATE', DELETE: 'DELETE', EXECUTE: 'EXECUTE',
  RESTART: 'UPDATE', KILL: 'UPDATE', REPLAY: 'EXECUTE', PAUSE: 'UPDATE', RESUME: 'UPDATE', UNQUEUE: 'UPDATE', FORCE_RUN: 'EXECUTE',
  CHANGE_LABELS: 'UPDATE', IMPORT: 'CREATE', DISABLE: 'UPDATE', ENABLE: 'UPDATE', UNLOCK: 'UPDATE', LOCK: 'UPDATE', BACKFILL: 'UPDATE',
  MANAGE_FILES: 'UPDATE', MANAGE_MEMBERS: 'UPDATE', MANAGE_GROUP_MEMBERSHIP: 'UPDATE',
};
/** Path parameters that name the target, most specific first. */
const ID_PARAMS = ['key', 'executionId', 'triggerId', 'id', 'flowId'];

/** Whether Kestra accepted the call and Perch passed its answer on: only then are states kept. */
const changeSucceeded = (request: FastifyRequest, status: number) => {
  const upstream = request.kestraCall?.upstreamStatus;
  return status < 300 && upstream !== undefined && upstream < 300;
};

/** A Kestra call through the proxy: what the policy row says it is, with Kestra's answer and the states it changed. */
export async function kestraCallEntry(request: FastifyRequest, status: number): Promise<AuditEntry | null> {
  const change = await resourceChangeOf(request, changeSucceeded(request, status));
  const match = matchPolicy(request.method, request.canonical.path);
  const row: PolicyRow | undefined = request.kestraCall?.row ?? match?.row;
  if (!row) return null;
  const params = { ...(match?.params ?? {}) };
  let resource: Resource;
  let action: AuditAction | undefined;
  let actor = actorOf(request);
  if (row.access === 'permission') {
    resource = row.resource;
    action = CHANGE_ACTIONS[row.action];
  } else if (row.path.includes('/executions/webhook/')) {
    // The webhook key is a shared secret: never recorded.
    delete params.key;
    delete params.path;
    resource = 'FLOW';
    action = 'EXECUTE';
    if (!request.principal) actor = { type: 'ANONYMOUS' };
  } else if (row.path.includes('/mcp/servers')) {
    resource = 'MCP_SERVER';
    action = methodAction(request.method, params.id !== undefined);
  } else {
    return null;
  }
  if (!action) return null;
  const namespace = request.kestraCall?.namespaces[0] ?? params.namespace ?? null;
  const idParam = ID_PARAMS.find((name) => params[name] !== undefined);
  const upstream = request.kestraCall?.upstreamStatus ?? null;
  const { tenant, ...detailParams } = params;
  // A call routed to another tenant's Kestra (its path rewritten to main) goes to that tenant's chain.
  const { tenantId, unknownTenant } = chainOf(request.routedTenant ?? tenant ?? match?.tenant, (id) => request.server.tenantDirectory.get(id) !== undefined);
  // A flow, KV entry, trigger or namespace file changed: its state before and after (issue 6, point 2).
  return {
    tenantId,
    actor,
    action,
    resourceType: resource,
    resourceId: idParam ? params[idParam] : change?.id ?? null,
    namespace: namespace ?? change?.namespace ?? null,
    ...(change?.states ? { states: change.states } : {}),
    ...requestFields(request),
    outcome: outcomeOf(status),
    upstreamStatus: upstream,
    details: {
      method: request.method,
      path: row.path,
      ...(row.access === 'permission' ? { permission: `${row.resource}:${row.action}` } : {}),
      ...(unknownTenant ? { tenant: unknownTenant } : {}),
      ...detailParams,
      ...(request.kestraCall && request.kestraCall.namespaces.length > 1 ? { namespaces: request.kestraCall.namespaces } : {}),
      ...(upstream === null && status >= 400 ? { perchStatus: status } : {}),
      ...change?.details,
    },
  };
}
