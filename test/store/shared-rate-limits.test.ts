/**
 * Issue 19 point 3: rate limits are counted in the store, so replicas on one database share one
 * limit (PostgreSQL), and one instance keeps its limit on SQLite. Each replica here is a store of
 * its own (its own pool) on the same database, with the limiter the app pages use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../backend/auth/login-throttle.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { StoreRateLimit } from '../../backend/store/rate-limits.js';
import { storeTargets } from '../support/databases.js';

const PER_MINUTE = 6;
// Each address's window is one minute from its first request.
const minuteStart = 1_800_000_000_000;
let clock = minuteStart;
const now = () => clock;

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`shared rate limits on ${target.name}`, () => {
    let one: OpenStore;
    let two: OpenStore;

    beforeAll(async () => {
      const url = await target.url();
      one = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
      await migrateToLatest(one.db);
      // On PostgreSQL a second replica; on SQLite the same single instance's store.
      two = target.name === 'postgres' ? await openStore({ databaseUrl: url, dataDir: '/nonexistent' }) : one;
    });
    afterAll(async () => {
      if (two !== one) await two?.close();
      await one?.close();
    });

    it('counts simultaneous submissions spread over the replicas against the one limit, then answers when to retry', async () => {
      clock = minuteStart;
      const limits = [new StoreRateLimit(one.db, 'app-submissions', PER_MINUTE, now), new StoreRateLimit(two.db, 'app-submissions', PER_MINUTE, now)];
      const decisions = await Promise.all(Array.from({ length: PER_MINUTE * 2 }, (_, i) => limits[i % 2]!.take('203.0.113.7')));
      expect(decisions.filter((d) => d.ok)).toHaveLength(PER_MINUTE);
      expect(decisions.filter((d) => !d.ok)).toEqual(Array(PER_MINUTE).fill({ ok: false, retryAfterSeconds: 60 }));
      clock = minuteStart + 20_000;
      // Both replicas refuse the address now; another address and another bucket have their own counts.
      expect(await limits[0]!.take('203.0.113.7')).toEqual({ ok: false, retryAfterSeconds: 40 });
      expect(await limits[1]!.take('203.0.113.7')).toEqual({ ok: false, retryAfterSeconds: 40 });
      expect(await limits[1]!.take('198.51.100.2')).toEqual({ ok: true });
      expect(await new StoreRateLimit(two.db, 'other', PER_MINUTE, now).take('203.0.113.7')).toEqual({ ok: true });
    });

    it('lets the address in again a minute after its first request and deletes the ended windows', async () => {
      clock = minuteStart + 20_000;
      const limit = new StoreRateLimit(one.db, 'next-minute', 1, now);
      expect(await limit.take('192.0.2.9')).toEqual({ ok: true });
      clock = minuteStart + 50_000;
      expect(await limit.take('192.0.2.9')).toEqual({ ok: false, retryAfterSeconds: 30 });
      clock = minuteStart + 80_000;
      expect(await new StoreRateLimit(two.db, 'next-minute', 1, now).take('192.0.2.9')).toEqual({ ok: true });
      const rows = await one.db.selectFrom('rate_limits').select(['bucket', 'client', 'window_start', 'count']).execute();
      expect(rows.map((r) => ({ ...r, window_start: Number(r.window_start), count: Number(r.count) }))).toEqual([
        { bucket: 'next-minute', client: '192.0.2.9', window_start: minuteStart + 80_000, count: 1 },
      ]);
    });

    it('shares the per-address sign-in budget: attempts spread over the replicas are refused past it, the password unchecked', async () => {
      clock = minuteStart + 200_000;
      const settings = { maxFailures: 100, failureWindow: 60_000, lockDuration: 60_000, perIpPerMinute: 3 };
      const throttles = [new LoginThrottle(one.db, settings, now), new LoginThrottle(two.db, settings, now)];
      let checked = 0;
      const check = async () => (checked++, false);
      const outcomes = [];
      for (let i = 0; i < 5; i++) outcomes.push((await throttles[i % 2]!.attempt('198.51.100.9', 'someone@example.com', check)).outcome);
      expect(outcomes).toEqual(['wrong', 'wrong', 'wrong', 'ipLimited', 'ipLimited']);
      expect(checked).toBe(3);
    });
  });
}
