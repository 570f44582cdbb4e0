import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Action } from '../../lib/authz/catalogue.js';
import {
  createServiceAccountRequestSchema,
  patchServiceAccountRequestSchema,
  patchSuperAdminRequestSchema,
  serviceAccountRequestSchema,
} from '../../lib/schemas/tokens.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { auditServiceAccountStates } from './audit-states.js';
import { forbidden, notFound } from '../http/errors.js';
import { may, requireHolds, requirePermission } from '../iam/access.js';
import { listQuery, parse, signedIn, tenantOf } from '../http/request.js';
import { bindingsOfSubject, findGroup, findRole, forgetUserInIam, readPermissions } from '../iam/iam-store.js';
import { groupChangeOf, indexGroupChange, memberGroupIds, NO_GROUP_CHANGE, writeGroupChange, type GroupChange } from '../iam/group-change.js';
import { ownersOnly, registerTokenEndpoints, type TokenAction } from '../tokens/endpoints.js';
import { machineAccess } from '../tokens/machine-access.js';
import { tokenIdsOf } from '../tokens/token-store.js';
import {
  deleteServiceAccount,
  findServiceAccount,
  groupsOf,
  insertServiceAccount,
  searchServiceAccounts,
  toApiServiceAccountDetail,
  toApiServiceAccountResponse,
  toApiServiceAccountTenantAccess,
  updateServiceAccount,
  type ServiceAccountRow,
} from './service-account-store.js';

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

async function mustFindServiceAccount(ctx: PerchContext, id: string, tenantId?: string): Promise<ServiceAccountRow> {
  const account = await findServiceAccount(ctx.db, id, tenantId);
  if (!account) throw notFound(`Service account ${id} not found`);
  return account;
}

/** Whatever a service account can do, whoever acts for it (tokens) or changes it must hold too. */
function requireHoldsAllOf(ctx: PerchContext, caller: Principal, tenant: string, account: ServiceAccountRow, what: string): void {
  if (caller.superAdmin) return;
  if (account.super_admin === 1) throw forbidden(`Only an instance owner may ${what}: ${account.email} is an instance owner`);
  const held = ctx.authz.effective(tenant, account.id);
  requireHolds(ctx, caller, tenant, held.tenantWide, null, what);
  for (const [namespace, permissions] of Object.entries(held.namespaces)) requireHolds(ctx, caller, tenant, permissions, namespace, what);
}

/** Other replicas re-read memberships (the IAM_WRITE hook in server.ts does not know these paths). */
function announceIamChange(ctx: PerchContext): void {
  void ctx.changes.publish('iam', 'service-accounts').catch((error) => ctx.log.error({ err: error }, 'could not announce an IAM change'));
}

/**
 * The change from the groups `current` to `wanted`, refused (404, 403) before anything is written:
 * every group exists, the caller may manage members, and joining a group needs what the group grants.
 */
async function checkedGroupChange(ctx: PerchContext, caller: Principal, tenant: string, current: ReadonlySet<string>, wanted: readonly string[]): Promise<GroupChange> {
  const change = groupChangeOf(current, wanted);
  if (change.added.length === 0 && change.removed.length === 0) return change;
  const groups = [];
  for (const groupId of change.added) {
    const group = await findGroup(ctx.db, tenant, groupId);
    if (!group) throw notFound(`Group ${groupId} not found`);
    groups.push(group);
  }
  if (!may(ctx, caller, tenant, 'GROUP', 'MANAGE_MEMBERS')) throw forbidden(`Permission GROUP:MANAGE_MEMBERS on tenant ${tenant} is required to change a service account's groups`);
  for (const group of groups) {
    if (caller.superAdmin) continue;
    for (const binding of await bindingsOfSubject(ctx.db, tenant, 'GROUP', group.id)) {
      const role = await findRole(ctx.db, tenant, binding.role_id);
      if (role) requireHolds(ctx, caller, tenant, readPermissions(role.permissions), binding.namespace, `add a service account to group ${group.name}`);
    }
  }
  return change;
}

