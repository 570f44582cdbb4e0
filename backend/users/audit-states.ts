import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import { accessOf } from '../tenants/tenant-store.js';
import { findUserById, groupsOfUser, toApiUser } from './user-store.js';

/** A user as the API shows it, with its groups and tenants, so that a change of them shows in the diff. */
const user: EntityRoute = {
  kind: 'user',
  load: async (ctx, p) => {
    const row = await findUserById(ctx.db, p.id!);
    return row && row.type !== 'SERVICE_ACCOUNT' ? { ...toApiUser(row, await groupsOfUser(ctx.db, row.id)), tenants: await accessOf(ctx.db, row.id) } : null;
  },
};
const userPart: EntityRoute = { ...user, deletesPart: true };

/** Tells the audit log how to read the users its entries record. */
export function auditUserStates(): void {
  auditEntityStates(
    {
      '/api/v1/users/:id': user,
      '/api/v1/users/:id/password': user,
      '/api/v1/users/:id/superadmin': user,
      '/api/v1/users/:id/restricted': user,
      '/api/v1/users/:id/auths/:auth': userPart,
      '/api/v1/users/:id/refresh-token': userPart,
      '/api/v1/:tenant/users/:id/groups': user,
      '/api/v1/me': user,
      '/api/v1/me/password': user,
    },
    { '/api/v1/users': user },
  );
}
