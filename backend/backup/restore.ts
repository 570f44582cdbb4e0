import { createSecretKey } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { PerchConfig } from '../config/config.js';
import type { OpenStore } from '../store/database.js';
import { auditKeyFile, loadAuditKey, writeNewKeyFile } from '../audit/audit-key.js';
import { checkpointFile } from '../audit/checkpoint.js';
import { Envelope } from '../crypto/envelope.js';
import { loadMasterKey, masterKeyFile } from '../crypto/master-key.js';
import { SEALED_COLUMNS, type SealedColumn } from '../crypto/sealed-columns.js';
import { backupManifestSchema, kestraFileRecordSchema, kestraFlowRecordSchema, kestraKvRecordSchema, kestraNamespaceRecordSchema, kestraTriggerRecordSchema, type BackupManifest } from '../../lib/schemas/backup.js';
import { BackupError, readArchive, type ArchiveSecret } from './archive.js';
import { KestraApi, kestraIsEmpty, writeFlow, writeKv, writeNamespaceFile, writeTrigger } from './kestra-metadata.js';
import { AUDIT_CHECKPOINT_PART, AUDIT_KEY_PART, KESTRA_PARTS, MANIFEST_ENTRY, MASTER_KEY_PART, PartSum, TABLE_PART, entryLines, partOf } from './parts.js';
import { openSealedValues } from './sealed-check.js';
import { silentProgress, type Progress } from './progress.js';
import { SEEDED_TABLES, decodeRow, hasRows, storeTables, type TableInfo } from './store-tables.js';

export interface RestoreOptions {
  file: string;
  secret: ArchiveSecret;
  /** Check the archive and the targets, say what would be written, write nothing. */
  dryRun?: boolean;
  /** Restore into a Perch or Kestra that already holds data: the archive's tables are emptied first (the tenant's rows in a tenant backup), Kestra's objects of the same names overwritten. */
  force?: boolean;
  progress?: Progress;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** The sealed columns checked after the rows are in: SEALED_COLUMNS (tests give their own). */
  sealedColumns?: readonly SealedColumn[];
}

export interface RestoreReport {
  manifest: BackupManifest;
  /** What was (or, in a dry run, would be) written: part name and records. */
  writes: { part: string; count: number }[];
  /** Notes: the audit key written, KV entries that expired, … */
  notes: string[];
  dryRun: boolean;
}

const RECORD_SCHEMAS: Record<string, { parse(value: unknown): unknown }> = {
  [KESTRA_PARTS.flows]: kestraFlowRecordSchema,
  [KESTRA_PARTS.kv]: kestraKvRecordSchema,
  [KESTRA_PARTS.namespaces]: kestraNamespaceRecordSchema,
  [KESTRA_PARTS.triggers]: kestraTriggerRecordSchema,
};

/**
 * First pass: reads the whole archive, checks every part against the manifest's count and SHA-256 and
 * every record's shape, and that the target store has every table and column the archive fills.
 * Nothing is written until this pass is through, so a damaged archive writes nothing.
 */
