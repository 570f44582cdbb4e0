import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../backend/audit/audit-log.js';
import { checkpointFile } from '../../backend/audit/checkpoint.js';
import { Checkpointer } from '../../backend/audit/checkpointer.js';
import { auditVerify } from '../../backend/audit/cli.js';
import { canonicalJson, canonicalRow, entryHash, GENESIS_HASH, type UnhashedRow } from '../../backend/audit/chain.js';
import { flowUpdate, PINNED_ROW } from './entries.js';
import { redact } from '../../backend/audit/redact.js';
import { startRetention } from '../../backend/audit/retention.js';
import { parseConfig } from '../../backend/config/config.js';
import type { PerchContext } from '../../backend/context.js';
import { verifyAllChains, verifyChain } from '../../backend/audit/verify.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { storeTargets } from '../support/databases.js';

const entry = flowUpdate;

describe('redact', () => {
  it('replaces passwords, tokens, secrets and KV/secret values at any depth', () => {
    const out = JSON.stringify(redact({ email: 'a@b.c', password: 'hunter2', nested: { apiToken: 't0k', value: 's3cret', list: [{ secret: 'x', keep: 1 }] }, newPassword: 'p' }));
    for (const leaked of ['hunter2', 't0k', 's3cret', '"x"', '"p"']) expect(out).not.toContain(leaked);
    expect(out).toContain('a@b.c');
    expect(out).toContain('"keep":1');
  });
});

