import { describe, expect, it } from 'vitest';
import { migrateToLatest, openStore } from '../../backend/store/database.js';
import { migrations } from '../../backend/store/migrations/index.js';
import { createUser, findUserByEmail } from '../../backend/users/user-store.js';
import { storeTargets } from '../support/databases.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`store on ${target.name}`, () => {
    it('migrates once, reports progress, and is idempotent on restart', async () => {
      const url = await target.url();
      const first = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
      const lines: string[] = [];
      await migrateToLatest(first.db, (line) => lines.push(line));
      expect(first.dialect).toBe(target.name);
      expect(lines.slice(0, 2)).toEqual(['migration 001-people-and-sessions: applied', 'migration 002-iam: applied']);
      // Every later migration too, in order (the list grows with each feature).
      expect(lines).toEqual(Object.keys(migrations).map((name) => `migration ${name}: applied`));
      await first.close();

      const again = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
      const secondLines: string[] = [];
      await migrateToLatest(again.db, (line) => secondLines.push(line));
      expect(secondLines).toEqual([]);
      await again.close();
    });

    it('rolls back a half-done write and keeps numbers and flags the same on both engines', async () => {
      const store = await openStore({ databaseUrl: await target.url(), dataDir: '/nonexistent' });
      try {
        await migrateToLatest(store.db);
        await expect(
          store.db.transaction().execute(async (trx) => {
            await createUser(trx, { email: 'half@example.com' });
            await createUser(trx, { email: 'half@example.com' }); // unique violation
          }),
        ).rejects.toThrow();
        expect(await findUserByEmail(store.db, 'half@example.com')).toBeUndefined();

        const user = await createUser(store.db, { email: 'Whole@Example.com'.toLowerCase(), superAdmin: true });
        const row = (await findUserByEmail(store.db, 'WHOLE@example.com'))!;
        expect(row.id).toBe(user.id);
        expect(row.super_admin).toBe(1);
        expect(typeof row.created_at).toBe('number');
        expect(row.created_at).toBe(user.created_at);
      } finally {
        await store.close();
      }
    });
  });
}

describe('store URLs', () => {
  it('refuses an unknown database scheme with a clear message', async () => {
    await expect(openStore({ databaseUrl: 'mysql://x', dataDir: '/tmp' })).rejects.toThrow(/Unsupported database URL scheme/);
  });
});
