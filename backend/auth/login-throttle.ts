import { sql } from 'kysely';
import type { Store } from '../store/database.js';
import { StoreRateLimit } from '../store/rate-limits.js';

export interface ThrottleSettings {
  maxFailures: number;
  failureWindow: number;
  lockDuration: number;
  perIpPerMinute: number;
}

/** What one password attempt came to, in the order the brakes apply. */
export type PasswordAttempt =
  | { outcome: 'ok' }
  /** This address is over its per-minute budget; nothing was checked. */
  | { outcome: 'ipLimited' }
  /** The account is locked until `until`; the password was not checked. */
  | { outcome: 'locked'; until: number }
  /** Wrong password, counted; `lockedUntil`: this failure locked the account. */
  | { outcome: 'wrong'; lockedUntil: number | null };

/**
 * The 429 answer to an attempt a brake stopped (null when none did), the same on every route that
 * takes a password.
 */
export function throttledAnswer(attempt: PasswordAttempt, now = Date.now()): { message: string; retryAfterSeconds: number } | null {
  if (attempt.outcome === 'ipLimited') return { message: 'Too many sign-in attempts from this address; wait a minute', retryAfterSeconds: 60 };
  if (attempt.outcome !== 'locked') return null;
  const seconds = Math.ceil((attempt.until - now) / 1000);
  return { message: `Too many failed sign-ins: this account is locked for ${Math.ceil(seconds / 60)} more minute(s)`, retryAfterSeconds: seconds };
}

/**
 * Two brakes on password guessing, both kept in the store (they survive restarts and are shared by
 * replicas): a per-account temporary lock and a per-IP budget.
 */
export class LoginThrottle {
  private readonly ipLimit: StoreRateLimit;

  constructor(
    private readonly db: Store,
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.ipLimit = new StoreRateLimit(db, 'sign-in', settings.perIpPerMinute, now);
  }

  /** Counts one attempt from this IP; false when the IP is over its budget. */
  async allowIp(ip: string): Promise<boolean> {
    return (await this.ipLimit.take(ip)).ok;
  }

  /** Epoch ms until which the account is locked, or null. */
  async lockedUntil(email: string): Promise<number | null> {
    const row = await this.db.selectFrom('login_failures').select('locked_until').where('email', '=', email).executeTakeFirst();
    return row?.locked_until && row.locked_until > this.now() ? row.locked_until : null;
  }

  /**
   * Records a failure; returns the lock end when this failure locked the account. One atomic
   * read-modify-write of the row: simultaneous failures (on one replica or several) are each counted.
   */
  async recordFailure(email: string): Promise<number | null> {
    const now = this.now();
    const { failureWindow, maxFailures, lockDuration } = this.settings;
    return this.db.transaction().execute(async (trx) => {
      // The row to count on, fresh (failures 0, window from now) unless there is one.
      await trx
        .insertInto('login_failures')
        .values({ email, failures: 0, window_started_at: now, locked_until: null })
        .onConflict((oc) => oc.column('email').doNothing())
        .execute();
      const at = sql<number>`cast(${now} as bigint)`;
      const freshWindow = sql<boolean>`(${at} - window_started_at >= ${failureWindow} or (locked_until is not null and locked_until <= ${at}))`;
      const failures = sql<number>`case when ${freshWindow} then 1 else failures + 1 end`;
      const row = await trx
        .updateTable('login_failures')
        .set({
          failures,
          window_started_at: sql<number>`case when ${freshWindow} then ${at} else window_started_at end`,
          locked_until: sql<number | null>`case when ${failures} >= ${maxFailures} then cast(${now + lockDuration} as bigint) else null end`,
        })
        .where('email', '=', email)
        .returning('locked_until')
        .executeTakeFirstOrThrow();
      return row.locked_until === null ? null : Number(row.locked_until);
    });
  }

  /**
   * One password attempt for `email` from `ip`, through both brakes: `check` (the Argon2 verify) runs
   * only when neither holds; a wrong password counts towards the lock, a right one clears the count.
   * Every route that takes a password goes through here, so none is a way around the lock.
   */
  async attempt(ip: string, email: string, check: () => Promise<boolean>): Promise<PasswordAttempt> {
    if (!(await this.allowIp(ip))) return { outcome: 'ipLimited' };
    const until = await this.lockedUntil(email);
    if (until) return { outcome: 'locked', until };
    if (!(await check())) return { outcome: 'wrong', lockedUntil: await this.recordFailure(email) };
    await this.clear(email);
    return { outcome: 'ok' };
  }

  async clear(email: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('email', '=', email).execute();
  }
}
