import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../backend/auth/login-throttle.js';
import { parseConfig } from '../../backend/config/config.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { FirstAdminGate } from '../../backend/users/first-admin.js';
import { countUsers } from '../../backend/users/user-store.js';
import { storeTargets } from '../support/databases.js';

const settings = { maxFailures: 5, failureWindow: 15 * 60_000, lockDuration: 15 * 60_000, perIpPerMinute: 1000 };

// Several replicas share a database only on PostgreSQL (SQLite is one process's embedded file).
for (const target of storeTargets().filter((t) => t.name === 'postgres')) {
  describe.skipIf(!target.available)(`concurrent writers on ${target.name}`, () => {
    let url: string;
    // Two replicas: two stores (two pools) on one database.
    let one: OpenStore;
    let two: OpenStore;

    beforeAll(async () => {
      url = await target.url();
      one = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
      await migrateToLatest(one.db);
      two = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
    });
    afterAll(async () => {
      await one?.close();
      await two?.close();
    });

    it('counts every one of simultaneous wrong passwords (first failures included) and locks at the limit', async () => {
      const throttles = [new LoginThrottle(one.db, settings), new LoginThrottle(two.db, settings)];
      const email = 'guessed@example.com';
      // An attacker sends the allowed number of guesses at once, spread over both replicas.
      const results = await Promise.allSettled(
        Array.from({ length: settings.maxFailures }, (_, i) => throttles[i % 2]!.recordFailure(email)),
      );
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const row = await one.db.selectFrom('login_failures').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
      expect(row.failures).toBe(settings.maxFailures);
      expect(await throttles[0]!.lockedUntil(email)).not.toBeNull();
    });

    it('counts simultaneous failures on an account that already has some', async () => {
      const throttles = [new LoginThrottle(one.db, settings), new LoginThrottle(two.db, settings)];
      const email = 'counted@example.com';
      await throttles[0]!.recordFailure(email);
      await Promise.all(Array.from({ length: settings.maxFailures - 1 }, (_, i) => throttles[i % 2]!.recordFailure(email)));
      const row = await one.db.selectFrom('login_failures').selectAll().where('email', '=', email).executeTakeFirstOrThrow();
      expect(row.failures).toBe(settings.maxFailures);
      expect(await throttles[1]!.lockedUntil(email)).not.toBeNull();
    });

    it('starts two replicas configured with the same first admin at once: both start, one admin', async () => {
      const fresh = await target.url();
      const a = await openStore({ databaseUrl: fresh, dataDir: '/nonexistent' });
      const b = await openStore({ databaseUrl: fresh, dataDir: '/nonexistent' });
      try {
        await Promise.all([migrateToLatest(a.db), migrateToLatest(b.db)]);
        const config = parseConfig({ databaseUrl: fresh, admin: { email: 'first@example.com', password: 'a long enough passphrase' } });
        const outcomes = await Promise.allSettled([new FirstAdminGate(a.db).bootstrap(config), new FirstAdminGate(b.db).bootstrap(config)]);
        expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
        expect(await countUsers(a.db, { superAdmin: true })).toBe(1);
        const bindings = await a.db.selectFrom('bindings').selectAll().execute();
        expect(bindings).toHaveLength(1);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