describe('the chain link format', () => {
  // Written by an earlier Perch and pinned here: a stored chain must verify after any rewrite of these functions.
  const row = PINNED_ROW;

  it('hashes the same canonical row as the entries already stored', () => {
    expect(canonicalRow(row)).toBe(
      '{"tenant_id":"main","seq":42,"id":"0190f5c2-3a00-7abc-8def-0123456789ab","date":1767225600000,"actor_type":"USER","actor_id":"u-1",' +
        '"actor_email":"ana@example.com","impersonated_by":null,"action":"UPDATE","resource_type":"FLOW","resource_id":"hello \\"world\\"",' +
        '"namespace":"company.team","request_id":null,"ip":"10.0.0.1","user_agent":"Mozilla/5.0 (é ✓)","outcome":"SUCCESS","upstream_status":200,' +
        '"details":"{\\"a\\":1}","prev_hash":"' + 'ab'.repeat(32) + '"}',
    );
    expect(entryHash(row)).toBe('6994affd8669161fca6aa35cc0521a9479068c0822bf4084545d83f862932f4f');
    // A column left out of a row is hashed as null, whatever order the row's keys come in.
    const { request_id: _dropped, ...withoutRequestId } = row;
    expect(entryHash(Object.fromEntries(Object.entries(withoutRequestId).reverse()) as unknown as UnhashedRow)).toBe(entryHash(row));
  });

  it('writes details with sorted keys at every depth, as strings sort', () => {
    expect(canonicalJson({ b: [1, undefined, { z: 1, a: '\u2028' }], a: null, '10': 1, '2': 2, c: undefined })).toBe('{"10":1,"2":2,"a":null,"b":[1,null,{"a":"\u2028","z":1}]}');
    // Past a few keys the sort changes hands: same order.
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${(i * 7) % 30}`, i]));
    expect(Object.keys(JSON.parse(canonicalJson(many)))).toEqual(Object.keys(many).sort());
  });
});

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`the audit log store on ${target.name}`, () => {
    let store: OpenStore;
    let databaseUrl: string;
    beforeAll(async () => {
      databaseUrl = await target.url();
      store = await openStore({ databaseUrl, dataDir: '/nonexistent' });
      await migrateToLatest(store.db);
    });
    afterAll(() => store?.close());

    const fresh = async () => {
      await store.db.deleteFrom('audit_log').execute();
      return new AuditLog(store);
    };

    it('group-commits concurrent records into per-tenant chains that verify', async () => {
      const log = await fresh();
      const rows = await Promise.all(Array.from({ length: 250 }, (_, i) => log.record(entry(i, i % 5 === 0 ? null : 'main'))));
      // Each promise resolved with its committed row: it is in the database now.
      const stored = await store.db.selectFrom('audit_log').select(['id']).execute();
      expect(new Set(stored.map((r) => r.id))).toEqual(new Set(rows.map((r) => r.id)));
      const main = rows.filter((r) => r.tenant_id === 'main').sort((a, b) => a.seq - b.seq);
      expect(main.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(main[0]!.prev_hash).toBe(GENESIS_HASH);
      expect(main[1]!.prev_hash).toBe(main[0]!.hash);
      const reports = await verifyAllChains(store.db);
      expect(reports.map((r) => [r.tenantId, r.entries, r.broken])).toEqual([['_instance', 50, null], ['main', 200, null]]);
      // A second log (a restart) continues the chains where they are.
      await log.close();
      const again = new AuditLog(store);
      const next = await again.record(entry(999));
      expect(next.seq).toBe(201);
      expect(next.prev_hash).toBe(main.at(-1)!.hash);
      await again.close();
    });

    it('reports an edited entry by its seq and id', async () => {
      const log = await fresh();
      for (let i = 0; i < 10; i++) await log.record(entry(i));
      const victim = await store.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('seq', '=', 4).executeTakeFirstOrThrow();
      await store.db.updateTable('audit_log').set({ details: '{"n":"forged"}' }).where('id', '=', victim.id).execute();
      const report = await verifyChain(store.db, 'main');
      expect(report.broken).toMatchObject({ seq: 4, id: victim.id });
      expect(report.broken!.reason).toMatch(/changed/);
      await log.close();
    });

    it('reports a deleted entry at the link after it', async () => {
      const log = await fresh();
      for (let i = 0; i < 10; i++) await log.record(entry(i));
      await store.db.deleteFrom('audit_log').where('tenant_id', '=', 'main').where('seq', '=', 6).execute();
      const report = await verifyChain(store.db, 'main');
      expect(report.broken).toMatchObject({ seq: 7 });
      expect(report.broken!.reason).toMatch(/missing/);
      // Deleting the first entry is caught too.
      await store.db.deleteFrom('audit_log').where('tenant_id', '=', 'main').where('seq', '=', 1).execute();
      expect((await verifyChain(store.db, 'main')).broken).toMatchObject({ seq: 2 });
      await log.close();
    });

    it('says how far a long verify walk got, page by page, before its verdict', async () => {
      await store.db.deleteFrom('audit_log').execute();
      const hex = randomBytes(32).toString('hex');
      const key = createSecretKey(Buffer.from(hex, 'hex'));
      const log = new AuditLog(store, { key });
      await Promise.all(Array.from({ length: 4500 }, (_, i) => log.record(entry(i))));
      await log.close();
      const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-verify-'));
      const settings = parseConfig({ databaseUrl, dataDir });
      await new Checkpointer({ db: store.db, key, file: checkpointFile(settings), intervalMs: 3_600_000 }).run();
      const out: string[] = [];
      const err: string[] = [];
      expect(await auditVerify(settings, { out: (l) => out.push(l), err: (l) => err.push(l) }, 0, { env: { PERCH_AUDIT_KEY: hex } })).toBe(0);
      expect(err).toEqual([expect.stringMatching(/^store: (PostgreSQL|SQLite) /), 'chain main: 2,000 entries verified so far…', 'chain main: 4,000 entries verified so far…']);
      expect(out).toEqual([expect.stringMatching(/^checkpoint of .*: 1 chains$/), 'chain main: ok, 4500 entries (seq 1…4500)']);
      await rm(dataDir, { recursive: true, force: true });
    });

    it('purges old entries and records the purge so the chain still verifies', async () => {
      const log = await fresh();
      const old = Date.now() - 100 * 86_400_000;
      for (let i = 0; i < 6; i++) await log.record(entry(i, 'main', { date: old + i }));
      for (let i = 0; i < 3; i++) await log.record(entry(i, null, { date: old + i }));
      for (let i = 6; i < 10; i++) await log.record(entry(i));
      const results = await log.purge(Date.now() - 90 * 86_400_000, { type: 'SYSTEM', id: 'test' }, 'P90D');
      expect(results.sort((a, b) => a.tenantId.localeCompare(b.tenantId)).map((r) => [r.tenantId, r.count, r.firstKeptSeq])).toEqual([['_instance', 3, 4], ['main', 6, 7]]);
      const reports = await verifyAllChains(store.db);
      expect(reports.map((r) => r.broken)).toEqual([null, null]);
      // The instance chain lost every entry: the purge entry itself starts it now.
      expect(reports.find((r) => r.tenantId === '_instance')).toMatchObject({ firstSeq: 4, lastSeq: 4, entries: 1 });
      const purge = await store.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('resource_type', '=', 'AUDITLOG').executeTakeFirstOrThrow();
      expect(purge).toMatchObject({ action: 'DELETE', seq: 11, actor_type: 'SYSTEM' });
      expect(JSON.parse(purge.details)).toMatchObject({ olderThan: 'P90D', count: 6, firstKeptSeq: 7 });
      // Appending after a purge continues the chain.
      expect((await log.record(entry(11))).seq).toBe(12);
      expect((await verifyChain(store.db, 'main')).broken).toBeNull();
      // A purge entry cannot excuse a later gap.
      await store.db.deleteFrom('audit_log').where('tenant_id', '=', 'main').where('seq', '=', 7).execute();
      expect((await verifyChain(store.db, 'main')).broken).toMatchObject({ seq: 8 });
      await log.close();
    });

    it('purges on the configured audit.retention schedule', async () => {
      const log = await fresh();
      await log.record(entry(1, 'main', { date: Date.now() - 10 * 86_400_000 }));
      await log.record(entry(2));
      const config = parseConfig({ audit: { retention: 'P7D' } });
      expect(config.audit.retention).toBe(7 * 86_400_000);
      const logged: unknown[] = [];
      const ctx = { config, audit: log, log: { info: (o: unknown) => logged.push(o), error: (o: unknown) => logged.push(o) } } as unknown as PerchContext;
      const stop = startRetention(ctx, { firstRunDelay: 0, every: 60_000 });
      await expect.poll(() => logged.length).toBe(1);
      stop();
      expect(logged[0]).toMatchObject({ event: 'audit.purged', tenantId: 'main', count: 1, firstKeptSeq: 2 });
      // The purge entry retention leaves: by the system, saying the rule as an ISO duration in seconds.
      const purge = await store.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('resource_type', '=', 'AUDITLOG').executeTakeFirstOrThrow();
      expect(purge).toMatchObject({ action: 'DELETE', actor_type: 'SYSTEM', actor_id: 'perch-retention', outcome: 'SUCCESS' });
      expect(JSON.parse(purge.details)).toMatchObject({ purge: true, olderThan: 'PT604800S', count: 1, firstKeptSeq: 2 });
      expect((await verifyChain(store.db, 'main')).broken).toBeNull();
      expect(() => parseConfig({ audit: { retention: 'ninety days' } })).toThrow(/audit.retention/);
      expect(() => parseConfig({ audit: { keep: 'P1D' } })).toThrow(/unknown key audit.keep/);
      await log.close();
    });

    it('keeps the chain when another writer appended meanwhile (a CLI purge next to a running Perch)', async () => {
      const log = await fresh();
      await log.record(entry(1));
      const other = new AuditLog(store);
      await other.record(entry(2));
      await other.close();
      // `log` still holds seq 1 as the head: its next batch collides, re-reads and succeeds.
      expect((await log.record(entry(3))).seq).toBe(3);
      expect((await verifyChain(store.db, 'main')).broken).toBeNull();
      await log.close();
    });

    it('rejects the records of a batch that cannot be written', async () => {
      const log = await fresh();
      await expect(log.record(entry(1, 'main', { resourceId: 'x'.repeat(10), actor: { type: 'NOBODY' as never } }))).rejects.toThrow();
      expect((await log.record(entry(2))).seq).toBe(1);
      await log.close();
      // Sanity: nothing else was left behind.
      const count = await sql<{ n: number }>`select count(*) as n from audit_log`.execute(store.db);
      expect(Number(count.rows[0]!.n)).toBe(1);
    });
  });
}

describe('the audit log on SQLite: WAL checkpoints off the event loop', () => {
  it('turns the in-commit checkpoint off while open, checkpoints on a worker thread, and hands it back on close', async () => {
    const [sqlite] = storeTargets();
    const store = await openStore({ databaseUrl: await sqlite!.url(), dataDir: '/nonexistent' });
    try {
      await migrateToLatest(store.db);
      const raw = store.sqlite!;
      const log = new AuditLog(store);
      await Promise.all(Array.from({ length: 3000 }, (_, i) => log.record(entry(i))));
      expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      // The worker catches up with the WAL (what a PASSIVE checkpoint reports as not yet copied shrinks to
      // nothing) although no commit on this connection checkpoints.
      const pending = () => {
        const [r] = raw.pragma('wal_checkpoint(NOOP)') as { log: number; checkpointed: number }[];
        return r ? r.log - r.checkpointed : -1;
      };
      const deadline = Date.now() + 10_000;
      while (pending() !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(pending()).toBe(0);
      await log.close();
      expect(raw.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      expect((await verifyAllChains(store.db)).every((r) => r.broken === null)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
