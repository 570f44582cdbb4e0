import type { Store } from '../store/database.js';

export interface ThrottleSettings {
  maxFailures: number;
  failureWindow: number;
  lockDuration: number;
  perIpPerMinute: number;
}

/**
 * Two brakes on password guessing: a per-account temporary lock kept in the store (it survives
 * restarts and is shared by replicas) and a per-IP budget kept in memory.
 */
export class LoginThrottle {
  private readonly ipWindows = new Map<string, { startedAt: number; attempts: number }>();

  constructor(
    private readonly db: Store,
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one attempt from this IP; false when the IP is over its budget. */
  allowIp(ip: string): boolean {
    const now = this.now();
    if (this.ipWindows.size > 10_000) {
      for (const [key, w] of this.ipWindows) if (now - w.startedAt >= 60_000) this.ipWindows.delete(key);
    }
    const window = this.ipWindows.get(ip);
    if (!window || now - window.startedAt >= 60_000) {
      this.ipWindows.set(ip, { startedAt: now, attempts: 1 });
      return true;
    }
    window.attempts++;
    return window.attempts <= this.settings.perIpPerMinute;
  }

  /** Epoch ms until which the account is locked, or null. */
  async lockedUntil(email: string): Promise<number | null> {
    const row = await this.db.selectFrom('login_failures').select('locked_until').where('email', '=', email).executeTakeFirst();
    return row?.locked_until && row.locked_until > this.now() ? row.locked_until : null;
  }

  /** Records a failure; returns the lock end when this failure locked the account. */
  async recordFailure(email: string): Promise<number | null> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('login_failures').selectAll().where('email', '=', email).executeTakeFirst();
      const freshWindow = !row || now - row.window_started_at >= this.settings.failureWindow || (row.locked_until !== null && row.locked_until <= now);
      const failures = freshWindow ? 1 : row.failures + 1;
      const lockedUntil = failures >= this.settings.maxFailures ? now + this.settings.lockDuration : null;
      const values = { failures, window_started_at: freshWindow ? now : row.window_started_at, locked_until: lockedUntil };
      if (row) await trx.updateTable('login_failures').set(values).where('email', '=', email).execute();
      else await trx.insertInto('login_failures').values({ email, ...values }).execute();
      return lockedUntil;
    });
  }

  async clear(email: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('email', '=', email).execute();
  }
}
