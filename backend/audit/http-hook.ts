import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import { INSTANCE_CHAIN, type AuditAction, type AuditOutcome } from '../../lib/schemas/audit.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { matchPolicy, type PolicyRow } from '../authz/policy-map.js';
import type { PerchContext } from '../context.js';
import type { AuditEntry } from './audit-log.js';
import { entityStatesOf, installEntityStateCapture } from './entity-states.js';
import { resourceChangeOf, type ResourceChange } from './resource-states.js';
import '../http/fastify-types.js';
import '../http/client-address.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** POSTs that only read (lookups, searches): never recorded. */
const READ_POSTS = /\/(?:autocomplete|ids|search|find)$/;
/** Permission actions that change state, and the audit action each is recorded as. */
const CHANGE_ACTIONS: Partial<Record<Action, AuditAction>> = {
  CREATE: 'CREATE', UPDATE: 'UPDATE', DELETE: 'DELETE', EXECUTE: 'EXECUTE',
  RESTART: 'UPDATE', KILL: 'UPDATE', REPLAY: 'EXECUTE', PAUSE: 'UPDATE', RESUME: 'UPDATE', UNQUEUE: 'UPDATE', FORCE_RUN: 'EXECUTE',
  CHANGE_LABELS: 'UPDATE', IMPORT: 'CREATE', DISABLE: 'UPDATE', ENABLE: 'UPDATE', UNLOCK: 'UPDATE', LOCK: 'UPDATE', BACKFILL: 'UPDATE',
  MANAGE_FILES: 'UPDATE', MANAGE_MEMBERS: 'UPDATE', MANAGE_GROUP_MEMBERSHIP: 'UPDATE',
};
/** Perch's own collections, by the path segment after /api/v1/ or /api/v1/{tenant}/. */
const PERCH_COLLECTIONS: Record<string, Resource> = {
  users: 'USER', me: 'USER', roles: 'ROLE', groups: 'GROUP', bindings: 'BINDING',
  'service-accounts': 'SERVICE_ACCOUNT', tokens: 'SERVICE_ACCOUNT', auditlogs: 'AUDITLOG',
};
/** Path parameters that name the target, most specific first. */
const ID_PARAMS = ['key', 'executionId', 'triggerId', 'id', 'flowId'];

function methodAction(method: string, hasId: boolean): AuditAction {
  if (method === 'DELETE') return 'DELETE';
  if (method === 'POST' && !hasId) return 'CREATE';
  return 'UPDATE';
}

function actorOf(request: FastifyRequest): AuditEntry['actor'] {
  const p = request.principal as (FastifyRequest['principal'] & { actorType?: string }) | null;
  if (!p) return { type: 'ANONYMOUS' };
  return { type: p.actorType === 'SERVICE_ACCOUNT' ? 'SERVICE_ACCOUNT' : 'USER', id: p.userId, email: p.email };
}

/** Where a request came from, as every audit entry records it. */
export function requestFields(request: FastifyRequest) {
  const ua = request.headers['user-agent'];
  return { requestId: String(request.id), ip: request.clientAddress, userAgent: typeof ua === 'string' ? ua : null };
}

function outcomeOf(status: number): AuditOutcome {
  return status === 403 ? 'REFUSED' : status >= 400 ? 'FAILURE' : 'SUCCESS';
}

function jsonId(payload: unknown): string | null {
  if (typeof payload !== 'string' || !payload.startsWith('{') && !payload.startsWith('[')) return null;
  try {
    const body = JSON.parse(payload) as { id?: unknown } | Array<{ id?: unknown }>;
    if (Array.isArray(body)) return body.map((b) => b?.id).filter((id) => typeof id === 'string').join(',') || null;
    return typeof body?.id === 'string' ? body.id : null;
  } catch {
    return null;
  }
}

/**
 * The chain an entry goes to: its tenant's when that tenant exists, else the instance chain (with the
 * tenant asked for in its details). A refused call may name any tenant in its path; a chain per name
 * would let anyone start chains at will.
 */
function chainOf(requested: string | null | undefined): { tenantId: string; unknownTenant?: string } {
  if (requested == null || requested === DEFAULT_TENANT) return { tenantId: requested ?? INSTANCE_CHAIN };
  return { tenantId: INSTANCE_CHAIN, unknownTenant: requested };
}

