import type { AiConfig, AiTenantLimits } from '../../lib/schemas/ai.js';
import type { Store } from '../store/database.js';
import { LRUCache } from 'lru-cache';

/*
 * An instance owner's overrides of one tenant's AI limits (issue 24, point 4): the tenant's request
 * rate, its token budget and the per-person budget inside it; what is not overridden is the
 * instance's setting. Read by AiAdmission for every request, so kept in memory: at most
 * MAX_TENANTS tenants, each for TTL_MS (another replica's change holds within that time), and
 * forgotten at once on this replica when changed here.
 */

const MAX_TENANTS = 5_000;
const TTL_MS = 30_000;

const NONE: AiTenantLimits = { tenantRequestsPerMinute: null, tokenBudgetPerTenant: null, tokenBudgetPerPerson: null };

export interface StoredTenantLimits {
  overrides: AiTenantLimits;
  updatedAt: Date | null;
}

/** The instance's settings, in the overrides' shape. */
export const instanceLimits = (ai: AiConfig): AiTenantLimits => ({
  tenantRequestsPerMinute: ai.tenantRequestsPerMinute ?? null,
  tokenBudgetPerTenant: ai.tokenBudget.perTenant ?? null,
  tokenBudgetPerPerson: ai.tokenBudget.perPerson ?? null,
});

/** What applies in a tenant: each override, else the instance's setting. */
export const effectiveLimits = (ai: AiConfig, overrides: AiTenantLimits): AiTenantLimits => {
  const instance = instanceLimits(ai);
  return {
    tenantRequestsPerMinute: overrides.tenantRequestsPerMinute ?? instance.tenantRequestsPerMinute,
    tokenBudgetPerTenant: overrides.tokenBudgetPerTenant ?? instance.tokenBudgetPerTenant,
    tokenBudgetPerPerson: overrides.tokenBudgetPerPerson ?? instance.tokenBudgetPerPerson,
  };
};

/** The token budgets among a tenant's limits, as TokenBudgets takes them. */
export const budgetLimits = (limits: AiTenantLimits) => ({ perTenant: limits.tokenBudgetPerTenant, perPerson: limits.tokenBudgetPerPerson });

export class TenantLimitStore {
  private readonly cache = new LRUCache<string, StoredTenantLimits>({ max: MAX_TENANTS, ttl: TTL_MS });

  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** The tenant's overrides (all null when none are stored), from memory when recently read. */
  async of(tenant: string): Promise<StoredTenantLimits> {
    const cached = this.cache.get(tenant);
    if (cached) return cached;
    const row = await this.db.selectFrom('ai_tenant_limits').selectAll().where('tenant_id', '=', tenant).executeTakeFirst();
    const stored: StoredTenantLimits = row
      ? {
          overrides: {
            tenantRequestsPerMinute: row.tenant_requests_per_minute === null ? null : Number(row.tenant_requests_per_minute),
            tokenBudgetPerTenant: row.tokens_per_tenant === null ? null : Number(row.tokens_per_tenant),
            tokenBudgetPerPerson: row.tokens_per_person === null ? null : Number(row.tokens_per_person),
          },
          updatedAt: new Date(Number(row.updated_at)),
        }
      : { overrides: NONE, updatedAt: null };
    this.cache.set(tenant, stored);
    return stored;
  }

  /** Replaces the tenant's overrides (all null: the row goes, the instance's settings apply). */
  async set(tenant: string, overrides: AiTenantLimits): Promise<void> {
    try {
      if (Object.values(overrides).every((v) => v === null)) {
        await this.db.deleteFrom('ai_tenant_limits').where('tenant_id', '=', tenant).execute();
        return;
      }
      const values = {
        tenant_requests_per_minute: overrides.tenantRequestsPerMinute,
        tokens_per_tenant: overrides.tokenBudgetPerTenant,
        tokens_per_person: overrides.tokenBudgetPerPerson,
        updated_at: this.now(),
      };
      await this.db
        .insertInto('ai_tenant_limits')
        .values({ tenant_id: tenant, ...values })
        .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
        .execute();
    } finally {
      this.cache.delete(tenant);
    }
  }
}
