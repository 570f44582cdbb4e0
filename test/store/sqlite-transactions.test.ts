import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { SqliteWorker } from '../../backend/store/sqlite-worker.js';
import { createUser } from '../../backend/users/user-store.js';
import { storeTargets } from '../support/databases.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A second writer on the same file, on its own thread (as the audit log's appender is). */
const RUN_SQL = `(db) => (request) => {
  if (request.sql) db.prepare(request.sql).run(...request.params);
  return null;
}`;

describe('SQLite transactions next to a second writer connection', () => {
  let store: OpenStore;
  let other: SqliteWorker;
  beforeEach(async () => {
    const url = await storeTargets()[0]!.url();
    store = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
    await migrateToLatest(store.db);
    other = new SqliteWorker(url.slice('sqlite:'.length), RUN_SQL, { busyTimeoutMs: 5000 });
    await other.request({}); // up and connected
  });
  afterEach(async () => {
    await other?.close();
    await store?.close();
  });

  it('a transaction that reads, lets another connection commit, then writes, commits (no SQLITE_BUSY_SNAPSHOT)', async () => {
    let otherCommitted: Promise<unknown> | undefined;
    await store.db.transaction().execute(async (trx) => {
      expect(await trx.selectFrom('users').select('id').execute()).toEqual([]);
      // The other connection writes now. With a deferred `begin` it commits at once and the write below
      // fails on the stale snapshot; with `begin immediate` it waits for this transaction's lock.
      otherCommitted = other.request({
        sql: `insert into users (id, email, created_at, updated_at) values (?, ?, ?, ?)`,
        params: ['other-writer', 'other@example.com', Date.now(), Date.now()],
      });
      await Promise.race([otherCommitted, sleep(300)]);
      await createUser(trx, { email: 'main@example.com' });
    });
    await otherCommitted;
    const emails = await store.db.selectFrom('users').select('email').orderBy('email').execute();
    expect(emails.map((r) => r.email)).toEqual(['main@example.com', 'other@example.com']);
  });

  it('a read-only transaction does not take the write lock', async () => {
    await store.db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        await trx.selectFrom('users').select('id').execute();
        // Commits although this transaction is open: no write lock is held.
        await other.request({
          sql: `insert into users (id, email, created_at, updated_at) values (?, ?, ?, ?)`,
          params: ['other-writer', 'other@example.com', Date.now(), Date.now()],
        });
      });
    expect(await store.db.selectFrom('users').select('email').execute()).toEqual([{ email: 'other@example.com' }]);
  });
});
