import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import { findUserById } from '../users/user-store.js';
import { tenantAccessOf } from './access-routes.js';
import { findTenant, hasAccess, toApiTenant } from './tenant-store.js';

/** A tenant in its API shape: never its Kestra password. */
const tenant: EntityRoute = {
  kind: 'tenant',
  load: async (ctx, p) => {
    const row = await findTenant(ctx.db, p.id!);
    return row ? toApiTenant(row) : null;
  },
};
/** A user's access to a tenant, with the roles it carries there. */
const access: EntityRoute = {
  kind: 'tenantAccess',
  load: async (ctx, p, tenantId) => {
    const user = await findUserById(ctx.db, p.id!);
    if (!user || !(await hasAccess(ctx.db, tenantId, user.id))) return null;
    return tenantAccessOf(ctx.db, tenantId, user);
  },
};

/** Tells the audit log how to read tenants and tenant access. */
export function auditTenantStates(): void {
  auditEntityStates({ '/api/v1/tenants/:id': tenant, '/api/v1/:tenant/tenant-access/:id': access }, { '/api/v1/tenants': tenant });
}
