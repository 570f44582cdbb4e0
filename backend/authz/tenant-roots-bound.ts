import { namespaceCovers } from '../../lib/authz/namespaces.js';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import type { DecisionIndex, NamespaceScope } from './decision-index.js';

/** The decisions the Kestra authorizer asks: what the decision index answers, or a bounded view of it. */
export type NamespaceDecisions = Pick<DecisionIndex, 'allows' | 'scope'> & {
  /** False: the namespace lies outside the tenant's roots, so it does not exist for that tenant (absent: every namespace is). */
  inTenant?(tenantId: string, namespace: string): boolean;
  /** True: the tenant lives under roots in a shared Kestra, whose Kestra-wide objects (stored dashboards) are not its own. */
  sharesKestra?(tenantId: string): boolean;
};

/** A tenant's namespace roots when it is a NAMESPACE tenant of the shared Kestra; undefined: not bounded. */
export type TenantRoots = (tenantId: string) => readonly string[] | undefined;

/**
 * A NAMESPACE tenant (issue 20) lives in the shared Kestra under the roots it owns: what a person
 * may do there is their bindings in that tenant intersected with those roots. Applied as one more
 * bound on the decision index, so every narrowing path of the authorizer (query scope, response
 * filter, page fill, flow references, by-ids and by-query writes) serves it unchanged:
 * - a namespace outside the roots is allowed to nobody;
 * - a tenant-wide binding reaches the roots, not the whole shared Kestra (never `all`);
 * - a tenant-level question (dashboards, global secrets, chart data: Kestra-wide objects) is refused,
 *   as it would read or touch what lies outside the roots.
 * Other tenants (main, INSTANCE ones) are answered by the index as they are. The roots are read from
 * memory (the tenant directory) on each decision: no cache to invalidate when a tenant changes.
 */
export function boundByTenantRoots(index: NamespaceDecisions, rootsOf: TenantRoots): NamespaceDecisions {
  return {
    allows(tenantId: string, userId: string, resource: Resource, action: Action, namespace: string | null): boolean {
      const roots = rootsOf(tenantId);
      if (roots === undefined) return index.allows(tenantId, userId, resource, action, namespace);
      return namespace !== null && underRoots(roots, namespace) && index.allows(tenantId, userId, resource, action, namespace);
    },
    scope(tenantId: string, userId: string, resource: Resource, action: Action): NamespaceScope {
      const reach = index.scope(tenantId, userId, resource, action);
      const roots = rootsOf(tenantId);
      return roots === undefined ? reach : { all: false, namespaces: intersect(reach, roots) };
    },
    inTenant(tenantId: string, namespace: string): boolean {
      const roots = rootsOf(tenantId);
      return roots === undefined || underRoots(roots, namespace);
    },
    sharesKestra(tenantId: string): boolean {
      return rootsOf(tenantId) !== undefined;
    },
  };
}

/** The roots of the NAMESPACE tenants a directory knows (KnownTenant.namespaces). */
export function namespaceTenantRoots(tenants: { get(id: string): { mode: string; namespaces: readonly string[] } | undefined }): TenantRoots {
  return (tenantId) => {
    const tenant = tenants.get(tenantId);
    return tenant?.mode === 'NAMESPACE' ? tenant.namespaces : undefined;
  };
}

export function underRoots(roots: readonly string[], namespace: string): boolean {
  return roots.some((root) => namespaceCovers(root, namespace));
}

/** The namespaces both cover, as a minimal sorted set of roots (the index's own form). */
function intersect(reach: NamespaceScope, roots: readonly string[]): string[] {
  if (reach.all) return [...roots].sort();
  const out = new Set<string>();
  for (const ns of reach.namespaces) if (underRoots(roots, ns)) out.add(ns);
  for (const root of roots) if (reach.namespaces.some((ns) => namespaceCovers(ns, root))) out.add(root);
  return [...out].filter((ns) => ![...out].some((other) => other !== ns && namespaceCovers(other, ns))).sort();
}
