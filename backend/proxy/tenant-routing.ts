import type { Principal } from '../auth/sessions.js';
import { KESTRA_TENANT, matchPolicy } from '../authz/policy-map.js';
import type { KnownTenant, TenantDirectory } from '../context.js';

/**
 * Which tenant a Kestra API call is for, and where it goes (issue 20): the `{tenant}` of the policy
 * map's row. `main` and un-tenanted operations go to Perch's configured Kestra as always; another
 * known tenant's call is rewritten to `/api/v1/main/…` (the one tenant Kestra OSS serves) and sent
 * to that tenant's Kestra. An unknown tenant is a 404, one the caller may not enter a 403: both
 * before anything reaches any Kestra. Answered from memory (ctx.tenants): no database read.
 */
export type TenantRoute =
  | { kind: 'main' }
  | { kind: 'refused'; status: 403 | 404; message: string }
  | { kind: 'tenant'; tenant: KnownTenant; path: string };

const MAIN: TenantRoute = Object.freeze({ kind: 'main' });
const API_PREFIX = '/api/v1/';

export function routeTenant(tenants: TenantDirectory, method: string, path: string, principal: Principal | null): TenantRoute {
  const named = matchPolicy(method, path)?.tenant ?? null;
  // An operation the policy map does not know keeps its path: the authorizer refuses it, naming it.
  if (named === null) return MAIN;
  const tenant = tenants.get(named);
  if (!tenant) return { kind: 'refused', status: 404, message: `Tenant ${named} not found` };
  // Anonymous calls (webhooks, authenticated by Kestra with their key) need no tenant access.
  if (principal && !tenants.mayEnter(principal, named)) return { kind: 'refused', status: 403, message: `You have no access to tenant ${named}` };
  if (named === KESTRA_TENANT) return MAIN;
  const prefix = `${API_PREFIX}${named}/`;
  if (!path.startsWith(prefix)) return { kind: 'refused', status: 404, message: `Tenant ${named} not found` };
  return { kind: 'tenant', tenant, path: `${API_PREFIX}${KESTRA_TENANT}/${path.slice(prefix.length)}` };
}
