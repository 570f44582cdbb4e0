import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  autocompleteRequestSchema,
  createGroupRequestSchema,
  idsRequestSchema,
  setMembershipQuerySchema,
  updateUserGroupsRequestSchema,
  updateGroupRequestSchema,
  type ApiGroupMember,
} from '../../lib/schemas/iam.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { conflict, forbidden, notFound } from '../http/errors.js';
import type { Store } from '../store/database.js';
import { groupChangeOf, indexGroupChange, memberGroupIds, writeGroupChange } from './group-change.js';
import { may, requireHolds, requirePermission } from './access.js';
import { listQuery, parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import {
  addMember,
  autocompleteGroups,
  bindingsOfSubject,
  deleteGroup,
  findGroup,
  findGroupByName,
  findRole,
  findUserInTenant,
  groupsByIds,
  insertGroup,
  isUniqueViolation,
  membershipOf,
  readPermissions,
  removeMember,
  searchGroups,
  searchMembers,
  setMembership,
  toApiGroupDetail,
  toApiGroupMembers,
  toApiGroupSummary,
  updateGroup,
  type GroupRow,
  type MemberRow,
} from './iam-store.js';

async function mustFindGroup(db: Store, tenant: string, id: string): Promise<GroupRow> {
  const group = await findGroup(db, tenant, id);
  if (!group) throw notFound(`Group ${id} not found`);
  return group;
}

async function mustFindUser(db: Store, tenant: string, id: string): Promise<MemberRow> {
  const user = await findUserInTenant(db, tenant, id);
  if (!user) throw notFound(`User ${id} not found`);
  return user;
}

async function ensureGroupNameFree(db: Store, tenant: string, name: string, exceptId?: string): Promise<void> {
  const other = await findGroupByName(db, tenant, name);
  if (other && other.id !== exceptId) throw conflict(`A group named ${name} already exists`);
}

function duplicateNameAsConflict(name: string) {
  return (error: unknown): never => {
    if (isUniqueViolation(error)) throw conflict(`A group named ${name} already exists`);
    throw error;
  };
}

/** GROUP:<action> tenant-wide, or being an OWNER of this very group (behaviour spec §2.3). */
async function requireGroupAccess(ctx: PerchContext, request: FastifyRequest, tenant: string, groupId: string, action: 'VIEW' | 'MANAGE_MEMBERS'): Promise<Principal> {
  const principal = principalOf(request);
  if (may(ctx, principal, tenant, 'GROUP', action)) return principal;
  if ((await membershipOf(ctx.db, groupId, principal.userId)) === 'OWNER') return principal;
  throw forbidden(`Permission GROUP:${action} on tenant ${tenant}, or ownership of the group, is required to do this`);
}

/**
 * Joining a group confers its bindings, so whoever adds a member must hold each of them at its
 * scope (anti-escalation, as for creating a binding). An owner who is a member holds them already.
 */
async function requireHoldsGroupBindings(ctx: PerchContext, principal: Principal, tenant: string, group: GroupRow): Promise<void> {
  if (principal.superAdmin) return;
  for (const binding of await bindingsOfSubject(ctx.db, tenant, 'GROUP', group.id)) {
    const role = await findRole(ctx.db, tenant, binding.role_id);
    if (role) requireHolds(ctx, principal, tenant, readPermissions(role.permissions), binding.namespace, `add members to group ${group.name}`);
  }
}

async function memberView(db: Store, tenant: string, user: MemberRow): Promise<ApiGroupMember> {
  return (await toApiGroupMembers(db, tenant, [user]))[0]!;
}

export function registerGroupRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.post('/api/v1/:tenant/groups', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'GROUP', 'CREATE');
    const body = parse(createGroupRequestSchema, request.body);
    const memberIds = [...new Set(body.membersId ?? [])];
    const group = await ctx.db
      .transaction()
      .execute(async (trx) => {
        await ensureGroupNameFree(trx, tenant, body.name);
        for (const userId of memberIds) await mustFindUser(trx, tenant, userId);
        const group = await insertGroup(trx, tenant, { name: body.name, description: body.description ?? null });
        for (const userId of memberIds) await addMember(trx, tenant, group.id, userId, 'MEMBER');
        return group;
      })
      .catch(duplicateNameAsConflict(body.name));
    for (const userId of memberIds) ctx.authz.addMembership({ tenantId: tenant, groupId: group.id, userId });
    return toApiGroupDetail(group);
  });

  app.get('/api/v1/:tenant/groups/search', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'GROUP', 'LIST');
    const { rows, total } = await searchGroups(ctx.db, tenant, listQuery(request));
    return { results: rows.map(toApiGroupSummary), total };
  });

  app.post('/api/v1/:tenant/groups/autocomplete', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'GROUP', 'LIST');
    const body = parse(autocompleteRequestSchema, request.body);
    return (await autocompleteGroups(ctx.db, tenant, body.q, body.ids ?? [])).map(toApiGroupSummary);
  });

  app.post('/api/v1/:tenant/groups/ids', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'GROUP', 'LIST');
    const body = parse(idsRequestSchema, request.body);
    return (await groupsByIds(ctx.db, tenant, body.ids)).map(toApiGroupSummary);
  });

  app.get('/api/v1/:tenant/groups/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const id = (request.params as { id: string }).id;
    await requireGroupAccess(ctx, request, tenant, id, 'VIEW');
    return toApiGroupDetail(await mustFindGroup(ctx.db, tenant, id));
  });

  app.put('/api/v1/:tenant/groups/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'GROUP', 'UPDATE');
    const id = (request.params as { id: string }).id;
    await mustFindGroup(ctx.db, tenant, id);
    const body = parse(updateGroupRequestSchema, request.body);
    const group = await ctx.db
      .transaction()
      .execute(async (trx) => {
        await mustFindGroup(trx, tenant, id);
        await ensureGroupNameFree(trx, tenant, body.name, id);
        return updateGroup(trx, tenant, id, { name: body.name, description: body.description ?? null });
      })
      .catch(duplicateNameAsConflict(body.name));
    return toApiGroupDetail(group);
  });

  app.delete('/api/v1/:tenant/groups/:id', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'GROUP', 'DELETE');
    const id = (request.params as { id: string }).id;
    await ctx.db.transaction().execute(async (trx) => {
      await mustFindGroup(trx, tenant, id);
      await deleteGroup(trx, tenant, id);
    });
    ctx.authz.removeSubject(tenant, 'GROUP', id);
    return reply.code(200).send(); // the EE spec answers 200 without a body
  });

  app.get('/api/v1/:tenant/groups/:id/members', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const id = (request.params as { id: string }).id;
    await requireGroupAccess(ctx, request, tenant, id, 'VIEW');
    await mustFindGroup(ctx.db, tenant, id);
    const { rows, total } = await searchMembers(ctx.db, id, listQuery(request));
    return { results: await toApiGroupMembers(ctx.db, tenant, rows), total };
  });

  app.put('/api/v1/:tenant/groups/:id/members/membership/:userId', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const { id, userId } = request.params as { id: string; userId: string };
    await requireGroupAccess(ctx, request, tenant, id, 'MANAGE_MEMBERS');
    const { membership } = parse(setMembershipQuerySchema, request.query);
    const user = await ctx.db.transaction().execute(async (trx) => {
      const group = await mustFindGroup(trx, tenant, id);
      const user = await mustFindUser(trx, tenant, userId);
      if (!(await membershipOf(trx, id, userId))) throw conflict(`User ${user.email} is not a member of group ${group.name}`);
      await setMembership(trx, id, userId, membership);
      return user;
    });
    return memberView(ctx.db, tenant, user);
  });

  app.put('/api/v1/:tenant/groups/:id/members/:userId', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const { id, userId } = request.params as { id: string; userId: string };
    const principal = await requireGroupAccess(ctx, request, tenant, id, 'MANAGE_MEMBERS');
    const group = await mustFindGroup(ctx.db, tenant, id);
    await requireHoldsGroupBindings(ctx, principal, tenant, group);
    const user = await ctx.db
      .transaction()
      .execute(async (trx) => {
        await mustFindGroup(trx, tenant, id);
        const user = await mustFindUser(trx, tenant, userId);
        if (await membershipOf(trx, id, userId)) throw conflict(`User ${user.email} is already a member of group ${group.name}`);
        await addMember(trx, tenant, id, userId, 'MEMBER');
        return user;
      })
      .catch((error: unknown) => {
        if (isUniqueViolation(error)) throw conflict(`User ${userId} is already a member of group ${group.name}`);
        throw error;
      });
    ctx.authz.addMembership({ tenantId: tenant, groupId: id, userId });
    return memberView(ctx.db, tenant, user);
  });

  app.delete('/api/v1/:tenant/groups/:id/members/:userId', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const { id, userId } = request.params as { id: string; userId: string };
    await requireGroupAccess(ctx, request, tenant, id, 'MANAGE_MEMBERS');
    const user = await ctx.db.transaction().execute(async (trx) => {
      const group = await mustFindGroup(trx, tenant, id);
      const user = await mustFindUser(trx, tenant, userId);
      if (!(await membershipOf(trx, id, userId))) throw conflict(`User ${user.email} is not a member of group ${group.name}`);
      await removeMember(trx, id, userId);
      return user;
    });
    ctx.authz.removeMembership(tenant, id, userId);
    return memberView(ctx.db, tenant, user);
  });

  // EE's updateUserGroups: the user's whole set of groups in the tenant. Leaving a group needs
  // MANAGE_MEMBERS; joining one also needs its bindings held (anti-escalation, as for a member added).
  app.put('/api/v1/:tenant/users/:id/groups', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const userId = (request.params as { id: string }).id;
    const principal = requirePermission(ctx, request, tenant, 'GROUP', 'MANAGE_MEMBERS');
    const { groupIds } = parse(updateUserGroupsRequestSchema, request.body);
    await mustFindUser(ctx.db, tenant, userId);
    const change = groupChangeOf(await memberGroupIds(ctx.db, tenant, userId), groupIds);
    for (const id of new Set(groupIds)) {
      const group = await mustFindGroup(ctx.db, tenant, id);
      if (change.added.includes(id)) await requireHoldsGroupBindings(ctx, principal, tenant, group);
    }
    await ctx.db.transaction().execute(async (trx) => {
      await mustFindUser(trx, tenant, userId);
      for (const id of change.added) await mustFindGroup(trx, tenant, id);
      await writeGroupChange(trx, tenant, userId, change);
    });
    indexGroupChange(ctx, tenant, userId, change);
    return reply.code(204).send();
  });
}
