import { inheritsFrom } from '../namespaces/namespace-store.js';
import type { Store } from '../store/database.js';

/**
 * Which namespace owns each secret key, per tenant, in memory: the flow-save check (authz) asks it
 * on the proxy's path, where no database read is allowed. Its size is the number of secrets Perch
 * stores (a key is unique per tenant), so it is bounded by the store, not by traffic.
 */
export class SecretKeys {
  #owners = new Map<string, Map<string, string>>();

  /** Kestra OSS reads `secret('k')` as `SECRET_K`: keys compare upper-cased. */
  static envKey(key: string): string {
    return key.toUpperCase();
  }

  async load(db: Store): Promise<void> {
    const rows = await db.selectFrom('namespace_secrets').select(['tenant_id', 'namespace', 'env_key']).execute();
    const owners = new Map<string, Map<string, string>>();
    for (const row of rows) {
      let tenant = owners.get(row.tenant_id);
      if (!tenant) owners.set(row.tenant_id, (tenant = new Map()));
      tenant.set(row.env_key, row.namespace);
    }
    this.#owners = owners;
  }

  set(tenant: string, key: string, namespace: string): void {
    let owners = this.#owners.get(tenant);
    if (!owners) this.#owners.set(tenant, (owners = new Map()));
    owners.set(SecretKeys.envKey(key), namespace);
  }

  remove(tenant: string, key: string): void {
    this.#owners.get(tenant)?.delete(SecretKeys.envKey(key));
  }

  /** The namespace holding `key` in `tenant`, or null when Perch stores no such secret. */
  ownerOf(tenant: string, key: string): string | null {
    return this.#owners.get(tenant)?.get(SecretKeys.envKey(key)) ?? null;
  }

  /** Whether a flow of `namespace` may name `key`: the secret is its namespace's or a parent's. */
  visibleFrom(tenant: string, key: string, namespace: string): boolean {
    const owner = this.ownerOf(tenant, key);
    return owner !== null && inheritsFrom(namespace, owner);
  }
}
