import { sql } from 'kysely';
import type { Store } from './database.js';

const WINDOW_MS = 60_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * How many requests one client address may make per minute in one `bucket` (a one-minute window
 * from the address's first request). The counters live in the store: replicas on one database share
 * one limit, and each count is one atomic upsert, so simultaneous requests (on one replica or
 * several) are each counted.
 */
export class StoreRateLimit {
  /** When this instance last deleted ended windows (it does so at most once a minute). */
  private sweptAt = 0;

  constructor(
    private readonly db: Store,
    private readonly bucket: string,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request; refused when the address has used up its minute (then the seconds until it may again). `perMinute`: this address's own limit. */
  async take(address: string, perMinute = this.perMinute): Promise<RateDecision> {
    const now = this.now();
    if (now - this.sweptAt >= WINDOW_MS) {
      this.sweptAt = now;
      await this.db.deleteFrom('rate_limits').where('window_start', '<=', now - WINDOW_MS).execute();
    }
    const at = sql<number>`cast(${now} as bigint)`;
    const ended = sql<boolean>`(${at} - rate_limits.window_start >= ${WINDOW_MS})`;
    const row = await this.db
      .insertInto('rate_limits')
      .values({ bucket: this.bucket, client: address.slice(0, 200), window_start: now, count: 1 })
      .onConflict((oc) =>
        oc.columns(['bucket', 'client']).doUpdateSet({
          count: sql<number>`case when ${ended} then 1 else rate_limits.count + 1 end`,
          window_start: sql<number>`case when ${ended} then ${at} else rate_limits.window_start end`,
        }),
      )
      .returning(['count', 'window_start'])
      .executeTakeFirstOrThrow();
    if (Number(row.count) <= perMinute) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((Number(row.window_start) + WINDOW_MS - now) / 1000)) };
  }
}