async function checkArchive(options: RestoreOptions, targetTables: Map<string, TableInfo>): Promise<{ manifest: BackupManifest; auditKeyHex?: string; masterKey?: ArchivedMasterKey }> {
  const sums = new Map<string, PartSum>();
  let manifest: BackupManifest | undefined;
  let auditKeyHex: string | undefined;
  let masterKeyHex: string | undefined;
  await readArchive(options.file, options.secret, async (name, data) => {
    if (manifest) throw new BackupError(`${options.file}: an entry (${name}) follows the manifest`);
    if (name === MANIFEST_ENTRY) {
      const parsed = backupManifestSchema.safeParse(JSON.parse(data.toString('utf8')));
      if (!parsed.success) throw new BackupError(`${options.file}: the manifest is not a Perch backup manifest: ${parsed.error.message}`);
      manifest = parsed.data;
      return;
    }
    const part = partOf(name);
    if (!sums.has(part)) sums.set(part, new PartSum(part));
    const sum = sums.get(part)!;
    sum.add(data);
    if (name.endsWith('.bin')) return;
    if (name.endsWith('.json')) {
      kestraFileRecordSchema.parse(JSON.parse(data.toString('utf8')));
      sum.count++;
      return;
    }
    if (part === AUDIT_KEY_PART) auditKeyHex = entryLines(data)[0];
    if (part === MASTER_KEY_PART) masterKeyHex = entryLines(data)[0];
    for (const line of entryLines(data)) {
      sum.count++;
      const table = TABLE_PART.exec(part)?.[1];
      if (table) {
        const target = targetTables.get(table);
        if (!target) throw new BackupError(`the archive holds table ${table}, which this Perch's store does not have: restore with the Perch version that made it (or newer)`);
        const unknown = Object.keys(decodeRow(line)).filter((c) => !target.columns.includes(c));
        if (unknown.length) throw new BackupError(`the archive's table ${table} has columns this Perch's store does not have (${unknown.join(', ')}): restore with the Perch version that made it (or newer)`);
      } else if (RECORD_SCHEMAS[part]) RECORD_SCHEMAS[part].parse(JSON.parse(line));
    }
  });
  if (!manifest) throw new BackupError(`${options.file} is damaged: it ends before its manifest (truncated); nothing was restored`);
  for (const expected of manifest.parts) {
    const got = sums.get(expected.name)?.summary() ?? { name: expected.name, count: 0, bytes: 0, sha256: new PartSum(expected.name).summary().sha256 };
    if (got.sha256 !== expected.sha256 || got.count !== expected.count || got.bytes !== expected.bytes) {
      throw new BackupError(`${options.file} is damaged: part ${expected.name} does not match its manifest (${got.count} records, sha256 ${got.sha256}; the manifest says ${expected.count}, ${expected.sha256}); nothing was restored`);
    }
    sums.delete(expected.name);
  }
  if (sums.size) throw new BackupError(`${options.file} holds parts its manifest does not list (${[...sums.keys()].join(', ')}); nothing was restored`);
  return { manifest, auditKeyHex, masterKey: archivedMasterKey(options.file, manifest, masterKeyHex) };
}

interface ArchivedMasterKey {
  hex: string;
  envelope: Envelope;
}

/** The archive's master key, which must be the one its manifest names. */
function archivedMasterKey(file: string, manifest: BackupManifest, hex: string | undefined): ArchivedMasterKey | undefined {
  if (hex === undefined && manifest.masterKeyId === undefined) return undefined;
  if (hex === undefined || !/^(?:[0-9a-f]{2}){32,}$/.test(hex)) throw new BackupError(`${file} is damaged: its manifest names master key ${manifest.masterKeyId} but the archive holds no valid key; nothing was restored`);
  const envelope = new Envelope(Buffer.from(hex, 'hex'));
  if (envelope.keyId !== manifest.masterKeyId) throw new BackupError(`${file} is damaged: its master key (${envelope.keyId}) is not the one its manifest names (${manifest.masterKeyId ?? 'none'}); nothing was restored`);
  return { hex, envelope };
}

const tenantWhere = (table: TableInfo, manifest: BackupManifest) => (manifest.scope === 'tenant' && table.columns.includes('tenant_id') ? { column: 'tenant_id', value: manifest.tenant } : undefined);

/** The archive's tables that already hold rows in the target (the tenant's rows, for a tenant backup). */
async function occupiedTables(store: OpenStore, tables: TableInfo[], manifest: BackupManifest): Promise<string[]> {
  const occupied: string[] = [];
  for (const table of tables) {
    if (manifest.scope === 'tenant' && !table.columns.includes('tenant_id')) continue;
    if (await hasRows(store, table.name, tenantWhere(table, manifest))) occupied.push(table.name);
  }
  return occupied;
}

