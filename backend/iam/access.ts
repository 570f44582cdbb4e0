import type { FastifyRequest } from 'fastify';
import { RESOURCES, type Action, type Permissions, type Resource } from '../../lib/authz/catalogue.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { namespaceTenantRoots, underRoots } from '../authz/tenant-roots-bound.js';
import { forbidden, HttpError } from '../http/errors.js';
import { principalOf } from '../http/request.js';

/** Instance owners may manage IAM in every tenant without a binding (behaviour spec §2.6). */
export function may(ctx: PerchContext, principal: Principal, tenant: string, resource: Resource, action: Action): boolean {
  return principal.superAdmin || ctx.authz.allows(tenant, principal.userId, resource, action, null);
}

export function requirePermission(ctx: PerchContext, request: FastifyRequest, tenant: string, resource: Resource, action: Action): Principal {
  const principal = principalOf(request);
  if (!may(ctx, principal, tenant, resource, action)) {
    ctx.metrics.denied('forbidden');
    throw forbidden(`Permission ${resource}:${action} on tenant ${tenant} is required to do this`);
  }
  ctx.metrics.allowed(false);
  return principal;
}

/** `FLOW: CREATE, DELETE; ROLE: UPDATE` */
export function describePermissions(p: Permissions): string {
  return RESOURCES.filter((r) => p[r]?.length).map((r) => `${r}: ${p[r]!.join(', ')}`).join('; ');
}

/**
 * Anti-escalation: nobody hands out what they do not hold themselves, at the scope it is handed
 * out (a namespace, or tenant-wide when null). Instance owners are exempt.
 */
export function requireHolds(
  ctx: PerchContext, principal: Principal, tenant: string, permissions: Permissions, namespace: string | null, what: string,
): void {
  if (principal.superAdmin) return;
  const { ok, missing } = ctx.authz.holdsAll(tenant, principal.userId, permissions, namespace);
  if (ok) return;
  ctx.metrics.denied('forbidden');
  const where = namespace === null ? 'tenant-wide' : `on namespace ${namespace}`;
  throw new HttpError(403, `You cannot ${what}: it grants permissions you do not hold ${where} (missing ${describePermissions(missing)})`, { missing });
}

/** A namespace-scoped permission: held on `namespace` (or a parent of it, or tenant-wide). */
export function requireNamespacePermission(ctx: PerchContext, request: FastifyRequest, tenant: string, resource: Resource, action: Action, namespace: string): Principal {
  const principal = principalOf(request);
  // A NAMESPACE tenant has no namespace outside its roots, whoever asks (tenant-roots-bound.ts).
  const roots = namespaceTenantRoots(ctx.tenants)(tenant);
  if (roots !== undefined && !underRoots(roots, namespace)) throw forbidden(`Namespace ${namespace} is outside tenant ${tenant}'s namespaces (${roots.join(', ')})`);
  if (!principal.superAdmin && !ctx.authz.allows(tenant, principal.userId, resource, action, namespace)) {
    throw forbidden(`Permission ${resource}:${action} on namespace ${namespace} is required to do this`);
  }
  return principal;
}
