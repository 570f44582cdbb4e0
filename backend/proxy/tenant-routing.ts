import type { Principal } from '../auth/sessions.js';
import { KESTRA_TENANT, matchPolicy, type PolicyRow } from '../authz/policy-map.js';
import type { KnownTenant, TenantDirectory } from '../context.js';
import { isSession, tenantRefusal } from '../http/tenant-entry.js';
import { underRoots } from '../authz/tenant-roots-bound.js';

/**
 * Which tenant a Kestra API call is for, and where it goes (issue 20): the `{tenant}` of the policy
 * map's row, except that a browser session's calls to `main` (the only tenant the stock UI knows)
 * go to the tenant the session selected. `main` and un-tenanted operations go to Perch's configured
 * Kestra as always; another tenant's call is rewritten to `/api/v1/main/…` (the one tenant Kestra
 * OSS serves) and sent to that tenant's Kestra (INSTANCE), or to the shared one, bounded by the
 * tenant's namespace roots (NAMESPACE, authz/tenant-roots-bound.ts). Unknown tenant 404, not allowed there 403
 * (http/tenant-entry.ts): both before anything reaches any Kestra. Answered from memory.
 */
export type TenantRoute =
  | { kind: 'main' }
  | { kind: 'refused'; status: 403 | 404; message: string }
  | { kind: 'tenant'; tenant: KnownTenant; path: string };

const MAIN: TenantRoute = Object.freeze({ kind: 'main' });
const API_PREFIX = '/api/v1/';

export function routeTenant(tenants: TenantDirectory, method: string, path: string, principal: Principal | null): TenantRoute {
  let named = matchPolicy(method, path)?.tenant ?? null;
  // An operation the policy map does not know keeps its path: the authorizer refuses it, naming it.
  if (named === null) return MAIN;
  if (named === KESTRA_TENANT && principal && principal.tenantId !== KESTRA_TENANT && isSession(principal)) named = principal.tenantId;
  // Anonymous calls (webhooks, authenticated by Kestra with their key) need no tenant access.
  const refusal = tenantRefusal(tenants, principal, named);
  if (refusal) return { kind: 'refused', ...refusal };
  if (named === KESTRA_TENANT) return MAIN;
  const tenant = tenants.get(named)!;
  const prefix = `${API_PREFIX}${named}/`;
  if (path.startsWith(prefix)) return { kind: 'tenant', tenant, path: `${API_PREFIX}${KESTRA_TENANT}/${path.slice(prefix.length)}` };
  // A session's call to main, for the tenant it selected: the path already names main.
  if (path.startsWith(`${API_PREFIX}${KESTRA_TENANT}/`)) return { kind: 'tenant', tenant, path };
  return { kind: 'refused', status: 404, message: `Tenant ${named} not found` };
}

/**
 * Operations on the whole shared Kestra, which no namespace bounds: its instance-wide objects and
 * counters (instance owners' rows: MCP servers, usages), and a plugin's own endpoints outside a task
 * run (the plugin acts with Kestra's authority on whatever it likes).
 */
const kestraWide = (row: PolicyRow) => row.access === 'instanceOwner' || (row.path.includes('/plugins/{group}/endpoints/') && !row.path.includes('{executionId}'));

/**
 * What a NAMESPACE tenant's authorized call may still not do (null: nothing): name a namespace
 * outside the tenant's roots (a public webhook, which no binding decides), act on the whole shared
 * Kestra, or ask for a graph with its subflows expanded (Kestra reads the subflows' structure
 * wherever they live, unchecked).
 */
export function outsideRoots(tenant: KnownTenant, verdict: { row: PolicyRow; namespaces: readonly string[] }, query: string): { status: 403; message: string } | null {
  if (tenant.mode !== 'NAMESPACE') return null;
  if (kestraWide(verdict.row)) {
    return { status: 403, message: `Tenant ${tenant.id} lives in a shared Kestra: ${verdict.row.method} ${verdict.row.path} acts on all of it, so it is refused there` };
  }
  const outside = verdict.namespaces.find((ns) => !underRoots(tenant.namespaces, ns));
  if (outside !== undefined) return { status: 403, message: `Namespace ${outside} is outside tenant ${tenant.id}'s namespaces (${tenant.namespaces.join(', ')})` };
  if (verdict.row.path.endsWith('/graph') && /(?:^|[&;])subflows(?:[=&;]|$)/.test(query)) {
    return { status: 403, message: `Tenant ${tenant.id} lives in a shared Kestra: a graph's subflows are not expanded there (Kestra would read them wherever they live)` };
  }
  return null;
}
