import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { appendFile, chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../backend/audit/audit-log.js';
import { AuditKeyError, ensureAuditKey, loadAuditKey } from '../../backend/audit/audit-key.js';
import { entryHash, entryMac, GENESIS_HASH, linkKind, type UnhashedRow } from '../../backend/audit/chain.js';
import { checkpointFile, checkpointSigned, readNewestCheckpoint, signCheckpoint, type Checkpoint } from '../../backend/audit/checkpoint.js';
import { Checkpointer } from '../../backend/audit/checkpointer.js';
import { auditVerify } from '../../backend/audit/cli.js';
import { verifyAllChains, verifyChain } from '../../backend/audit/verify.js';
import { parseConfig, type PerchConfig } from '../../backend/config/config.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import type { AuditLogTable } from '../../backend/store/schema.js';
import { sha256Hex } from '../../backend/crypto/sha256.js';
import { storeTargets } from '../support/databases.js';
import { flowUpdate, PINNED_ROW } from './entries.js';

const newKey = () => {
  const hex = randomBytes(32).toString('hex');
  return { hex, key: createSecretKey(Buffer.from(hex, 'hex')) };
};

/** The row as the database gives it back, numbers as numbers. */
const plain = (raw: AuditLogTable): AuditLogTable => ({ ...raw, seq: Number(raw.seq), date: Number(raw.date) });

describe('the keyed link and checkpoint formats', () => {
  // Pinned: keyed entries and checkpoints already stored must verify after any rewrite of these functions.
  // Both values were checked with `openssl dgst -sha256 -mac HMAC -macopt hexkey:0f0f…`.
  const key = createSecretKey(Buffer.from('0f'.repeat(32), 'hex'));
  const row = PINNED_ROW;

  it('links an entry with HMAC-SHA256 under the key over the previous hash and the canonical row', () => {
    expect(entryMac(row, key)).toBe('97849783669fea067ce3ae7844941b6c8229da7e8dcb8ba07b2101d1439a9ed8');
    expect(entryMac(row, newKey().key)).not.toBe(entryMac(row, key));
    // The legacy link of the same row is plain SHA-256 (pinned in audit-log.test.ts), and the two are told apart.
    const legacy = { ...row, hash: entryHash(row) };
    const keyed = { ...row, hash: entryMac(row, key) };
    expect(linkKind(keyed, key)).toBe('keyed');
    expect(linkKind(legacy, key)).toBe('legacy');
    expect(linkKind(legacy, null)).toBe('legacy');
    expect(linkKind(keyed, null)).toBeNull();
    expect(linkKind({ ...keyed, details: '{"a":2}' }, key)).toBeNull();
    expect(linkKind({ ...legacy, details: '{"a":2}' }, key)).toBeNull();
  });

  it('pins the genesis hash: 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0000000000000000000000000000000000000000000000000000000000000000');
  });

  it('signs a checkpoint over its sorted chains, time and version, apart from any entry', () => {
    const checkpoint = signCheckpoint(key, [{ tenant: 'main', seq: 42, hash: 'cd'.repeat(32) }, { tenant: '_instance', seq: 3, hash: 'ef'.repeat(32) }], new Date(1767225600000));
    expect(JSON.stringify(checkpoint)).toBe(
      '{"type":"perch.audit.checkpoint","version":1,"time":"2026-01-01T00:00:00.000Z","chains":[' +
        `{"tenant":"_instance","seq":3,"hash":"${'ef'.repeat(32)}"},{"tenant":"main","seq":42,"hash":"${'cd'.repeat(32)}"}],` +
        '"mac":"fc74169c94b0c06ecb46386b234362de8bc4f3c5fdaf88ef2954671be261738c"}',
    );
    expect(checkpointSigned(key, checkpoint)).toBe(true);
    expect(checkpointSigned(newKey().key, checkpoint)).toBe(false);
    expect(checkpointSigned(key, { ...checkpoint, time: '2026-01-01T00:00:01.000Z' })).toBe(false);
    expect(checkpointSigned(key, { ...checkpoint, chains: [{ ...checkpoint.chains[0]!, seq: 2 }, checkpoint.chains[1]!] })).toBe(false);
    expect(checkpointSigned(key, { ...checkpoint, chains: checkpoint.chains.slice(1) })).toBe(false);
  });
});

