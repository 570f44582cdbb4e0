import { sql } from 'kysely';
import type { AiBudgetUse, AiConfig } from '../../lib/schemas/ai.js';
import { HttpError } from '../http/errors.js';
import type { Store } from '../store/database.js';

/*
 * Token budgets per tenant and per person (issue 24, point 4), counted from the usage the providers
 * report. Counters are stored (`ai_token_usage`, so they survive a restart and replicas share them)
 * and kept in memory: a check reads memory, a counter is read from the store once per process and
 * period, and each request's tokens are added by one atomic upsert whose result refreshes memory (and
 * brings in what other replicas added). A request that starts under budget runs to its end: a budget
 * may be overshot by the requests running when it was reached.
 */

/** The whole tenant's counter has this person id. */
const WHOLE_TENANT = '';
/** Counters kept in memory at most (each is a few numbers); the oldest is dropped first. */
const MAX_COUNTERS = 10_000;

export type BudgetPeriod = AiConfig['tokenBudget']['period'];

/** The period `at` falls in (UTC) and when the next one starts. */
export function periodOf(period: BudgetPeriod, at: number): { id: string; resetsAt: Date } {
  const d = new Date(at);
  if (period === 'day') return { id: d.toISOString().slice(0, 10), resetsAt: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)) };
  return { id: d.toISOString().slice(0, 7), resetsAt: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)) };
}

export interface BudgetState {
  period: BudgetPeriod;
  current: string;
  resetsAt: Date;
  tenant: AiBudgetUse;
  person: AiBudgetUse;
}

/** The limits that apply (null: not limited); the instance's unless a tenant's overrides say otherwise. */
export interface BudgetLimits {
  perTenant: number | null;
  perPerson: number | null;
}

export class TokenBudgets {
  private readonly counters = new Map<string, { period: string; tokens: number }>();

  constructor(
    private readonly db: Store,
    private readonly config: AiConfig['tokenBudget'],
    private readonly now: () => number = Date.now,
  ) {}

  /** What the tenant and the person used in the current period, against their limits. */
  async state(tenant: string, personId: string, limits: BudgetLimits = { perTenant: this.config.perTenant ?? null, perPerson: this.config.perPerson ?? null }): Promise<BudgetState> {
    const { id, resetsAt } = periodOf(this.config.period, this.now());
    const [tenantUsed, personUsed] = await Promise.all([this.used(tenant, WHOLE_TENANT, id), this.used(tenant, personId, id)]);
    return {
      period: this.config.period,
      current: id,
      resetsAt,
      tenant: { used: tenantUsed, limit: limits.perTenant },
      person: { used: personUsed, limit: limits.perPerson },
    };
  }

  /** 429 naming the budget used up and when it resets (with the seconds until then for Retry-After). */
  async check(tenant: string, personId: string, limits?: BudgetLimits): Promise<BudgetState> {
    const state = await this.state(tenant, personId, limits);
    const spent = (use: AiBudgetUse) => use.limit !== null && use.used >= use.limit;
    const refused = spent(state.tenant)
      ? { budget: 'tenant' as const, use: state.tenant, whose: `Tenant ${tenant}'s AI token budget` }
      : spent(state.person) ? { budget: 'person' as const, use: state.person, whose: `Your AI token budget in tenant ${tenant}` } : null;
    if (refused) {
      const retryAfterSeconds = Math.max(1, Math.ceil((state.resetsAt.getTime() - this.now()) / 1000));
      const { budget, use, whose } = refused;
      throw new HttpError(
        429,
        `${whose} is used up: ${use.used} of ${use.limit} tokens this ${state.period} (${state.current}); it resets at ${state.resetsAt.toISOString()}`,
        { budget, used: use.used, limit: use.limit, period: state.period, resetsAt: state.resetsAt.toISOString(), retryAfterSeconds },
      );
    }
    return state;
  }

  /** Adds the tokens a request used to the tenant's and the person's counters of the current period. */
  async add(tenant: string, personId: string, tokens: number): Promise<void> {
    if (!(tokens > 0)) return;
    const { id } = periodOf(this.config.period, this.now());
    await this.db.transaction().execute(async (trx) => {
      for (const person of [WHOLE_TENANT, personId]) {
        const row = await trx
          .insertInto('ai_token_usage')
          .values({ tenant_id: tenant, person_id: person, period: id, tokens })
          .onConflict((oc) => oc.columns(['tenant_id', 'person_id', 'period']).doUpdateSet({ tokens: sql<number>`ai_token_usage.tokens + ${tokens}` }))
          .returning('tokens')
          .executeTakeFirstOrThrow();
        this.remember(tenant, person, id, Number(row.tokens));
      }
    });
  }

  private async used(tenant: string, personId: string, period: string): Promise<number> {
    const known = this.counters.get(`${tenant}\n${personId}`);
    if (known?.period === period) return known.tokens;
    const row = await this.db.selectFrom('ai_token_usage').select('tokens').where('tenant_id', '=', tenant).where('person_id', '=', personId).where('period', '=', period).executeTakeFirst();
    const tokens = row ? Number(row.tokens) : 0;
    this.remember(tenant, personId, period, tokens);
    return tokens;
  }

  private remember(tenant: string, personId: string, period: string, tokens: number): void {
    const key = `${tenant}\n${personId}`;
    this.counters.delete(key);
    if (this.counters.size >= MAX_COUNTERS) this.counters.delete(this.counters.keys().next().value!);
    this.counters.set(key, { period, tokens });
  }
}
