import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PerchContext } from '../context.js';
import { bindingDetail, findGroup, findRole, toApiGroupDetail, toApiRoleDetail } from '../iam/iam-store.js';
import { findServiceAccount, groupsOf, toApiServiceAccountDetail, toApiServiceAccountResponse } from '../service-accounts/service-account-store.js';
import { findUserById, groupsOfUser, toApiUser } from '../users/user-store.js';
import type { AuditEntry } from './audit-log.js';

/**
 * Before/after of Perch's own entities (issue 6, point 2): for creations, updates and deletes of users,
 * service accounts, roles, groups (memberships included) and bindings, the entity is read in its EE
 * API shape (the same serializers the API answers with: no password hash, no token) just before the
 * handler runs (not for a creation), and again once it answered (not for a DELETE). Both go to
 * `audit_states` with the entry.
 */
type Loader = (ctx: PerchContext, params: Record<string, string>, tenant: string) => Promise<object | null>;

const user: Loader = async (ctx, p) => {
  const row = await findUserById(ctx.db, p.id!);
  // With its groups, so that a change of them (updateUserGroups, createUser's groups) shows in the diff.
  return row && row.type !== 'SERVICE_ACCOUNT' ? toApiUser(row, await groupsOfUser(ctx.db, row.id)) : null;
};
const instanceServiceAccount: Loader = async (ctx, p) => {
  const row = await findServiceAccount(ctx.db, p.id!);
  return row ? toApiServiceAccountDetail(row) : null;
};
const tenantServiceAccount: Loader = async (ctx, p, tenant) => {
  const row = await findServiceAccount(ctx.db, p.id!, tenant);
  return row ? toApiServiceAccountResponse(row, (await groupsOf(ctx.db, tenant, [row.id])).get(row.id) ?? []) : null;
};
const role: Loader = async (ctx, p, tenant) => {
  const row = await findRole(ctx.db, tenant, p.id!);
  return row ? toApiRoleDetail(row) : null;
};
/** A group with its members, so that membership changes show in the diff. */
const group: Loader = async (ctx, p, tenant) => {
  const row = await findGroup(ctx.db, tenant, p.id!);
  if (!row) return null;
  const members = await ctx.db
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['users.id', 'users.email', 'group_members.membership'])
    .where('group_members.group_id', '=', row.id)
    .orderBy('users.email')
    .orderBy('users.id')
    .execute();
  return { ...toApiGroupDetail(row), members: members.map((m) => ({ id: m.id, username: m.email, membership: m.membership })) };
};
const binding: Loader = async (ctx, p, tenant) => (await bindingDetail(ctx.db, tenant, p.id!)) ?? null;

/** Route (as registered) → the kind of state and how to read it. */
/** `deletesPart`: a DELETE there removes a part of the entity (an auth method), so it still has an after. */
const ENTITY_ROUTES: Record<string, { kind: string; load: Loader; deletesPart?: boolean }> = {
  '/api/v1/users/:id': { kind: 'user', load: user },
  '/api/v1/users/:id/password': { kind: 'user', load: user },
  '/api/v1/users/:id/superadmin': { kind: 'user', load: user },
  '/api/v1/users/:id/restricted': { kind: 'user', load: user },
  '/api/v1/users/:id/auths/:auth': { kind: 'user', load: user, deletesPart: true },
  '/api/v1/users/:id/refresh-token': { kind: 'user', load: user, deletesPart: true },
  '/api/v1/:tenant/users/:id/groups': { kind: 'user', load: user },
  '/api/v1/me': { kind: 'user', load: user },
  '/api/v1/me/password': { kind: 'user', load: user },
  '/api/v1/service-accounts/:id': { kind: 'service-account', load: instanceServiceAccount },
  '/api/v1/service-accounts/:id/superadmin': { kind: 'service-account', load: instanceServiceAccount },
  '/api/v1/:tenant/service-accounts/:id': { kind: 'service-account', load: tenantServiceAccount },
  '/api/v1/:tenant/roles/:id': { kind: 'role', load: role },
  '/api/v1/:tenant/groups/:id': { kind: 'group', load: group },
  '/api/v1/:tenant/groups/:id/members/:userId': { kind: 'group', load: group },
  '/api/v1/:tenant/groups/:id/members/membership/:userId': { kind: 'group', load: group },
  '/api/v1/:tenant/bindings/:id': { kind: 'binding', load: binding },
};
const CHANGE_METHODS = new Set(['PUT', 'PATCH', 'DELETE']);

/** Collection route (as registered) → the kind created by a POST there; its id comes from the entry. */
const CREATE_ROUTES: Record<string, { kind: string; load: Loader }> = {
  '/api/v1/users': ENTITY_ROUTES['/api/v1/users/:id']!,
  '/api/v1/service-accounts': ENTITY_ROUTES['/api/v1/service-accounts/:id']!,
  '/api/v1/:tenant/service-accounts': ENTITY_ROUTES['/api/v1/:tenant/service-accounts/:id']!,
  '/api/v1/:tenant/roles': ENTITY_ROUTES['/api/v1/:tenant/roles/:id']!,
  '/api/v1/:tenant/groups': ENTITY_ROUTES['/api/v1/:tenant/groups/:id']!,
  '/api/v1/:tenant/bindings': ENTITY_ROUTES['/api/v1/:tenant/bindings/:id']!,
};

interface Capture {
  kind: string;
  load: Loader;
  deletesPart?: boolean;
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
    if (request.method === 'POST') {
      const created = CREATE_ROUTES[request.routeOptions.url ?? ''];
      const params = { ...((request.params ?? {}) as Record<string, string>) };
      if (created && request.principal) captures.set(request, { ...created, params, tenant: params.tenant ?? '', before: null });
      return;
    }
    if (!CHANGE_METHODS.has(request.method)) return;
    const route = ENTITY_ROUTES[request.routeOptions.url ?? ''];
    if (!route || !request.principal) return;
    const params = { ...((request.params ?? {}) as Record<string, string>) };
    if (request.routeOptions.url!.startsWith('/api/v1/me')) params.id = request.principal.userId;
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
