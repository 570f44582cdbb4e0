import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import { findServiceAccount, groupsOf, toApiServiceAccountDetail, toApiServiceAccountResponse } from './service-account-store.js';

const instanceServiceAccount: EntityRoute = {
  kind: 'service-account',
  load: async (ctx, p) => {
    const row = await findServiceAccount(ctx.db, p.id!);
    return row ? toApiServiceAccountDetail(row) : null;
  },
};
const tenantServiceAccount: EntityRoute = {
  kind: 'service-account',
  load: async (ctx, p, tenant) => {
    const row = await findServiceAccount(ctx.db, p.id!, tenant);
    return row ? toApiServiceAccountResponse(row, (await groupsOf(ctx.db, tenant, [row.id])).get(row.id) ?? []) : null;
  },
};

/** Tells the audit log how to read the service accounts its entries record. */
export function auditServiceAccountStates(): void {
  auditEntityStates(
    {
      '/api/v1/service-accounts/:id': instanceServiceAccount,
      '/api/v1/service-accounts/:id/superadmin': instanceServiceAccount,
      '/api/v1/:tenant/service-accounts/:id': tenantServiceAccount,
    },
    { '/api/v1/service-accounts': instanceServiceAccount, '/api/v1/:tenant/service-accounts': tenantServiceAccount },
  );
}