/** The audit key in the archive, unless the target already has another (its restored chain would not verify). */
async function auditKeyToWrite(settings: PerchConfig, manifestHasKey: boolean, keyHex: string | undefined, env: NodeJS.ProcessEnv | undefined): Promise<'write' | 'same' | 'none'> {
  if (!manifestHasKey || !keyHex) return 'none';
  const existing = await loadAuditKey(settings, env);
  if (!existing) return 'write';
  if (existing.key.equals(createSecretKey(Buffer.from(keyHex, 'hex')))) return 'same';
  throw new BackupError(
    `this Perch already has another audit key (${existing.source}): the restored audit log would not verify with it. Move it away (an empty store has nothing signed with it) or set PERCH_AUDIT_KEY to the archive's key, then restore again`,
  );
}

/**
 * The archive's master key, unless the target already has another (PERCH_MASTER_KEY or its file): the
 * restored sealed values would not open with it. Compared by key id. Also gives the key the restored
 * Perch will open sealed values with (none when neither side has one).
 */
async function masterKeyToWrite(settings: PerchConfig, archived: ArchivedMasterKey | undefined, env: NodeJS.ProcessEnv | undefined): Promise<{ action: 'write' | 'same' | 'none'; envelope: Envelope | null }> {
  const existing = await loadMasterKey(settings, env);
  if (!archived) return { action: 'none', envelope: existing?.envelope ?? null };
  if (!existing) return { action: 'write', envelope: archived.envelope };
  if (existing.envelope.keyId === archived.envelope.keyId) return { action: 'same', envelope: existing.envelope };
  throw new BackupError(
    `this Perch already has another master key (${existing.source}, key id ${existing.envelope.keyId}; the archive's is ${archived.envelope.keyId}): the restored credentials and secrets would not open with it. Move it away (when nothing this Perch keeps is sealed with it) or set PERCH_MASTER_KEY to the archive's key, then restore again`,
  );
}

/**
 * `perch backup restore`: into an empty Perch store and an empty Kestra (or, with `force`, over what
 * they hold). Perch's rows go in one transaction, rolled back when anything fails, Kestra's writes included.
 */
