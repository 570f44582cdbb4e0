import type { FastifyInstance, FastifyRequest } from 'fastify';
import { selectTenantRequestSchema } from '../../lib/schemas/tenants.js';
import type { PerchContext } from '../context.js';
import { badRequest, forbidden, notFound } from '../http/errors.js';
import { parse, principalOf, signedIn } from '../http/request.js';

/**
 * The tenant switcher (issue 20, point 3): a signed-in session selects the tenant it works in, without
 * signing out. The stock Kestra UI always calls `/api/v1/main/…`; the proxy sends those calls to the
 * session's selected tenant (proxy/tenant-routing.ts).
 */
export function registerTenantSelection(app: FastifyInstance, ctx: PerchContext): void {
  const select = async (request: FastifyRequest) => {
    const principal = principalOf(request);
    if ((principal.authMethod ?? 'session') !== 'session') throw badRequest('Only a signed-in browser session selects a tenant: an API token or a password header belongs to its own tenant');
    const { tenantId } = parse(selectTenantRequestSchema, request.body);
    if (!ctx.tenants.get(tenantId)) throw notFound(`Tenant ${tenantId} not found`);
    if (!ctx.tenants.mayEnter(principal, tenantId)) throw forbidden(`You have no access to tenant ${tenantId}`);
    await ctx.sessions.selectTenant(principal.sessionHash, tenantId);
    return { tenantId };
  };
  app.put('/api/v1/me/tenant', signedIn, select);
  app.post('/api/v1/me/tenant', signedIn, select);
}
