import type { FastifyInstance, FastifyRequest } from 'fastify';
import { selectTenantRequestSchema } from '../../lib/schemas/tenants.js';
import type { PerchContext } from '../context.js';
import { badRequest, forbidden, notFound } from '../http/errors.js';
import { parse, principalOf, signedIn } from '../http/request.js';
import { isSession } from '../http/tenant-entry.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';

/**
 * The tenant switcher (issue 20, point 3): a signed-in session selects the tenant it works in, without
 * signing out. The stock Kestra UI always calls `/api/v1/main/…`; the proxy sends those calls to the
 * session's selected tenant (proxy/tenant-routing.ts).
 */
export function registerTenantSelection(app: FastifyInstance, ctx: PerchContext): void {
  const select = async (request: FastifyRequest) => {
    const principal = principalOf(request);
    if (!isSession(principal)) throw badRequest('Only a signed-in browser session selects a tenant: an API token or a password header belongs to its own tenant');
    const { tenantId } = parse(selectTenantRequestSchema, request.body);
    if (!ctx.tenants.get(tenantId)) throw notFound(`Tenant ${tenantId} not found`);
    if (!ctx.tenants.mayEnter(principal, tenantId)) throw forbidden(`You have no access to tenant ${tenantId}`);
    await ctx.sessions.selectTenant(principal.sessionHash, tenantId);
    return { tenantId };
  };
  app.put('/api/v1/me/tenant', signedIn, select);
  app.post('/api/v1/me/tenant', signedIn, select);
  followSelectedTenant(app);
}

/** Perch's own tenant-scoped routes: `/api/v1/{tenant}/…` (the proxy's catch-all names no tenant). */
const OWN_TENANT_ROUTE = '/api/v1/:tenant/';

/**
 * Perch's own tenant-scoped routes (IAM, audit log, secrets, namespaces, apps, AI…) read a browser
 * session's `/api/v1/main/…` as its selected tenant, exactly as the proxy does for Kestra's
 * operations: the stock UI calls them under `main` too (a namespace's secrets, the AI copilot), and
 * the tenant then must be the one its Kestra calls go to. Set right after the guard resolved the
 * session, so the handlers' `tenantOf` (access check), the entity states and the audit chain all see
 * the one tenant. Tokens and password headers keep their path: they belong to one tenant.
 */
function followSelectedTenant(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const principal = request.principal;
    const params = request.params as { tenant?: string };
    if (principal && principal.tenantId !== DEFAULT_TENANT && params.tenant === DEFAULT_TENANT && isSession(principal) && request.routeOptions.url?.startsWith(OWN_TENANT_ROUTE)) {
      params.tenant = principal.tenantId;
    }
    done();
  });
}
