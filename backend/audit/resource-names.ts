import type { Store } from '../store/database.js';
import type { AuditLogTable } from '../store/schema.js';

/**
 * What an audit entry's resource is called today, for people reading the log: a user's or service
 * account's email, a role's or group's name, a binding as "who → role on namespace", a flow as
 * `namespace/id`. Read in one query per kind for a whole page; a resource deleted since has no name
 * (the screen shows its id).
 */
export async function resourceNames(db: Store, rows: readonly Pick<AuditLogTable, 'resource_type' | 'resource_id' | 'namespace'>[]): Promise<(string | null)[]> {
  const idsOf = (...types: string[]) => [...new Set(rows.filter((r) => types.includes(r.resource_type) && r.resource_id).map((r) => r.resource_id!))];
  const bindingIds = idsOf('BINDING');
  const bindings = bindingIds.length
    ? await db.selectFrom('bindings').select(['id', 'subject_type', 'subject_id', 'role_id', 'namespace']).where('id', 'in', bindingIds).execute()
    : [];
  const userIds = [...new Set([...idsOf('USER', 'SERVICE_ACCOUNT'), ...bindings.filter((b) => b.subject_type === 'USER').map((b) => b.subject_id)])];
  const groupIds = [...new Set([...idsOf('GROUP'), ...bindings.filter((b) => b.subject_type === 'GROUP').map((b) => b.subject_id)])];
  const roleIds = [...new Set([...idsOf('ROLE'), ...bindings.map((b) => b.role_id)])];
  const [users, groups, roles] = await Promise.all([
    userIds.length ? db.selectFrom('users').select(['id', 'email']).where('id', 'in', userIds).execute() : [],
    groupIds.length ? db.selectFrom('groups').select(['id', 'name']).where('id', 'in', groupIds).execute() : [],
    roleIds.length ? db.selectFrom('roles').select(['id', 'name']).where('id', 'in', roleIds).execute() : [],
  ]);
  const email = new Map(users.map((u) => [u.id, u.email]));
  const group = new Map(groups.map((g) => [g.id, g.name]));
  const role = new Map(roles.map((r) => [r.id, r.name]));
  const binding = new Map(
    bindings.map((b) => {
      const who = (b.subject_type === 'USER' ? email.get(b.subject_id) : group.get(b.subject_id) && `group ${group.get(b.subject_id)}`) ?? b.subject_id;
      return [b.id, `${who} → ${role.get(b.role_id) ?? b.role_id} ${b.namespace ? `on ${b.namespace}` : 'tenant-wide'}`];
    }),
  );
  return rows.map((row) => {
    const id = row.resource_id;
    if (!id) return null;
    switch (row.resource_type) {
      case 'USER':
      case 'SERVICE_ACCOUNT':
        return email.get(id) ?? null;
      case 'GROUP':
        return group.get(id) ?? null;
      case 'ROLE':
        return role.get(id) ?? null;
      case 'BINDING':
        return binding.get(id) ?? null;
      case 'FLOW':
        return row.namespace && !id.includes('/') ? `${row.namespace}/${id}` : id;
      default:
        return null;
    }
  });
}