export async function restoreBackup(settings: PerchConfig, store: OpenStore, options: RestoreOptions): Promise<RestoreReport> {
  const progress = options.progress ?? silentProgress;
  const now = options.now ?? Date.now;
  const tables = await storeTables(store);
  const byName = new Map(tables.map((t) => [t.name, t]));
  const { manifest, auditKeyHex: keyHex, masterKey: archivedMaster } = await checkArchive(options, byName);
  const archiveTables = manifest.parts.map((p) => TABLE_PART.exec(p.name)?.[1]).filter((t): t is string => t !== undefined).map((t) => byName.get(t)!);
  const api = new KestraApi(settings.kestra);

  const occupied = await occupiedTables(store, archiveTables, manifest);
  const kestraEmpty = await kestraIsEmpty(api);
  if (!options.force && (occupied.length || !kestraEmpty)) {
    const what = [occupied.length ? `Perch's store (${store.description}) holds rows in ${occupied.join(', ')}` : '', kestraEmpty ? '' : `Kestra at ${api.url} holds flows or KV entries`].filter(Boolean).join('; ');
    throw new BackupError(`the target is not empty: ${what}. Restore into an empty Perch and Kestra, or give --force to write over them`);
  }
  const hasKey = manifest.parts.some((p) => p.name === AUDIT_KEY_PART);
  const keyAction = await auditKeyToWrite(settings, hasKey, keyHex, options.env);
  const master = await masterKeyToWrite(settings, archivedMaster, options.env);

  const notWritten = new Set([AUDIT_KEY_PART, AUDIT_CHECKPOINT_PART, MASTER_KEY_PART, KESTRA_PARTS.namespaces]);
  const writes = manifest.parts.filter((p) => !notWritten.has(p.name)).map((p) => ({ part: p.name, count: p.count }));
  const notes: string[] = [];
  if (keyAction === 'write') notes.push(`the audit key goes to ${auditKeyFile(settings)}`);
  if (keyAction === 'same') notes.push('the audit key is already this Perch’s');
  if (master.action === 'write') notes.push(`the master key (${master.envelope!.keyId}) goes to ${masterKeyFile(settings)}`);
  if (master.action === 'same') notes.push(`the master key (${master.envelope!.keyId}) is already this Perch’s`);
  if (manifest.parts.some((p) => p.name === AUDIT_CHECKPOINT_PART)) notes.push(`the backup's audit checkpoint is appended to ${checkpointFile(settings)}`);
  if (options.force && occupied.length) notes.push(`--force: the rows of ${occupied.join(', ')} are replaced`);
  if (options.dryRun) return { manifest, writes, notes, dryRun: true };

  const steps = manifest.parts.length;
  const done = new Map<string, number>();
  let checkpointLine: string | undefined;
  let expired = 0;
  await store.db.transaction().execute(async (trx) => {
    const db = trx as unknown as Kysely<any>;
    // The archive's tables come first: once they are in, and before Kestra is written to, every sealed value must open.
    let sealedChecked = false;
    const checkSealed = async () => {
      if (sealedChecked) return;
      sealedChecked = true;
      await openSealedValues({ ...store, db: trx }, byName, master.envelope, options.sealedColumns ?? SEALED_COLUMNS);
    };
    for (const table of [...archiveTables].reverse()) {
      const seed = SEEDED_TABLES[table.name]?.seed;
      if (!options.force && !seed) continue;
      const where = tenantWhere(table, manifest);
      let removal = where ? db.deleteFrom(table.name).where(where.column, '=', where.value) : db.deleteFrom(table.name);
      // Without --force only the migration's seed row goes: the archive brings its own.
      if (!options.force && seed) removal = removal.where(seed.column, '=', seed.value);
      await removal.execute();
    }
    let pendingFile: ReturnType<typeof kestraFileRecordSchema.parse> | undefined;
    await readArchive(options.file, options.secret, async (name, data) => {
      if (name === MANIFEST_ENTRY) return;
      const part = partOf(name);
      const step = manifest.parts.findIndex((p) => p.name === part) + 1;
      const count = () => {
        done.set(part, (done.get(part) ?? 0) + 1);
        progress.update(step, steps, part, done.get(part)!);
      };
      const table = TABLE_PART.exec(part)?.[1];
      if (table) {
        const rows = entryLines(data).map(decodeRow);
        for (let i = 0; i < rows.length; i += 100) await db.insertInto(table).values(rows.slice(i, i + 100)).execute();
        done.set(part, (done.get(part) ?? 0) + rows.length);
        progress.update(step, steps, part, done.get(part)!);
        return;
      }
      await checkSealed();
      if (part === AUDIT_KEY_PART || part === MASTER_KEY_PART || part === KESTRA_PARTS.namespaces) return;
      if (part === AUDIT_CHECKPOINT_PART) {
        checkpointLine = entryLines(data)[0];
        return;
      }
      if (part === KESTRA_PARTS.files) {
        if (name.endsWith('.json')) pendingFile = kestraFileRecordSchema.parse(JSON.parse(data.toString('utf8')));
        else {
          await writeNamespaceFile(api, pendingFile!, data);
          count();
        }
        return;
      }
      for (const line of entryLines(data)) {
        const record = JSON.parse(line) as unknown;
        if (part === KESTRA_PARTS.flows) await writeFlow(api, kestraFlowRecordSchema.parse(record), options.force === true);
        else if (part === KESTRA_PARTS.kv) {
          if (!(await writeKv(api, kestraKvRecordSchema.parse(record), now()))) expired++;
        } else if (part === KESTRA_PARTS.triggers) await writeTrigger(api, kestraTriggerRecordSchema.parse(record));
        count();
      }
    });
    await checkSealed();
  });
  progress.done();
  if (keyAction === 'write') await writeNewKeyFile(auditKeyFile(settings), keyHex!);
  if (master.action === 'write') await writeNewKeyFile(masterKeyFile(settings), archivedMaster!.hex);
  if (checkpointLine) {
    const file = checkpointFile(settings);
    await mkdir(path.dirname(file), { recursive: true });
    await appendFile(file, `${checkpointLine}\n`, { mode: 0o600 });
  }
  if (expired) notes.push(`${expired} KV entries expired before they could be restored`);
  return { manifest, writes, notes, dryRun: false };
}