describe('the audit key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'perch-key-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const settings = (extra: Record<string, unknown> = {}) => parseConfig({ dataDir: dir, ...extra });

  it('is created once, mode 0600, in the data directory, and read back unchanged', async () => {
    expect(await loadAuditKey(settings(), {})).toBeNull();
    const made = await ensureAuditKey(settings(), {});
    expect(made.generated).toMatch(/^[0-9a-f]{64}$/);
    expect(made.source).toBe(path.join(dir, 'audit.key'));
    const file = await stat(made.source);
    expect(file.mode & 0o777).toBe(0o600);
    expect((await readFile(made.source, 'utf8')).trim()).toBe(made.generated);
    const again = await ensureAuditKey(settings(), {});
    expect(again.generated).toBeUndefined();
    expect(again.key.export().toString('hex')).toBe(made.generated);
    expect((await loadAuditKey(settings(), {}))!.key.export().toString('hex')).toBe(made.generated);
  });

  it('comes from PERCH_AUDIT_KEY first, or from audit.keyFile', async () => {
    const { hex } = newKey();
    const fromEnv = await loadAuditKey(settings(), { PERCH_AUDIT_KEY: hex });
    expect(fromEnv).toMatchObject({ source: 'PERCH_AUDIT_KEY' });
    expect(fromEnv!.key.export().toString('hex')).toBe(hex);
    const elsewhere = path.join(dir, 'vault', 'perch.key');
    const made = await ensureAuditKey(settings({ audit: { keyFile: elsewhere } }), {});
    expect(made.source).toBe(elsewhere);
    expect(parseConfig({ audit: { keyFile: '/k', checkpointInterval: 'PT30S', checkpointFile: '/c' } }).audit).toMatchObject({ keyFile: '/k', checkpointInterval: 30_000, checkpointFile: '/c' });
    expect(parseConfig({}).audit.checkpointInterval).toBe(60_000);
  });

  it('refuses a short or malformed key, and a key file others may read', async () => {
    await expect(loadAuditKey(settings(), { PERCH_AUDIT_KEY: 'ab'.repeat(31) })).rejects.toThrow(/PERCH_AUDIT_KEY must be at least 32 bytes written as hex/);
    await expect(loadAuditKey(settings(), { PERCH_AUDIT_KEY: 'zz'.repeat(32) })).rejects.toThrow(AuditKeyError);
    const open = path.join(dir, 'open.key');
    await writeFile(open, `${'ab'.repeat(32)}\n`, { mode: 0o644 });
    await chmod(open, 0o644);
    await expect(loadAuditKey(settings({ audit: { keyFile: open } }), {})).rejects.toThrow(/may be read by others \(mode 644\): chmod 600/);
    await chmod(open, 0o600);
    expect(await loadAuditKey(settings({ audit: { keyFile: open } }), {})).toMatchObject({ source: open });
  });
});

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`audit verify proves the log on ${target.name}`, () => {
    let store: OpenStore;
    let dataDir: string;
    let settings: PerchConfig;
    let key: KeyObject;
    let env: NodeJS.ProcessEnv;
    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'perch-proof-'));
      const databaseUrl = await target.url();
      settings = parseConfig({ databaseUrl, dataDir });
      store = await openStore(settings);
      await migrateToLatest(store.db);
      const made = newKey();
      key = made.key;
      env = { PERCH_AUDIT_KEY: made.hex };
    });
    afterAll(async () => {
      await store?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    /** An empty log and no checkpoint yet. */
    const fresh = async (options: { key?: KeyObject | null } = {}) => {
      await store.db.deleteFrom('audit_log').execute();
      await store.db.deleteFrom('audit_states').execute();
      await rm(checkpointFile(settings), { force: true });
      return new AuditLog(store, options.key === null ? {} : { key: options.key ?? key });
    };
    const checkpoint = (onRefused?: (r: { tenant: string; reason: string }) => void) => new Checkpointer({ db: store.db, key, file: checkpointFile(settings), intervalMs: 3_600_000, onRefused }).run();
    const newestCheckpoint = async () => {
      const newest = await readNewestCheckpoint(checkpointFile(settings), key);
      if (newest.status !== 'signed') throw new Error(`no signed checkpoint: ${newest.status}`);
      return newest.checkpoint;
    };
    const cli = async (run: { env?: NodeJS.ProcessEnv; checkpoint?: string } = {}) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await auditVerify(settings, { out: (l) => out.push(l), err: (l) => err.push(l) }, 3_600_000, { env, ...run });
      // Every command first names the store it opened (issue 18): the rest is what verify found.
      expect(err[0]).toMatch(/^store: (SQLite|PostgreSQL) /);
      return { code, out, err: err.slice(1) };
    };
    const entryAt = async (seq: number, tenant = 'main') => plain(await store.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenant).where('seq', '=', seq).executeTakeFirstOrThrow());
    /** What an attacker with write access to the database and a hash function does: rewrites rows from `from` on, each re-linked to the one before. */
    const relink = async (from: number, link: (row: UnhashedRow) => string, edit: (row: AuditLogTable) => Partial<AuditLogTable> = () => ({})) => {
      const rows = (await store.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('seq', '>=', from).orderBy('seq').execute()).map(plain);
      let prev = from === 1 ? GENESIS_HASH : (await entryAt(from - 1)).hash;
      for (const [i, original] of rows.entries()) {
        const { hash: _old, ...rest } = { ...original, ...(i === 0 ? edit(original) : {}), prev_hash: prev };
        const hash = link(rest);
        await store.db.updateTable('audit_log').set({ ...rest, hash }).where('tenant_id', '=', 'main').where('seq', '=', original.seq).execute();
        prev = hash;
      }
    };
    const states = (n: number) => ({ kind: 'FLOW', before: `id: f\nnamespace: ns\nrevision: ${n}\n`, after: `id: f\nnamespace: ns\nrevision: ${n + 1}\n` });

    it('passes a keyed log whose states and chains agree with the newest checkpoint', async () => {
      const log = await fresh();
      for (let i = 1; i <= 6; i++) await log.record(flowUpdate(i, 'main', i % 2 ? { states: states(i) } : {}));
      await log.record(flowUpdate(7, null));
      await checkpoint();
      await log.record(flowUpdate(8));
      await log.close();
      const cp = await newestCheckpoint();
      expect(cp.chains.map((c) => [c.tenant, c.seq])).toEqual([['_instance', 1], ['main', 6]]);
      expect(await cli()).toEqual({ code: 0, out: [`checkpoint of ${cp.time}: 2 chains`, 'chain _instance: ok, 1 entries (seq 1…1)', 'chain main: ok, 7 entries (seq 1…7)'], err: [] });
    });

    it('reports an edited, deleted or added before/after state by its entry', async () => {
      const log = await fresh();
      const rows = [];
      for (let i = 1; i <= 4; i++) rows.push(await log.record(flowUpdate(i, 'main', i === 4 ? {} : { states: states(i) })));
      // A creation: nothing before it.
      rows.push(await log.record(flowUpdate(5, 'main', { states: { kind: 'FLOW', before: null, after: 'id: g\n' } })));
      await log.close();
      const [one, two, three, four, five] = rows as [AuditLogTable, AuditLogTable, AuditLogTable, AuditLogTable, AuditLogTable];
      expect(JSON.parse(five.details).states).toEqual({ kind: 'FLOW', before: null, after: sha256Hex('id: g\n') });
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();
      await store.db.updateTable('audit_states').set({ before: 'id: g\n' }).where('entry_id', '=', five.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toMatchObject({ seq: 5, reason: 'its before state was changed after it was written (it does not match the digest in the entry)' });
      await store.db.updateTable('audit_states').set({ before: null }).where('entry_id', '=', five.id).execute();

      await store.db.updateTable('audit_states').set({ before: 'id: f\nnamespace: ns\nrevision: 0 # forged\n' }).where('entry_id', '=', two.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({ tenantId: 'main', seq: 2, id: two.id, reason: 'its before state was changed after it was written (it does not match the digest in the entry)' });
      await store.db.updateTable('audit_states').set({ before: states(2).before, after: 'forged' }).where('entry_id', '=', two.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toMatchObject({ seq: 2, reason: 'its after state was changed after it was written (it does not match the digest in the entry)' });
      await store.db.updateTable('audit_states').set({ after: states(2).after }).where('entry_id', '=', two.id).execute();
      await store.db.updateTable('audit_states').set({ kind: 'NAMESPACE_FILE' }).where('entry_id', '=', one.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toMatchObject({ seq: 1, reason: 'the state stored beside it is of kind NAMESPACE_FILE, the entry recorded FLOW' });
      await store.db.updateTable('audit_states').set({ kind: 'FLOW' }).where('entry_id', '=', one.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();

      await store.db.deleteFrom('audit_states').where('entry_id', '=', three.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toMatchObject({ seq: 3, id: three.id, reason: 'its before/after states (FLOW) are missing from audit_states' });
      await store.db.insertInto('audit_states').values({ entry_id: three.id, tenant_id: 'main', ...states(3) }).execute();

      await store.db.insertInto('audit_states').values({ entry_id: four.id, tenant_id: 'main', kind: 'FLOW', before: null, after: 'planted' }).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toMatchObject({ seq: 4, id: four.id, reason: 'a before/after state is stored beside it although the entry recorded none (added later)' });
      await store.db.deleteFrom('audit_states').where('entry_id', '=', four.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();
    });

    it('reports a row edited with its own hash recomputed at the next link, and a rewritten link', async () => {
      const log = await fresh();
      for (let i = 1; i <= 8; i++) await log.record(flowUpdate(i));
      await log.close();
      // Entry 5 edited and re-signed (with the key itself): its own hash matches, entry 6 no longer follows it.
      const five = await entryAt(5);
      const { hash: _h, ...edited } = { ...five, details: '{"n":"forged"}' };
      await store.db.updateTable('audit_log').set({ details: edited.details, hash: entryMac(edited, key) }).where('id', '=', five.id).execute();
      const six = await entryAt(6);
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({ tenantId: 'main', seq: 6, id: six.id, reason: 'prev_hash does not match the hash of entry 5' });
      // Put back; then entry 6's link is pointed elsewhere and its hash recomputed to match.
      await store.db.updateTable('audit_log').set({ details: five.details, hash: five.hash }).where('id', '=', five.id).execute();
      const { hash: _h6, ...relinked } = { ...six, prev_hash: 'ee'.repeat(32) };
      await store.db.updateTable('audit_log').set({ prev_hash: relinked.prev_hash, hash: entryMac(relinked, key) }).where('id', '=', six.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({ tenantId: 'main', seq: 6, id: six.id, reason: 'prev_hash does not match the hash of entry 5' });
      // A first entry re-linked away from the genesis hash, its hash recomputed.
      await store.db.updateTable('audit_log').set({ prev_hash: six.prev_hash, hash: six.hash }).where('id', '=', six.id).execute();
      const one = await entryAt(1);
      const { hash: _h1, ...moved } = { ...one, prev_hash: '11'.repeat(32) };
      await store.db.updateTable('audit_log').set({ prev_hash: moved.prev_hash, hash: entryMac(moved, key) }).where('id', '=', one.id).execute();
      expect((await verifyChain(store.db, 'main', { key })).broken).toEqual({ tenantId: 'main', seq: 1, id: one.id, reason: 'the first entry does not start from the genesis hash' });
    });

    it('reports a tail cut after the checkpoint, and a whole chain deleted', async () => {
      const log = await fresh();
      for (let i = 1; i <= 10; i++) await log.record(flowUpdate(i));
      await log.record(flowUpdate(11, 'other'));
      await log.close();
      await checkpoint();
      const cp = await newestCheckpoint();
      await store.db.deleteFrom('audit_log').where('tenant_id', '=', 'main').where('seq', '>', 7).execute();
      // The links alone cannot tell: what is left is a whole chain.
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();
      expect((await verifyChain(store.db, 'main', { key, checkpoint: cp })).broken).toEqual({
        tenantId: 'main', seq: 8, id: null, reason: `the chain was cut: it ends at seq 7, the checkpoint of ${cp.time} has it up to seq 10`,
      });
      await store.db.deleteFrom('audit_log').where('tenant_id', '=', 'other').execute();
      const result = await cli();
      expect(result.code).toBe(1);
      expect(result.err).toEqual([
        `chain main: BROKEN at seq 8: the chain was cut: it ends at seq 7, the checkpoint of ${cp.time} has it up to seq 10`,
        `chain other: BROKEN at seq 1: the whole chain is missing: the checkpoint of ${cp.time} has it up to seq 1`,
      ]);
      // The next checkpoint does not bless the cut: the chains keep their pins, and the refusals are told.
      const refused: Array<{ tenant: string; reason: string }> = [];
      await checkpoint((r) => refused.push(r));
      expect(refused).toEqual([
        { tenant: 'main', reason: 'the chain ends at seq 7, before seq 10 of the previous checkpoint' },
        { tenant: 'other', reason: 'the chain is gone from the database (the previous checkpoint had it at seq 1)' },
      ]);
      expect((await newestCheckpoint()).chains).toEqual(cp.chains);
      expect((await cli()).code).toBe(1);
    });

    it('reports a chain rewritten with recomputed SHA-256 links (no key), with another key, or with the key before the checkpoint', async () => {
      const log = await fresh();
      for (let i = 1; i <= 8; i++) await log.record(flowUpdate(i));
      await log.close();
      await checkpoint();
      const cp = await newestCheckpoint();
      const original = (await store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute()).map(plain);
      const restore = async () => {
        for (const row of original) await store.db.updateTable('audit_log').set(row).where('tenant_id', '=', 'main').where('seq', '=', row.seq).execute();
      };
      const forge = (row: AuditLogTable) => ({ details: `{"n":"forged ${row.seq}"}` });

      // From entry 4 on, with plain SHA-256: entry 4 follows keyed entries.
      await relink(4, entryHash, forge);
      expect((await verifyChain(store.db, 'main', { key })).broken).toMatchObject({ seq: 4, reason: 'the entry has a plain SHA-256 link after entries signed with the audit key: rewritten without the key' });
      // The whole chain, with plain SHA-256: the links hold, the checkpoint's pin does not.
      await relink(1, entryHash, forge);
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();
      expect((await verifyChain(store.db, 'main', { key, checkpoint: cp })).broken).toMatchObject({ seq: 8, reason: `the checkpoint of ${cp.time} signed another entry 8: the chain was rewritten` });
      expect((await cli()).err).toEqual([`chain main: BROKEN at seq 8 (id ${original[7]!.id}): the checkpoint of ${cp.time} signed another entry 8: the chain was rewritten`]);
      // With another key: no entry matches its hash.
      await relink(1, (row) => entryMac(row, newKey().key), forge);
      expect((await verifyChain(store.db, 'main', { key, checkpoint: cp })).broken).toMatchObject({ seq: 1, reason: 'the entry was changed after it was written (hash mismatch)' });
      // With the key itself (the key leaked too): only the checkpoint tells.
      await restore();
      await relink(3, (row) => entryMac(row, key), forge);
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();
      expect((await verifyChain(store.db, 'main', { key, checkpoint: cp })).broken).toMatchObject({ seq: 8, reason: `the checkpoint of ${cp.time} signed another entry 8: the chain was rewritten` });
      await restore();
      expect((await cli()).code).toBe(0);
      // The checkpointer does not sign over a rewrite either: the pinned entry replaced, or a last entry that no longer matches its hash.
      const refused: Array<{ tenant: string; reason: string }> = [];
      await relink(6, entryHash, forge);
      await checkpoint((r) => refused.push(r));
      await restore();
      await store.db.updateTable('audit_log').set({ details: '{"n":"edited in place"}' }).where('tenant_id', '=', 'main').where('seq', '=', 8).execute();
      await checkpoint((r) => refused.push(r));
      expect(refused).toEqual([
        { tenant: 'main', reason: 'its entry 8 is not the one the previous checkpoint signed' },
        { tenant: 'main', reason: 'its last entry (seq 8) does not match its hash' },
      ]);
      expect((await newestCheckpoint()).chains).toEqual(cp.chains);
    });

    it('reports entries after the checkpoint rewritten with plain SHA-256 links, even on a chain pinned before the key', async () => {
      // An install from before the key: its chain is plain SHA-256; the first checkpoint pins it as it is.
      const old = await fresh({ key: null });
      for (let i = 1; i <= 3; i++) await old.record(flowUpdate(i));
      await old.close();
      await checkpoint();
      const cp = await newestCheckpoint();
      expect(cp.chains).toEqual([{ tenant: 'main', seq: 3, hash: (await entryAt(3)).hash }]);
      const keyed = new AuditLog(store, { key });
      for (let i = 4; i <= 6; i++) await keyed.record(flowUpdate(i));
      await keyed.close();
      expect(await cli()).toMatchObject({ code: 0, out: [`checkpoint of ${cp.time}: 1 chains`, 'chain main: ok, 6 entries (seq 1…6); 3 written before the audit key, with plain SHA-256 links'] });
      // Entries 4… rewritten without the key: they follow legacy ones, but come after the pin.
      await relink(4, entryHash, (row) => ({ details: `{"n":"forged ${row.seq}"}` }));
      expect((await verifyChain(store.db, 'main', { key })).broken).toBeNull();
      const four = await entryAt(4);
      expect((await verifyChain(store.db, 'main', { key, checkpoint: cp })).broken).toEqual({
        tenantId: 'main', seq: 4, id: four.id,
        reason: `the entry has a plain SHA-256 link, but it is not covered by the checkpoint of ${cp.time} (which ends this chain at seq 3), and every later entry is signed with the audit key: rewritten without the key`,
      });
      // A chain the checkpoint lacks may hold no plain link at all.
      const keyless = new AuditLog(store);
      for (let i = 1; i <= 3; i++) await keyless.record(flowUpdate(i, 'late'));
      await keyless.close();
      expect((await verifyChain(store.db, 'late', { key, checkpoint: cp })).broken).toMatchObject({ seq: 1, reason: expect.stringContaining('(which has no such chain)') });
      // And the checkpointer will not pin a legacy head that appeared after a checkpoint.
      const refused: Array<{ tenant: string; reason: string }> = [];
      await checkpoint((r) => refused.push(r));
      expect(refused).toContainEqual({ tenant: 'late', reason: 'its last entry (seq 3) is not signed with the audit key' });
    });

    it('reports a missing key, a missing checkpoint and a forged checkpoint, and reads a checkpoint named on the command line', async () => {
      const log = await fresh();
      for (let i = 1; i <= 3; i++) await log.record(flowUpdate(i));
      await log.close();
      const noCheckpoint = await cli();
      expect(noCheckpoint.code).toBe(1);
      expect(noCheckpoint.err).toEqual([`no checkpoint in ${checkpointFile(settings)}: a cut tail or a deleted chain cannot be detected (Perch writes one at start and every audit.checkpointInterval; give another with --checkpoint)`]);
      expect(noCheckpoint.out).toEqual(['chain main: ok, 3 entries (seq 1…3)']);

      await checkpoint();
      const cp = await newestCheckpoint();
      const noKey = await cli({ env: {} });
      expect(noKey.code).toBe(1);
      expect(noKey.err[0]).toBe(`no audit key: set PERCH_AUDIT_KEY or put the key in ${path.join(dataDir, 'audit.key')} (Perch creates it at its first start); entries signed with it cannot be verified without it`);
      expect(noKey.err.at(-1)).toMatch(/^chain main: BROKEN at seq 1 .*signed with the audit key, which verify was not given/);

      // A checkpoint appended by someone without the key: pins moved back to hide a cut, MAC made up.
      const forged: Checkpoint = { ...cp, time: new Date(Date.parse(cp.time) + 1000).toISOString(), chains: [{ ...cp.chains[0]!, seq: 2, hash: (await entryAt(2)).hash }] };
      await appendFile(checkpointFile(settings), `${JSON.stringify(forged)}\n`);
      await store.db.deleteFrom('audit_log').where('seq', '=', 3).execute();
      const result = await cli();
      expect(result.code).toBe(1);
      expect(result.err).toEqual([`the newest checkpoint in ${checkpointFile(settings)} (of ${forged.time}) is not signed by the audit key: forged, or signed with another key; chains are verified without it`]);
      // Signed with another key: forged too.
      await appendFile(checkpointFile(settings), `${JSON.stringify(signCheckpoint(newKey().key, forged.chains, new Date()))}\n`);
      expect((await cli()).err[0]).toMatch(/is not signed by the audit key/);
      // The genuine checkpoint, kept by a sink, given on the command line: the cut shows.
      const kept = path.join(dataDir, 'kept.jsonl');
      await writeFile(kept, `${JSON.stringify(cp)}\n{"type":"perch.audit.chec`);
      const fromSink = await cli({ checkpoint: kept });
      expect(fromSink.code).toBe(1);
      expect(fromSink.err).toEqual([`chain main: BROKEN at seq 3: the chain was cut: it ends at seq 2, the checkpoint of ${cp.time} has it up to seq 3`]);
      // A newest checkpoint that is not well-formed is not passed over for an older one.
      await writeFile(kept, `${JSON.stringify(cp)}\n${JSON.stringify({ ...cp, chains: [{ tenant: 'main', seq: 0, hash: 'x' }] })}\n`);
      expect((await cli({ checkpoint: kept })).err[0]).toBe(`the checkpoint file ${kept} cannot be read (its newest checkpoint is not well-formed); chains are verified without it`);
      await writeFile(kept, 'not json\n{"type":"entry"}\n');
      expect((await cli({ checkpoint: kept })).err[0]).toBe(`no checkpoint in ${kept}: a cut tail or a deleted chain cannot be detected (Perch writes one at start and every audit.checkpointInterval; give another with --checkpoint)`);
    });

    it('pins the purge entry and checks a checkpoint across a purge', async () => {
      const log = await fresh();
      const old = Date.UTC(2025, 0, 1);
      for (let i = 1; i <= 5; i++) await log.record(flowUpdate(i, 'main', { date: old + i }));
      await checkpoint();
      const cp = await newestCheckpoint();
      const lastPurged = await entryAt(3);
      await log.record(flowUpdate(6));
      await log.close();
      const purger = new AuditLog(store, { key, now: () => Date.UTC(2026, 0, 1) });
      const results = await purger.purge(old + 4, { type: 'SYSTEM', id: 'perch-retention' }, 'P90D');
      await purger.close();
      expect(results).toEqual([{ tenantId: 'main', count: 3, firstKeptSeq: 4, lastPurgedHash: lastPurged.hash }]);
      const purge = await entryAt(7);
      expect(purge).toMatchObject({
        tenant_id: 'main', date: Date.UTC(2026, 0, 1), actor_type: 'SYSTEM', actor_id: 'perch-retention', actor_email: null, impersonated_by: null,
        action: 'DELETE', resource_type: 'AUDITLOG', resource_id: null, namespace: null, request_id: null, ip: null, user_agent: null,
        outcome: 'SUCCESS', upstream_status: null, prev_hash: (await entryAt(6)).hash,
      });
      expect(purge.details).toBe(`{"before":"${new Date(old + 4).toISOString()}","count":3,"firstKeptSeq":4,"lastPurgedHash":"${lastPurged.hash}","olderThan":"P90D","purge":true}`);
      expect(linkKind(purge, key)).toBe('keyed');
      // The checkpoint's pin (seq 5) is still there; a pin inside the purged part is accounted for by the purge.
      expect((await verifyChain(store.db, 'main', { key, checkpoint: cp })).broken).toBeNull();
      const inPurged = { time: cp.time, chains: [{ tenant: 'main', seq: 2, hash: 'aa'.repeat(32) }] };
      expect((await verifyChain(store.db, 'main', { key, checkpoint: inPurged })).broken).toBeNull();
      // A pin on the last purged entry must match the hash the purge kept.
      const atEdge = { time: cp.time, chains: [{ tenant: 'main', seq: 3, hash: 'aa'.repeat(32) }] };
      const four = await entryAt(4);
      expect((await verifyChain(store.db, 'main', { key, checkpoint: atEdge })).broken).toEqual({ tenantId: 'main', seq: 4, id: four.id, reason: `it follows an entry 3 other than the one the checkpoint of ${cp.time} signed: the chain was rewritten` });
      expect((await verifyChain(store.db, 'main', { key, checkpoint: { ...atEdge, chains: [{ ...atEdge.chains[0]!, hash: lastPurged.hash }] } })).broken).toBeNull();
    });

    it('lists chains the checkpoint lost and the store kept in one sorted report', async () => {
      const log = await fresh();
      await log.record(flowUpdate(1, 'b'));
      await log.record(flowUpdate(2, 'd'));
      await log.close();
      const reports = await verifyAllChains(store.db, { key, checkpoint: { time: '2026-01-01T00:00:00.000Z', chains: [{ tenant: 'a', seq: 4, hash: 'aa'.repeat(32) }, { tenant: 'c', seq: 1, hash: 'cc'.repeat(32) }] } });
      expect(reports.map((r) => [r.tenantId, r.entries, r.broken?.reason ?? null])).toEqual([
        ['a', 0, 'the whole chain is missing: the checkpoint of 2026-01-01T00:00:00.000Z has it up to seq 4'],
        ['b', 1, null],
        ['c', 0, 'the whole chain is missing: the checkpoint of 2026-01-01T00:00:00.000Z has it up to seq 1'],
        ['d', 1, null],
      ]);
      expect(reports[0]).toEqual({ tenantId: 'a', entries: 0, firstSeq: null, lastSeq: null, legacy: 0, broken: { tenantId: 'a', seq: 4, id: null, reason: expect.any(String) } });
      // Without a pin, a chain with no entries is merely empty.
      expect(await verifyChain(store.db, 'a', { key })).toEqual({ tenantId: 'a', entries: 0, firstSeq: null, lastSeq: null, legacy: 0, broken: null });
    });
  });
}
