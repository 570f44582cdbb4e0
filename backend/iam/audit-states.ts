import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import { bindingDetail, findGroup, findRole, toApiGroupDetail, toApiRoleDetail } from './iam-store.js';

const role: EntityRoute = {
  kind: 'role',
  load: async (ctx, p, tenant) => {
    const row = await findRole(ctx.db, tenant, p.id!);
    return row ? toApiRoleDetail(row) : null;
  },
};
/** A group with its members, so that membership changes show in the diff. */
const group: EntityRoute = {
  kind: 'group',
  load: async (ctx, p, tenant) => {
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
  },
};
const binding: EntityRoute = { kind: 'binding', load: async (ctx, p, tenant) => (await bindingDetail(ctx.db, tenant, p.id!)) ?? null };

/** Tells the audit log how to read the roles, groups and bindings its entries record. */
export function auditIamStates(): void {
  auditEntityStates(
    {
      '/api/v1/:tenant/roles/:id': role,
      '/api/v1/:tenant/groups/:id': group,
      '/api/v1/:tenant/groups/:id/members/:userId': group,
      '/api/v1/:tenant/groups/:id/members/membership/:userId': group,
      '/api/v1/:tenant/bindings/:id': binding,
    },
    { '/api/v1/:tenant/roles': role, '/api/v1/:tenant/groups': group, '/api/v1/:tenant/bindings': binding },
  );
}