/** Patches the index with a committed change and tells the other replicas. */
function applyGroupChange(ctx: PerchContext, tenant: string, accountId: string, change: GroupChange): void {
  if (indexGroupChange(ctx, tenant, accountId, change)) announceIamChange(ctx);
}

async function removeServiceAccount(ctx: PerchContext, account: ServiceAccountRow): Promise<void> {
  const tokenIds = await tokenIdsOf(ctx.db, account.id);
  await deleteServiceAccount(ctx.db, account.id);
  await ctx.sessions.revokeUser(account.id);
  await forgetUserInIam(ctx, account.id);
  machineAccess(ctx).revoked(tokenIds);
  announceIamChange(ctx);
}

async function tenantResponse(ctx: PerchContext, tenant: string, account: ServiceAccountRow) {
  return toApiServiceAccountResponse(account, (await groupsOf(ctx.db, tenant, [account.id])).get(account.id) ?? []);
}

const wantsOwner = (body: { superAdmin?: boolean | null; instanceOwner?: boolean | null }) => body.superAdmin ?? body.instanceOwner ?? undefined;

export function registerServiceAccountRoutes(app: FastifyInstance, ctx: PerchContext): void {
  auditServiceAccountStates();

  // ---- Instance-wide (instance owners) -------------------------------------------------------

  app.get('/api/v1/service-accounts', ownersOnly, async (request) => {
    const { rows, total } = await searchServiceAccounts(ctx.db, listQuery(request));
    return { results: rows.map(toApiServiceAccountDetail), total };
  });

  app.post('/api/v1/service-accounts', ownersOnly, async (request) => {
    const body = parse(createServiceAccountRequestSchema, request.body);
    for (const tenant of body.tenants ?? []) if (tenant !== DEFAULT_TENANT) throw notFound(`Tenant ${tenant} not found`);
    const account = await insertServiceAccount(ctx.db, { name: body.name, description: body.description ?? null, superAdmin: wantsOwner(body) ?? false });
    ctx.tenants.granted(account.tenant_id, account.id);
    return toApiServiceAccountDetail(account);
  });

  app.get('/api/v1/service-accounts/:id', ownersOnly, async (request) => toApiServiceAccountDetail(await mustFindServiceAccount(ctx, idOf(request))));

  app.patch('/api/v1/service-accounts/:id', ownersOnly, async (request) => {
    const account = await mustFindServiceAccount(ctx, idOf(request));
    const body = parse(patchServiceAccountRequestSchema, request.body);
    const updated = await updateServiceAccount(ctx.db, account.id, { name: body.name, description: body.description ?? null });
    ctx.sessions.refreshUser(account.id);
    return toApiServiceAccountDetail(updated);
  });

  app.patch('/api/v1/service-accounts/:id/superadmin', ownersOnly, async (request) => {
    const account = await mustFindServiceAccount(ctx, idOf(request));
    const body = parse(patchSuperAdminRequestSchema, request.body);
    const updated = await updateServiceAccount(ctx.db, account.id, { superAdmin: body.superAdmin });
    ctx.sessions.refreshUser(account.id);
    return toApiServiceAccountDetail(updated);
  });

  app.delete('/api/v1/service-accounts/:id', ownersOnly, async (request, reply) => {
    await removeServiceAccount(ctx, await mustFindServiceAccount(ctx, idOf(request)));
    return reply.code(204).send();
  });

  registerTokenEndpoints(app, ctx, {
    path: '/api/v1/service-accounts/:id/api-tokens',
    access: ownersOnly,
    owner: async (request) => (await mustFindServiceAccount(ctx, idOf(request))).id,
    createdStatus: 200,
    deletedStatus: 200,
  });

  // ---- Tenant (SERVICE_ACCOUNT permissions; instance owners always) ---------------------------

  app.get('/api/v1/:tenant/service-accounts', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'SERVICE_ACCOUNT', 'LIST');
    const { rows, total } = await searchServiceAccounts(ctx.db, { ...listQuery(request), tenantId: tenant });
    const groups = await groupsOf(ctx.db, tenant, rows.map((r) => r.id));
    return { results: rows.map((r) => toApiServiceAccountTenantAccess(r, groups.get(r.id) ?? [])), total };
  });

  app.post('/api/v1/:tenant/service-accounts', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const caller = requirePermission(ctx, request, tenant, 'SERVICE_ACCOUNT', 'CREATE');
    const body = parse(serviceAccountRequestSchema, request.body);
    const owner = wantsOwner(body) ?? false;
    if (owner && !caller.superAdmin) throw forbidden('Only an instance owner may make a service account an instance owner');
    const change = await checkedGroupChange(ctx, caller, tenant, new Set(), [...new Set((body.groups ?? []).map((g) => g.id))]);
    // All or nothing: the account and its memberships commit together.
    const account = await ctx.db.transaction().execute(async (trx) => {
      const row = await insertServiceAccount(trx, { name: body.name, description: body.description ?? null, superAdmin: owner, tenantId: tenant });
      await writeGroupChange(trx, tenant, row.id, change);
      return row;
    });
    ctx.tenants.granted(tenant, account.id);
    applyGroupChange(ctx, tenant, account.id, change);
    return tenantResponse(ctx, tenant, account);
  });

  app.get('/api/v1/:tenant/service-accounts/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'SERVICE_ACCOUNT', 'VIEW');
    return tenantResponse(ctx, tenant, await mustFindServiceAccount(ctx, idOf(request), tenant));
  });

  app.put('/api/v1/:tenant/service-accounts/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const caller = requirePermission(ctx, request, tenant, 'SERVICE_ACCOUNT', 'UPDATE');
    const account = await mustFindServiceAccount(ctx, idOf(request), tenant);
    const body = parse(serviceAccountRequestSchema, request.body);
    const owner = wantsOwner(body);
    if (!caller.superAdmin && (account.super_admin === 1 || owner === true)) {
      throw forbidden('Only an instance owner may change an instance-owner service account or make one');
    }
    const change = body.groups
      ? await checkedGroupChange(ctx, caller, tenant, await memberGroupIds(ctx.db, tenant, account.id), [...new Set(body.groups.map((g) => g.id))])
      : NO_GROUP_CHANGE;
    // All or nothing: a taken name (409) leaves the groups as they were.
    const updated = await ctx.db.transaction().execute(async (trx) => {
      await writeGroupChange(trx, tenant, account.id, change);
      return updateServiceAccount(trx, account.id, { name: body.name, description: body.description ?? null, superAdmin: owner });
    });
    applyGroupChange(ctx, tenant, account.id, change);
    ctx.sessions.refreshUser(account.id);
    return tenantResponse(ctx, tenant, updated);
  });

  app.delete('/api/v1/:tenant/service-accounts/:id', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const caller = requirePermission(ctx, request, tenant, 'SERVICE_ACCOUNT', 'DELETE');
    const account = await mustFindServiceAccount(ctx, idOf(request), tenant);
    if (account.super_admin === 1 && !caller.superAdmin) throw forbidden('Only an instance owner may delete an instance-owner service account');
    await removeServiceAccount(ctx, account);
    return reply.code(200).send(); // deleteServiceAccountForTenant: the EE spec answers 200 without a body (the instance-wide route: 204)
  });

  const tokenAction: Record<TokenAction, Action> = { LIST: 'VIEW', CREATE: 'UPDATE', DELETE: 'UPDATE' };
  registerTokenEndpoints(app, ctx, {
    path: '/api/v1/:tenant/service-accounts/:id/api-tokens',
    access: signedIn,
    owner: async (request, action) => {
      const tenant = tenantOf(request);
      const caller = requirePermission(ctx, request, tenant, 'SERVICE_ACCOUNT', tokenAction[action]);
      const account = await mustFindServiceAccount(ctx, idOf(request), tenant);
      // A token acts as the account: minting one must not hand the caller more than they hold.
      if (action === 'CREATE') requireHoldsAllOf(ctx, caller, tenant, account, `create an API token for ${account.email}`);
      else if (account.super_admin === 1 && !caller.superAdmin) throw forbidden(`Only an instance owner may manage the tokens of ${account.email}`);
      return account.id;
    },
    createdStatus: 200,
    deletedStatus: 200,
  });
}
