import { sql } from 'kysely';
import type { Store } from './database.js';

const WINDOW_MS = 60_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * How many requests one client address may make per minute in one `bucket` (fixed one-minute
 * windows aligned on the clock, so every replica agrees on the window). The counters live in the
 * store: replicas on one database share one limit, and each count is one atomic upsert, so
 * simultaneous requests (on one replica or several) are each counted.
 */
export class StoreRateLimit {
  /** The window this instance last swept expired rows behind (sweeps run once per window). */
  private sweptBefore = 0;

  constructor(
    private readonly db: Store,
    private readonly bucket: string,
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request; refused when the address has used up its minute (then the seconds until it may again). */
  async take(address: string): Promise<RateDecision> {
    const now = this.now();
    const windowStart = now - (now % WINDOW_MS);
    if (this.sweptBefore < windowStart) {
      this.sweptBefore = windowStart;
      await this.sweep(windowStart);
    }
    const row = await this.db
      .insertInto('rate_limits')
      .values({ bucket: this.bucket, client: address.slice(0, 200), window_start: windowStart, count: 1 })
      .onConflict((oc) => oc.columns(['bucket', 'client', 'window_start']).doUpdateSet({ count: sql<number>`rate_limits.count + 1` }))
      .returning('count')
      .executeTakeFirstOrThrow();
    if (Number(row.count) <= this.perMinute) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000)) };
  }

  /**
   * Deletes the rows of windows that have ended, of every bucket. It runs once per window on each
   * replica, so what it deletes is at most the addresses seen since the last sweep.
   */
  private async sweep(windowStart: number): Promise<void> {
    await this.db.deleteFrom('rate_limits').where('window_start', '<', windowStart).execute();
  }
}
