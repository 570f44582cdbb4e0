import type { Principal } from '../auth/sessions.js';
import type { TenantDirectory } from '../context.js';

/**
 * Whether a caller may act in a tenant, for Perch's routes and the proxy alike: the tenant exists
 * (else 404), an API token or a service account acts only in its own tenant, and anyone else needs
 * tenant access (instance owners enter every tenant). Null: they may.
 */
export function tenantRefusal(tenants: TenantDirectory, principal: Principal | null, tenantId: string): { status: 403 | 404; message: string } | null {
  if (!tenants.get(tenantId)) return { status: 404, message: `Tenant ${tenantId} not found` };
  if (!principal) return null;
  if ((principal.authMethod === 'token' || principal.actorType === 'SERVICE_ACCOUNT') && principal.tenantId !== tenantId) {
    const what = principal.actorType === 'SERVICE_ACCOUNT' ? 'This service account' : 'This API token';
    return { status: 403, message: `${what} belongs to tenant ${principal.tenantId}: it cannot act in tenant ${tenantId}` };
  }
  if (!tenants.mayEnter(principal, tenantId)) return { status: 403, message: `You have no access to tenant ${tenantId}` };
  return null;
}

/** A browser session (not a token nor a password header): it works in the tenant it selected. */
export const isSession = (principal: Principal): boolean => (principal.authMethod ?? 'session') === 'session';
