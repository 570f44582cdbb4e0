import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PerchContext } from '../context.js';
import type { AuditEntry } from './audit-log.js';

/*
 * Before/after of Perch's own entities (issue 6, point 2): for creations, updates and deletes of users,
 * service accounts, roles, groups (memberships included) and bindings, the entity is read in its EE
 * API shape (the same serializers the API answers with: no password hash, no token) just before the
 * handler runs (not for a creation), and again once it answered (not for a DELETE). Both go to
 * `audit_states` with the entry. The features that own the entities say how to read them
 * ({@link auditEntityStates}).
 */

/** Reads an entity in its API shape, or null when it does not exist. */
export type EntityLoader = (ctx: PerchContext, params: Record<string, string>, tenant: string) => Promise<object | null>;

/**
 * How one route's entity is read. `deletesPart`: a DELETE there removes a part of the entity (an auth
 * method), so it still has an after.
 */
export interface EntityRoute {
  kind: string;
  load: EntityLoader;
  deletesPart?: boolean;
  /** The id of an entity its route does not name (one per tenant, such as a tenant's settings). */
  id?: string;
}

/** Route (as registered) → the kind of state and how to read it. Filled by the features that own the entities. */
const ENTITY_ROUTES = new Map<string, EntityRoute>();
/** Collection route (as registered) → the entity a POST there creates; its id comes from the entry. */
const CREATE_ROUTES = new Map<string, EntityRoute>();
const CHANGE_METHODS = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/**
 * A feature hands the audit log how to read its entities: `changes` are the routes whose PUT, PATCH
 * or DELETE changes one entity (named by `:id`, or the caller on `/api/v1/me…`), `creates` the
 * collection routes whose POST creates one. The audit log reads no feature's store itself.
 */
export function auditEntityStates(changes: Record<string, EntityRoute>, creates: Record<string, EntityRoute> = {}): void {
  for (const [route, entity] of Object.entries(changes)) ENTITY_ROUTES.set(route, entity);
  for (const [route, entity] of Object.entries(creates)) CREATE_ROUTES.set(route, entity);
}

interface Capture extends EntityRoute {
  params: Record<string, string>;
  tenant: string;
  before: string | null;
}
const captures = new WeakMap<FastifyRequest, Capture>();

const pretty = (value: object | null) => (value === null ? null : JSON.stringify(value, null, 2));

async function read(ctx: PerchContext, capture: Capture): Promise<string | null> {
  try {
    return pretty(await capture.load(ctx, capture.params, capture.tenant));
  } catch (error) {
    ctx.log.warn({ err: error }, `could not read the ${capture.kind} state for the audit log`);
    return null;
  }
}

/** Reads the state before, for the changes listed above. Never fails the call. */
export function installEntityStateCapture(app: FastifyInstance, ctx: PerchContext): void {
  app.addHook('preHandler', async (request: FastifyRequest) => {
    // A POST on an entity's own route (an app's enable/disable) changes it, like a PUT.
    if (request.method === 'POST' && !ENTITY_ROUTES.has(request.routeOptions.url ?? '')) {
      const created = CREATE_ROUTES.get(request.routeOptions.url ?? '');
      const params = { ...((request.params ?? {}) as Record<string, string>) };
      if (created && request.principal) captures.set(request, { ...created, params, tenant: params.tenant ?? '', before: null });
      return;
    }
    if (!CHANGE_METHODS.has(request.method)) return;
    const route = ENTITY_ROUTES.get(request.routeOptions.url ?? '');
    if (!route || !request.principal) return;
    const params = { ...((request.params ?? {}) as Record<string, string>) };
    if (request.routeOptions.url!.startsWith('/api/v1/me')) params.id = request.principal.userId;
    if (route.id) params.id = route.id;
    if (!params.id) return;
    const capture: Capture = { ...route, params, tenant: params.tenant ?? '', before: null };
    capture.before = await read(ctx, capture);
    captures.set(request, capture);
  });
}

/** The states of a change that succeeded: the one read before, and the one now (none after a DELETE). */
export async function entityStatesOf(ctx: PerchContext, request: FastifyRequest, status: number, createdId: string | null): Promise<AuditEntry['states'] | undefined> {
  const capture = captures.get(request);
  if (!capture || status >= 300) return undefined;
  // A creation: the new entity's id is known only once the handler answered.
  if (capture.params.id === undefined) {
    if (!createdId) return undefined;
    capture.params.id = createdId;
  }
  const after = request.method === 'DELETE' && !capture.deletesPart ? null : await read(ctx, capture);
  if (capture.before === null && after === null) return undefined;
  return { kind: capture.kind, before: capture.before, after };
}
