import type { FastifyInstance } from 'fastify';
import { createTenantAccessRequestSchema, tenantAccessAutocompleteSchema, type ApiTenantAccess, type ApiUserTenantAccess } from '../../lib/schemas/tenants.js';
import type { PerchContext } from '../context.js';
import { conflict, notFound } from '../http/errors.js';
import { listQuery, parse, principalOf, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import { isUniqueViolation, readPermissions } from '../iam/iam-store.js';
import type { Store } from '../store/database.js';
import { groupsOf } from '../service-accounts/service-account-store.js';
import { findUserByEmail, findUserById, type UserRow } from '../users/user-store.js';
import { grantAccess, hasAccess, revokeAccess } from './tenant-store.js';

type Announce = (ctx: PerchContext, iamChanged: boolean) => Promise<void>;

const displayName = (u: Pick<UserRow, 'first_name' | 'last_name' | 'email'>) => [u.first_name, u.last_name].filter(Boolean).join(' ') || u.email;
const auths = (u: Pick<UserRow, 'password_hash'>) => (u.password_hash ? [{ name: 'password', type: 'PASSWORD' }] : []);

/** Groups of each user in the tenant, as EE's `ApiGroup{id,name,external}`. */
async function groupsIn(db: Store, tenantId: string, userIds: string[]): Promise<Map<string, Array<{ id: string; name: string; external: boolean }>>> {
  const groups = await groupsOf(db, tenantId, userIds);
  return new Map([...groups].map(([userId, list]) => [userId, list.map((g) => ({ ...g, external: false }))]));
}

async function toUserTenantAccess(db: Store, tenantId: string, users: UserRow[]): Promise<ApiUserTenantAccess[]> {
  const groups = await groupsIn(db, tenantId, users.map((u) => u.id));
  return users.map((u) => ({
    id: u.id,
    username: u.email,
    displayName: displayName(u),
    ...(u.description ? { description: u.description } : {}),
    groups: groups.get(u.id) ?? [],
    auths: auths(u),
  }));
}

/** EE's `ApiTenantAccess`: the user's groups and every role they hold in the tenant, and where it comes from. */
export async function tenantAccessOf(db: Store, tenantId: string, user: UserRow): Promise<ApiTenantAccess> {
  const groups = (await groupsIn(db, tenantId, [user.id])).get(user.id) ?? [];
  const bindings = await db
    .selectFrom('bindings')
    .innerJoin('roles', (join) => join.onRef('roles.id', '=', 'bindings.role_id').onRef('roles.tenant_id', '=', 'bindings.tenant_id'))
    .select(['bindings.subject_type', 'bindings.subject_id', 'bindings.namespace', 'roles.id', 'roles.name', 'roles.permissions'])
    .where('bindings.tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([
        eb.and([eb('bindings.subject_type', '=', 'USER'), eb('bindings.subject_id', '=', user.id)]),
        ...(groups.length > 0 ? [eb.and([eb('bindings.subject_type', '=', 'GROUP'), eb('bindings.subject_id', 'in', groups.map((g) => g.id))])] : []),
      ]),
    )
    .orderBy('roles.name')
    .execute();
  return {
    tenantId,
    userId: user.id,
    username: user.email,
    displayName: displayName(user),
    groups,
    roles: bindings.map((b) => ({
      id: b.id,
      name: b.name,
      namespace: b.namespace,
      origin: b.subject_type === 'USER' ? ('BINDING' as const) : ('GROUP' as const),
      sourceId: b.subject_id,
      permissions: Object.entries(readPermissions(b.permissions)).map(([resource, actions]) => ({ resource, actions: [...(actions ?? [])] })),
    })),
    superAdmin: user.super_admin === 1,
  };
}

async function mustFindUser(db: Store, id: string): Promise<UserRow> {
  const user = await findUserById(db, id);
  if (!user) throw notFound(`User ${id} not found`);
  return user;
}

/** EE's tenant access: who may enter a tenant. Granting and revoking are audited with the state before and after. */
export function registerTenantAccessRoutes(app: FastifyInstance, ctx: PerchContext, announce: Announce): void {
  const grant = async (tenant: string, user: UserRow): Promise<void> => {
    await grantAccess(ctx.db, tenant, user.id).catch((error: unknown) => {
      if (isUniqueViolation(error)) throw conflict(`${user.email} already has access to tenant ${tenant}`);
      throw error;
    });
    await announce(ctx, false);
  };

  app.get('/api/v1/:tenant/tenant-access', async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'USER', 'LIST');
    const { page, size, q, direction } = listQuery(request);
    let base = ctx.db.selectFrom('users').innerJoin('tenant_access', 'tenant_access.user_id', 'users.id').where('tenant_access.tenant_id', '=', tenant);
    if (q) base = base.where('users.email', 'like', `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const [rows, count] = await Promise.all([
      base.selectAll('users').orderBy('users.email', direction).orderBy('users.id').limit(size).offset((page - 1) * size).execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { results: await toUserTenantAccess(ctx.db, tenant, rows), total: Number(count.n) };
  });

  app.post('/api/v1/:tenant/tenant-access', async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'USER', 'CREATE');
    const { email } = parse(createTenantAccessRequestSchema, request.body);
    const user = await findUserByEmail(ctx.db, email);
    if (!user) throw notFound(`User ${email} not found`);
    await grant(tenant, user);
    return reply.code(204).send();
  });

  app.post('/api/v1/:tenant/tenant-access/autocomplete', async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'USER', 'LIST');
    const body = parse(tenantAccessAutocompleteSchema, request.body);
    const text = (body.q ?? body.username ?? '').toLowerCase();
    let query = ctx.db.selectFrom('users').selectAll('users').where('users.type', '=', 'STANDARD');
    if (body.existingOnly) query = query.innerJoin('tenant_access', 'tenant_access.user_id', 'users.id').where('tenant_access.tenant_id', '=', tenant);
    if (text) query = query.where('users.email', 'like', `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (body.ids?.length) query = query.where('users.id', 'in', body.ids);
    const rows = await query.orderBy('users.email').limit(50).execute();
    return toUserTenantAccess(ctx.db, tenant, rows);
  });

  app.get('/api/v1/:tenant/tenant-access/:id', async (request) => {
    const tenant = tenantOf(request);
    const { id: userId } = request.params as { id: string };
    // A person may read their own entry without any permission (behaviour spec §1).
    if (principalOf(request).userId !== userId) requirePermission(ctx, request, tenant, 'USER', 'VIEW');
    const user = await mustFindUser(ctx.db, userId);
    if (!(await hasAccess(ctx.db, tenant, userId))) throw notFound(`User ${userId} has no access to tenant ${tenant}`);
    return tenantAccessOf(ctx.db, tenant, user);
  });

  app.put('/api/v1/:tenant/tenant-access/:id', async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'USER', 'CREATE');
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    await grant(tenant, user);
    return reply.code(201).send();
  });

  app.delete('/api/v1/:tenant/tenant-access/:id', async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'USER', 'DELETE');
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    const revoked = await ctx.db.transaction().execute((trx) => revokeAccess(trx, tenant, user.id));
    if (!revoked) throw notFound(`User ${user.id} has no access to tenant ${tenant}`);
    await announce(ctx, true);
    return reply.code(204).send();
  });
}
