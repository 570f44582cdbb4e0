import type { FastifyBaseLogger } from 'fastify';
import type { KnownTenant, TenantDirectory } from '../context.js';
import type { Envelope } from '../crypto/envelope.js';
import type { Store } from '../store/database.js';
import { allTenantAccess, allTenants, passwordPlace, rootsOf, type TenantRow } from './tenant-store.js';

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

/**
 * Tenants and tenant access held in memory, read whole from the store at start and after every
 * change (here, or on another replica over the change feed): the proxy and every route ask it
 * without a database read. Its size is the store's tenants and access rows.
 */
export class MemoryTenantDirectory implements TenantDirectory {
  #tenants = new Map<string, KnownTenant>();
  #access = new Map<string, Set<string>>();
  /** Reloads in flight are chained: the last one to finish read the latest state. */
  #loading: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Store,
    private readonly envelope: Envelope,
    private readonly log: FastifyBaseLogger,
    /** Tells the other replicas to re-read (the change feed). */
    private readonly announce: () => void = () => undefined,
  ) {}

  get(id: string): KnownTenant | undefined {
    return this.#tenants.get(id);
  }

  mayEnter(principal: { userId: string; superAdmin: boolean }, tenantId: string): boolean {
    if (!this.#tenants.has(tenantId)) return false;
    return principal.superAdmin || (this.#access.get(principal.userId)?.has(tenantId) ?? false);
  }

  tenantsOf(userId: string): KnownTenant[] {
    return [...(this.#access.get(userId) ?? [])].map((id) => this.#tenants.get(id)).filter((t): t is KnownTenant => t !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  enterable(principal: { userId: string; superAdmin: boolean }): KnownTenant[] {
    return principal.superAdmin ? [...this.#tenants.values()].sort((a, b) => a.id.localeCompare(b.id)) : this.tenantsOf(principal.userId);
  }

  granted(tenantId: string, userId: string): void {
    let set = this.#access.get(userId);
    if (!set) this.#access.set(userId, (set = new Set()));
    set.add(tenantId);
    this.announce();
  }

  reload(): Promise<void> {
    this.#loading = this.#loading.catch(() => undefined).then(() => this.#read());
    return this.#loading;
  }

  async #read(): Promise<void> {
    const [rows, access] = await Promise.all([allTenants(this.db), allTenantAccess(this.db)]);
    const tenants = new Map<string, KnownTenant>();
    for (const row of rows) tenants.set(row.id, this.#known(row));
    const byUser = new Map<string, Set<string>>();
    for (const { tenant_id, user_id } of access) {
      let set = byUser.get(user_id);
      if (!set) byUser.set(user_id, (set = new Set()));
      set.add(tenant_id);
    }
    this.#tenants = tenants;
    this.#access = byUser;
  }

  #known(row: TenantRow): KnownTenant {
    let authorization: string | null = null;
    if (row.mode === 'INSTANCE' && row.kestra_username && row.kestra_password) {
      try {
        authorization = basic(row.kestra_username, this.envelope.openText(row.kestra_password, passwordPlace(row.id)));
      } catch (error) {
        // The proxy answers 502 for this tenant; the reason names the tenant, never the value.
        this.log.error({ err: error, tenantId: row.id }, `tenant ${row.id}: its Kestra password does not open`);
      }
    }
    return { id: row.id, name: row.name, mode: row.mode, kestraUrl: row.kestra_url, authorization, namespaces: row.mode === 'NAMESPACE' ? rootsOf(row) : [] };
  }
}

export { basic as basicAuthorization };
