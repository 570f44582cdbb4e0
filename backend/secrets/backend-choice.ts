import { nearestSecretManager } from '../namespaces/namespace-store.js';
import type { Store } from '../store/database.js';

/**
 * Which backend keeps a namespace's new secret values (issue 21, point 3: per tenant or namespace):
 * the namespace's own dedicated manager (EE's namespace `secretType`), else its nearest parent's, else
 * the one an instance owner picked for the tenant, else the instance's `secrets.backend.type`.
 * Each stored secret names the backend holding its value, so reads, sync and key rotation follow the
 * row, and a changed choice applies to values written afterwards.
 */
export type BackendSource = { level: 'namespace'; namespace: string } | { level: 'tenant' } | { level: 'instance' };

export interface BackendChoice {
  type: string;
  /** The namespace's dedicated manager is read-only for Perch (EE's `secretReadOnly`). */
  readOnly: boolean;
  source: BackendSource;
}

/** The tenant's pick (an instance owner's), if any. */
export async function tenantBackendType(db: Store, tenant: string): Promise<string | undefined> {
  return (await db.selectFrom('secret_backends').select('type').where('tenant_id', '=', tenant).executeTakeFirst())?.type;
}

export async function backendChoice(db: Store, instanceType: string, tenant: string, namespace?: string): Promise<BackendChoice> {
  const dedicated = namespace === undefined ? null : await nearestSecretManager(db, tenant, namespace);
  if (dedicated) return { type: dedicated.type, readOnly: dedicated.readOnly, source: { level: 'namespace', namespace: dedicated.namespace } };
  const picked = await tenantBackendType(db, tenant);
  return picked ? { type: picked, readOnly: false, source: { level: 'tenant' } } : { type: instanceType, readOnly: false, source: { level: 'instance' } };
}

export function describeSource(source: BackendSource, tenant: string): string {
  if (source.level === 'namespace') return `namespace ${source.namespace}'s dedicated secret manager`;
  return source.level === 'tenant' ? `tenant ${tenant}'s secret backend` : 'the instance\'s secret backend (secrets.backend.type)';
}
