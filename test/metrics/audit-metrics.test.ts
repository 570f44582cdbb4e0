import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../backend/audit/audit-log.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { flowUpdate } from '../audit/entries.js';

/** What the audit log tells the metrics (issue 19, point 5): its backlog, and each committed batch's time. */
describe('the audit log’s backlog and commit times', () => {
  let store: OpenStore;
  beforeAll(async () => {
    store = await openStore({ databaseUrl: 'sqlite::memory:', dataDir: '/nonexistent' });
    await migrateToLatest(store.db);
  });
  afterAll(() => store?.close());

  it('counts recorded entries until their batch commits, and reports one time per committed batch', async () => {
    const commits: number[] = [];
    const log = new AuditLog(store, { delayMs: 20, onCommitted: (seconds) => commits.push(seconds) });
    expect(log.backlog).toBe(0);
    const pending = [1, 2, 3].map((n) => log.record(flowUpdate(n)));
    expect(log.backlog).toBe(3);
    // flush takes the batch off the queue at once: while it is written, it still counts.
    const flushing = log.flush();
    expect(log.backlog).toBe(3);
    await flushing;
    await Promise.all(pending);
    expect(log.backlog).toBe(0);
    expect(commits).toHaveLength(1);
    expect(commits[0]).toBeGreaterThanOrEqual(0);
    await log.close();
  });

  it('reports no commit for a batch that could not be stored, and lets go of its entries', async () => {
    const broken = await openStore({ databaseUrl: 'sqlite::memory:', dataDir: '/nonexistent' });
    // No migration: the audit table does not exist, so every batch fails.
    const commits: number[] = [];
    const log = new AuditLog(broken, { onCommitted: (seconds) => commits.push(seconds) });
    await expect(log.record(flowUpdate(1))).rejects.toThrow();
    expect(log.backlog).toBe(0);
    expect(commits).toEqual([]);
    await broken.close();
  });
});
