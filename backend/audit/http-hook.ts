import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Resource } from '../../lib/authz/catalogue.js';
import type { PerchContext } from '../context.js';
import type { AuditEntry } from './audit-log.js';
import { entityStatesOf, installEntityStateCapture } from './entity-states.js';
import { actorOf, chainOf, methodAction, outcomeOf, requestFields } from './entry-fields.js';
import '../http/fastify-types.js';

export { requestFields } from './entry-fields.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** POSTs that only read (lookups, searches): never recorded. */
const READ_POSTS = /\/(?:autocomplete|ids|search|find)$/;
/** Perch's own collections, by the path segment after /api/v1/ or /api/v1/{tenant}/. */
const PERCH_COLLECTIONS: Record<string, Resource> = {
  users: 'USER', me: 'USER', roles: 'ROLE', groups: 'GROUP', bindings: 'BINDING',
  'service-accounts': 'SERVICE_ACCOUNT', tokens: 'SERVICE_ACCOUNT', auditlogs: 'AUDITLOG', apps: 'APP',
  // Operations (issue 22): instance-wide settings in EE's grantable resources.
  banners: 'SYSTEM_SETTINGS', 'kill-switches': 'SYSTEM_SETTINGS', instance: 'SYSTEM_SETTINGS',
  namespaces: 'NAMESPACE',
  // Instance infrastructure (/api/v1/instance/…): the catalogue has no worker-group resource.
  'worker-groups': 'SYSTEM_SETTINGS',
  // TENANT and TENANT_ACCESS are not grantable resources: tenants are tenant settings, access is EE 2.0's USER.
  tenants: 'TENANT_SETTINGS', 'tenant-access': 'USER',
};

/**
 * Perch routes whose resource is not their collection's (a secret under /namespaces/{ns}/secrets):
 * the feature says which resource, id and namespace an entry names.
 */
export interface PerchRouteEntry {
  resource: Resource;
  id: (params: Record<string, string>, body: unknown) => string | null;
  namespace?: (params: Record<string, string>) => string | null;
}
const PERCH_ROUTES = new Map<string, PerchRouteEntry>();

/** A feature hands the audit log how to name the entries of its routes (as registered). */
export function auditPerchRoutes(routes: Record<string, PerchRouteEntry>): void {
  for (const [route, entry] of Object.entries(routes)) PERCH_ROUTES.set(route, entry);
}

function jsonId(payload: unknown): string | null {
  if (typeof payload !== 'string' || !payload.startsWith('{') && !payload.startsWith('[')) return null;
  try {
    const body = JSON.parse(payload) as { id?: unknown; uid?: unknown } | Array<{ id?: unknown }>;
    if (Array.isArray(body)) return body.map((b) => b?.id).filter((id) => typeof id === 'string').join(',') || null;
    // EE's apps are named by a `uid` (their `id` is the author's).
    if (typeof body?.uid === 'string') return body.uid;
    return typeof body?.id === 'string' ? body.id : null;
  } catch {
    return null;
  }
}

/** Perch's own API: resource from the route, id from its params or the answer. */
function perchEntry(ctx: PerchContext, request: FastifyRequest, status: number, payload: unknown): AuditEntry | null {
  const route = request.routeOptions.url ?? '';
  const m = /^\/api\/v1\/(?::tenant\/|instance\/)?([a-z-]+)(\/.*)?$/.exec(route);
  const named = PERCH_ROUTES.get(route);
  const resource = named?.resource ?? (m ? PERCH_COLLECTIONS[m[1]!] : undefined);
  if (!m || !resource) return null;
  const params = (request.params ?? {}) as Record<string, string>;
  const tenant = route.startsWith('/api/v1/:tenant/') ? params.tenant ?? null : null;
  const isMe = m[1] === 'me';
  const id = isMe ? request.principal?.userId ?? null : params.id ?? (status < 300 ? jsonId(payload) : null);
  const rest = m[2] ?? '';
  // A named route says what it is itself (its pattern may hold a regular expression).
  const subresource = named ? undefined : rest.replace(/^\/:id/, '').replace(/^\//, '') || undefined;
  const hasId = isMe || rest.startsWith('/:id') || subresource !== undefined;
  const { tenant: _t, id: _id, ...otherParams } = params;
  const { tenantId, unknownTenant } = chainOf(tenant, (id) => ctx.tenants.get(id) !== undefined);
  return {
    tenantId,
    actor: actorOf(request),
    action: methodAction(request.method, hasId),
    resourceType: resource,
    resourceId: named ? named.id(params, request.body) : id,
    ...(named?.namespace ? { namespace: named.namespace(params) } : {}),
    ...requestFields(request),
    outcome: outcomeOf(status),
    details: { method: request.method, path: request.canonical.path, ...(unknownTenant ? { tenant: unknownTenant } : {}), ...(subresource ? { subresource } : {}), ...otherParams, request: request.body ?? null },
  };
}

/**
 * How a Kestra call through the proxy is recorded, or null when it is not: told by the proxy, which
 * knows Kestra's operations and the states a call changed (proxy/audit-entry.ts).
 */
export type KestraCallEntry = (request: FastifyRequest, status: number) => Promise<AuditEntry | null>;
let kestraCallEntry: KestraCallEntry = async () => null;

/** The proxy hands the audit log how its calls are recorded; the audit log reads no policy map itself. */
export function auditKestraCalls(entryOf: KestraCallEntry): void {
  kestraCallEntry = entryOf;
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
      entry = await kestraCallEntry(request, status);
    } else if (path.startsWith('/api/v1/')) {
      if (READ_POSTS.test(request.routeOptions.url ?? path)) return payload;
      if (status >= 400 && status !== 403) return payload; // nothing changed
      entry = perchEntry(ctx, request, status, payload);
      // A user, role, group… created, updated or deleted: its state before and after (issue 6, point 2).
      const states = entry ? await entityStatesOf(ctx, request, status, entry.resourceId ?? null) : undefined;
      if (entry && states) entry.states = states;
    }
    if (entry) await ctx.audit.record(entry);
    return payload;
  });
}
