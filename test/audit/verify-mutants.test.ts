/**
 * Cases mutation testing found unpinned in backend/audit/verify.ts (issue 29), kept apart from
 * audit-proof.test.ts: the exact gap a deleted run of entries leaves, which AUDITLOG DELETE entries
 * count as purges, and details that are not JSON.
 */
import { createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../backend/audit/audit-log.js';
import { entryMac, type UnhashedRow } from '../../backend/audit/chain.js';
import { verifyChain } from '../../backend/audit/verify.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import type { AuditLogTable } from '../../backend/store/schema.js';
import { storeTargets } from '../support/databases.js';
import { flowUpdate } from './entries.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`audit verify on ${target.name}: gaps, purges, details`, () => {
    let store: OpenStore;
    let key: KeyObject;
    beforeAll(async () => {
      store = await openStore({ databaseUrl: await target.url(), dataDir: '/nonexistent' });
      await migrateToLatest(store.db);
      key = createSecretKey(randomBytes(32));
    });
    afterAll(() => store?.close());

    const fresh = async () => {
      await store.db.deleteFrom('audit_log').execute();
      await store.db.deleteFrom('audit_states').execute();
      return new AuditLog(store, { key });
    };
    const entryAt = async (seq: number): Promise<AuditLogTable> => {
      const row = await store.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('seq', '=', seq).executeTakeFirstOrThrow();
      return { ...row, seq: Number(row.seq), date: Number(row.date) };
    };
    const deleteSeqs = (from: number, to: number) =>
      store.db.deleteFrom('audit_log').where('tenant_id', '=', 'main').where('seq', '>=', from).where('seq', '<=', to).execute();
    /** An AUDITLOG DELETE entry with these details, written (and linked) by Perch itself. */
    const auditLogDelete = (n: number, details: Record<string, unknown>) =>
      flowUpdate(n, 'main', { action: 'DELETE', resourceType: 'AUDITLOG', resourceId: null, details });

    it('names exactly the entries a gap lacks, and a start no purge accounts for', async () => {
      const log = await fresh();
      for (let i = 1; i <= 6; i++) await log.record(flowUpdate(i));
      await log.close();
      await deleteSeqs(3, 4);
      const five = await entryAt(5);
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({ tenantId: 'main', seq: 5, id: five.id, reason: 'entries 3…4 are missing' });
      await deleteSeqs(1, 2);
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({
        tenantId: 'main', seq: 5, id: five.id, reason: 'entries before seq 5 are missing and no purge entry accounts for them',
      });
    });

    it('takes an AUDITLOG DELETE entry for a purge only with purge: true, a numeric firstKeptSeq and a hash', async () => {
      const log = await fresh();
      for (let i = 1; i <= 5; i++) await log.record(flowUpdate(i));
      const lastPurgedHash = (await entryAt(3)).hash;
      await deleteSeqs(1, 3);
      // Names the right start and hash, but is no purge (no `purge: true`): not believed.
      await log.record(auditLogDelete(6, { firstKeptSeq: 4, lastPurgedHash }));
      await log.close();
      const four = await entryAt(4);
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({
        tenantId: 'main', seq: 4, id: four.id, reason: 'entries before seq 4 are missing and no purge entry accounts for them',
      });
      // The purge entry itself: believed.
      const purger = new AuditLog(store, { key });
      await purger.record(auditLogDelete(7, { purge: true, firstKeptSeq: 4, lastPurgedHash }));
      // A later purge-looking entry without a hash for that start does not unsettle it.
      await purger.record(auditLogDelete(8, { purge: true, firstKeptSeq: 4, lastPurgedHash: 7 }));
      await purger.close();
      expect(await verifyChain(store.db, 'main', { key })).toMatchObject({ entries: 5, firstSeq: 4, lastSeq: 8, broken: null });
    });

    it('reads the details of an entry only when it records states, and reports them when they are not JSON', async () => {
      const log = await fresh();
      for (let i = 1; i <= 2; i++) await log.record(flowUpdate(i));
      await log.close();
      const two = await entryAt(2);
      // Written by whoever holds the key: the link holds, the details are not JSON.
      const { hash: _hash, ...rest } = two;
      const row: UnhashedRow = { ...rest, seq: 3, id: randomUUID(), details: 'not JSON, "states": {', prev_hash: two.hash };
      await store.db.insertInto('audit_log').values({ ...row, hash: entryMac(row, key) }).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({ tenantId: 'main', seq: 3, id: row.id, reason: 'its details are not JSON' });
      // Without a states key the details are not parsed at all: the entry stands on its link.
      const plain = { ...row, details: 'not JSON either' };
      await store.db.updateTable('audit_log').set({ details: plain.details, hash: entryMac(plain, key) }).where('id', '=', row.id).execute();
      expect(await verifyChain(store.db, 'main', { key })).toMatchObject({ entries: 3, lastSeq: 3, broken: null });
    });
  });
}