/** Perch's own API: resource from the route, id from its params or the answer. */
function perchEntry(request: FastifyRequest, status: number, payload: unknown): AuditEntry | null {
  const route = request.routeOptions.url ?? '';
  const m = /^\/api\/v1\/(?::tenant\/)?([a-z-]+)(\/.*)?$/.exec(route);
  const resource = m ? PERCH_COLLECTIONS[m[1]!] : undefined;
  if (!m || !resource) return null;
  const params = (request.params ?? {}) as Record<string, string>;
  const tenant = route.startsWith('/api/v1/:tenant/') ? params.tenant ?? null : null;
  const isMe = m[1] === 'me';
  const id = isMe ? request.principal?.userId ?? null : params.id ?? (status < 300 ? jsonId(payload) : null);
  const rest = m[2] ?? '';
  const subresource = rest.replace(/^\/:id/, '').replace(/^\//, '') || undefined;
  const hasId = isMe || rest.startsWith('/:id') || subresource !== undefined;
  const { tenant: _t, id: _id, ...otherParams } = params;
  const { tenantId, unknownTenant } = chainOf(tenant);
  return {
    tenantId,
    actor: actorOf(request),
    action: methodAction(request.method, hasId),
    resourceType: resource,
    resourceId: id,
    ...requestFields(request),
    outcome: outcomeOf(status),
    details: { method: request.method, path: request.canonical.path, ...(unknownTenant ? { tenant: unknownTenant } : {}), ...(subresource ? { subresource } : {}), ...otherParams, request: request.body ?? null },
  };
}

/** Whether Kestra accepted the call and Perch passed its answer on: only then are states kept. */
const changeSucceeded = (request: FastifyRequest, status: number) => {
  const upstream = request.kestraCall?.upstreamStatus;
  return status < 300 && upstream !== undefined && upstream < 300;
};

/** A Kestra call through the proxy: what the policy row says it is, with Kestra's answer. */
function kestraEntry(request: FastifyRequest, status: number, change: ResourceChange | undefined): AuditEntry | null {
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
  const { tenantId, unknownTenant } = chainOf(tenant ?? match?.tenant);
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

/**
 * Records every state-changing call before its answer leaves: an `onSend` hook awaits the group
 * commit holding the entry, so a change Perch acknowledged is in the log (and an entry that cannot be
 * written turns the answer into a 500 instead). Sign-in and sign-out are recorded by their routes.
 *
 * What is recorded: Perch's own writes that succeeded; Kestra writes the proxy let through, with
 * Kestra's status whatever it was; and refusals (403) of any write.
 */
export function installAuditHook(app: FastifyInstance, ctx: PerchContext): void {
  // An error answer sent because recording failed passes through onSend again: once is enough.
  const attempted = new WeakSet<FastifyRequest>();
  installEntityStateCapture(app, ctx);
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (READ_METHODS.has(request.method) || !request.canonical || attempted.has(request)) return payload;
    attempted.add(request);
    if (request.routeOptions.config?.access === 'public' && !request.routeOptions.url?.startsWith('/api/v1/*')) return payload;
    const path = request.canonical.path;
    const status = reply.statusCode;
    let entry: AuditEntry | null = null;
    const isProxy = request.kestraCall !== null || request.routeOptions.url === '/api/v1/*';
    if (isProxy) {
      if (status === 401) return payload;
      if (request.kestraCall === null && status !== 403) return payload; // refused before it was understood: 400, 404…
      if (READ_POSTS.test(path) && status !== 403) return payload;
      entry = kestraEntry(request, status, await resourceChangeOf(request, changeSucceeded(request, status)));
    } else if (path.startsWith('/api/v1/')) {
      if (READ_POSTS.test(request.routeOptions.url ?? path)) return payload;
      if (status >= 400 && status !== 403) return payload; // nothing changed
      entry = perchEntry(request, status, payload);
      // A user, role, group… created, updated or deleted: its state before and after (issue 6, point 2).
      const states = entry ? await entityStatesOf(ctx, request, status, entry.resourceId ?? null) : undefined;
      if (entry && states) entry.states = states;
    }
    if (entry) await ctx.audit.record(entry);
    return payload;
  });
}
