import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../backend/audit/audit-log.js';
import { liveSqliteWorkers } from '../../backend/store/sqlite-worker.js';
import { verifyAllChains } from '../../backend/audit/verify.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { storeTargets } from '../support/databases.js';
import { flowUpdate as entry } from './entries.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The worker thread behind a SqliteWorker, reached into to kill it as a crash would. */
type Internals = { appender: { worker: { worker: { terminate(): Promise<number> } }; append: (...args: unknown[]) => Promise<void> }; checkpointer: { running: boolean } };
const internals = (log: AuditLog) => log as unknown as Internals;

/** Counts the batches the log hands to its commit thread from now on. */
function countAppends(log: AuditLog): { count: number } {
  const { appender } = internals(log);
  const append = appender.append.bind(appender);
  const sent = { count: 0 };
  appender.append = (...args) => {
    sent.count++;
    return append(...args);
  };
  return sent;
}

/** Frames in the WAL file (what a checkpoint leaves until a writer restarts the WAL). */
const walFrames = (raw: SqliteDatabase.Database) => (raw.pragma('wal_checkpoint(NOOP)') as { log: number }[])[0]!.log;

describe('the audit log on a SQLite file: commits on a worker thread', () => {
  let store: OpenStore;
  let file: string;
  beforeEach(async () => {
    const url = await storeTargets()[0]!.url();
    file = url.slice('sqlite:'.length);
    store = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
    await migrateToLatest(store.db);
  });
  afterEach(() => store?.close());

  it('keeps the event loop running while a commit waits, and acknowledges only once committed', async () => {
    const log = new AuditLog(store);
    await log.record(entry(1)); // the worker is up and holds the chain's head
    // Another connection holds the write lock: the appender's commit has to wait for it.
    const blocker = new SqliteDatabase(file);
    blocker.exec('begin immediate');
    let blockerOpen = true;
    try {
      let settled = false;
      const pending = log.record(entry(2)).finally(() => (settled = true));
      // Timers keep firing on time on the main thread meanwhile (the old synchronous commit spun in
      // SQLite's busy handler on the event loop for its 5 s busy_timeout instead).
      for (let i = 0; i < 20; i++) {
        const start = performance.now();
        await sleep(5);
        expect(performance.now() - start).toBeLessThan(150);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(settled).toBe(false);
      // A read on the main connection is answered meanwhile too.
      expect(await store.db.selectFrom('audit_log').select('seq').where('tenant_id', '=', 'main').execute()).toEqual([{ seq: 1 }]);
      blocker.exec('commit');
      blockerOpen = false;
      const row = await pending;
      expect(row.seq).toBe(2);
      expect(await store.db.selectFrom('audit_log').select('id').where('id', '=', row.id).executeTakeFirst()).toEqual({ id: row.id });
    } finally {
      if (blockerOpen) blocker.exec('rollback');
      blocker.close();
    }
    await log.close();
    expect((await verifyAllChains(store.db)).map((r) => [r.tenantId, r.entries, r.broken])).toEqual([['main', 2, null]]);
  });

  it('commits states with their entries and keeps the chain across a stale head (another process appended)', async () => {
    const log = new AuditLog(store, { sqliteSync: 'NORMAL' });
    const first = await log.record(entry(1, 'main', { states: { kind: 'flow', before: null, after: 'id: a' } }));
    // Another process (a CLI purge, say) appends to the chain behind this log's back.
    const other = new AuditLog(store);
    await other.record(entry(2));
    await other.close();
    const [third, fourth] = await Promise.all([log.record(entry(3)), log.record(entry(4, null))]);
    expect([third!.seq, fourth!.seq]).toEqual([3, 1]);
    const state = await store.db.selectFrom('audit_states').selectAll().where('entry_id', '=', first.id).executeTakeFirstOrThrow();
    expect(state).toMatchObject({ tenant_id: 'main', kind: 'flow', before: null, after: 'id: a' });
    await log.close();
    expect((await verifyAllChains(store.db)).every((r) => r.broken === null)).toBe(true);
  });

  it('refuses a batch chained onto one that failed, and retries both on fresh heads', async () => {
    const log = new AuditLog(store);
    await log.record(entry(1));
    // Another process appends behind this log's back: its cached head (seq 1) is stale.
    const other = new AuditLog(store);
    await other.record(entry(2));
    await other.close();
    // 300 entries at once go out as two pipelined batches: the first collides on seq 2 and fails;
    // the second, chained onto the first's never-written links, would commit if it were not refused.
    const rows = await Promise.all(Array.from({ length: 300 }, (_, i) => log.record(entry(i + 3))));
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 3));
    await log.close();
    expect((await verifyAllChains(store.db)).map((r) => [r.tenantId, r.entries, r.broken])).toEqual([['main', 302, null]]);
    const stored = await store.db.selectFrom('audit_log').select(['seq', 'id']).where('tenant_id', '=', 'main').orderBy('seq').execute();
    expect(stored.slice(2).map((r) => r.id)).toEqual(rows.map((r) => r.id));
  });

  it('sends a write that arrives while a batch commits at once, chained behind it, not after that commit', async () => {
    const log = new AuditLog(store);
    await log.record(entry(1));
    const rows = await twoBatchesAtTheThread(log, entry(2), entry(3));
    expect(rows.map((r) => r.seq)).toEqual([2, 3]);
    expect((await verifyAllChains(store.db)).map((r) => [r.entries, r.broken])).toEqual([[3, null]]);
  });

  it('refuses a short batch sent behind one that fails, and retries both on fresh heads', async () => {
    const log = new AuditLog(store);
    await log.record(entry(1));
    const other = new AuditLog(store);
    await other.record(entry(2)); // behind this log's back: its cached head (seq 1) is stale
    await other.close();
    // The first batch collides on seq 2; the second (seq 3, chained onto the first's link) must be refused, not stored.
    const rows = await twoBatchesAtTheThread(log, entry(3), entry(4));
    expect(rows.map((r) => r.seq)).toEqual([3, 4]);
    expect((await verifyAllChains(store.db)).map((r) => [r.entries, r.broken])).toEqual([[4, null]]);
  });

  /**
   * Records `first`, and `second` once the first's batch is at the thread, both while another
   * connection holds the write lock: each must reach the thread before either commits (a second batch
   * that waited for the first's answer never would). Then releases the lock; closes the log.
   */
  async function twoBatchesAtTheThread(log: AuditLog, first: AuditEntry, second: AuditEntry) {
    const sent = countAppends(log);
    const blocker = new SqliteDatabase(file);
    blocker.exec('begin immediate');
    try {
      const rows = [log.record(first)];
      await expect.poll(() => sent.count).toBe(1);
      rows.push(log.record(second));
      await expect.poll(() => sent.count).toBe(2);
      blocker.exec('commit');
      return await Promise.all(rows);
    } finally {
      if (blocker.inTransaction) blocker.exec('rollback');
      blocker.close();
      await log.close();
    }
  }

  it('keeps the chain whole when a purge runs while pipelined batches are committing', async () => {
    const log = new AuditLog(store);
    await log.record(entry(0, 'main', { date: 1_000 }));
    const early = Array.from({ length: 600 }, (_, i) => log.record(entry(i + 1, 'main', { date: 2_000 })));
    await new Promise((resolve) => setImmediate(resolve)); // the two halves are chained and sent
    // Queued behind the batches already chained: it waits for their commits, and later batches wait for it.
    const purged = log.purge(5_000, { type: 'SYSTEM', id: 'test' });
    const late = Array.from({ length: 600 }, (_, i) => log.record(entry(i + 601, 'main', { date: 9_000 })));
    const [results, lateRows] = await Promise.all([purged, Promise.all(late), Promise.all(early)]);
    expect(results).toMatchObject([{ tenantId: 'main', count: 601, firstKeptSeq: 602 }]);
    expect(lateRows.map((r) => r.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 603));
    await log.close();
    expect((await verifyAllChains(store.db)).map((r) => [r.tenantId, r.entries, r.broken])).toEqual([['main', 601, null]]);
  });

  it('gives entries ids that grow with time (UUID version 7)', async () => {
    const log = new AuditLog(store);
    const first = await log.record(entry(1));
    await sleep(3);
    const second = await log.record(entry(2));
    await log.close();
    for (const row of [first, second]) expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(first.id.replace(/-/g, '').slice(0, 12), 16)).toBe(first.date);
    expect(second.id > first.id).toBe(true);
  });

  it('writes on the main connection if the appender thread dies', async () => {
    const log = new AuditLog(store);
    await log.record(entry(1));
    await internals(log).appender.worker.worker.terminate();
    const rows = await Promise.all(Array.from({ length: 20 }, (_, i) => log.record(entry(i + 2))));
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    await log.close();
    expect((await verifyAllChains(store.db)).map((r) => [r.entries, r.broken])).toEqual([[21, null]]);
  });

  it('checkpoints on the commit thread, and turns automatic checkpoints back on for the main connection if that thread dies', async () => {
    const raw = store.sqlite!;
    const log = new AuditLog(store);
    await log.record(entry(0));
    // One worker thread for commits and checkpoints (a second cost ~9 MB RSS).
    expect(liveSqliteWorkers()).toBe(1);
    await internals(log).appender.worker.worker.terminate();
    await expect.poll(() => internals(log).checkpointer.running).toBe(false);
    expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    // 4,000 rows are ~3,300 WAL pages: without a checkpoint the WAL would keep every frame.
    for (let round = 0; round < 100; round++) await Promise.all(Array.from({ length: 40 }, (_, i) => log.record(entry(round * 40 + i + 1))));
    expect(walFrames(raw)).toBeLessThan(1500);
    await log.close();
    expect((await verifyAllChains(store.db)).every((r) => r.broken === null)).toBe(true);
  });
});
