import type { KnownTenant } from '../context.js';
import type { KestraTarget } from './kestra-target.js';

interface Closable {
  close(): Promise<void>;
}

/**
 * The Kestra of each INSTANCE tenant, with what talks to it (pools, authorizer), built on the
 * tenant's first call and kept while its URL and credentials stay the same: one per tenant, so
 * bounded by the tenants that exist. A changed or deleted tenant's is closed (gracefully: calls in
 * flight finish) when the next one is built.
 */
export class TenantUpstreams<U extends Closable> {
  readonly #built = new Map<string, { url: string; authorization: string; upstream: U }>();

  constructor(
    private readonly build: (target: KestraTarget) => U,
    /** How long Perch waits for a tenant's Kestra's headers: as for its configured one. */
    private readonly timeout: number,
    /** Whether a tenant still exists (ctx.tenants), for sweeping deleted ones. */
    private readonly exists: (id: string) => boolean = () => true,
  ) {}

  of(tenant: KnownTenant & { kestraUrl: string; authorization: string }): U {
    const built = this.#built.get(tenant.id);
    if (built && built.url === tenant.kestraUrl && built.authorization === tenant.authorization) return built.upstream;
    if (built) void built.upstream.close();
    for (const [id, other] of this.#built) {
      if (!this.exists(id)) {
        this.#built.delete(id);
        void other.upstream.close();
      }
    }
    const { origin, host } = new URL(tenant.kestraUrl);
    const upstream = this.build({ url: tenant.kestraUrl, origin, host, timeout: this.timeout, authorization: tenant.authorization });
    this.#built.set(tenant.id, { url: tenant.kestraUrl, authorization: tenant.authorization, upstream });
    return upstream;
  }

  async close(): Promise<void> {
    const all = [...this.#built.values()];
    this.#built.clear();
    await Promise.all(all.map((b) => b.upstream.close()));
  }
}
