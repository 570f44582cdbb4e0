import type { PerchConfig } from '../config/config.js';
import type { OpenStore } from '../store/database.js';
import { loadAuditKey } from '../audit/audit-key.js';
import { checkpointFile, readNewestCheckpoint, signCheckpoint } from '../audit/checkpoint.js';
import { Envelope } from '../crypto/envelope.js';
import { loadMasterKeyMaterial } from '../crypto/master-key.js';
import type { BackupManifest, BackupPart } from '../../lib/schemas/backup.js';
import { openArchiveWriter, type ArchiveSecret, type ArchiveWriter } from './archive.js';
import { KestraApi, readFlows, readKv, readNamespaceFiles, readNamespaces, readTriggers } from './kestra-metadata.js';
import { AUDIT_CHECKPOINT_PART, AUDIT_KEY_PART, KESTRA_PARTS, MANIFEST_ENTRY, MASTER_KEY_PART, PartWriter, tablePart } from './parts.js';
import { silentProgress, type Progress } from './progress.js';
import { TRANSIENT_TABLES, countRows, encodeRow, storeTables, tableRows, type TableInfo } from './store-tables.js';

/** What Kestra OSS's API has no way to write back: listed in every manifest, and in docs/operations.md. */
export const NOT_RESTORABLE = [
  'Kestra executions and their history (no API creates an execution with its past states)',
  'Kestra flow revisions other than the current one (a restored flow starts again at revision 1)',
  'Kestra namespace file revisions other than the current one',
  'Kestra execution logs, metrics and outputs (internal storage)',
  "Kestra triggers' evaluation dates and locks (the scheduler recreates them); a trigger's enabled/disabled state is restored",
  "Kestra secrets (OSS reads them from its server's environment, which no API exposes)",
  'KV entries that expired before the restore',
  'namespace files of a namespace that has neither flows nor KV entries (Kestra OSS lists no other namespaces)',
];

export interface CreateBackupOptions {
  file: string;
  secret: ArchiveSecret;
  /** Back up one tenant's rows only (a tenant backup); none: the whole instance. */
  tenant?: string;
  perchVersion: string;
  progress?: Progress;
  now?: () => Date;
}

type Filter = { column: string; value: string } | { references: { column: string; key: string }[] } | null;

/**
 * Which rows of a table a backup holds. The whole instance: all. A tenant: rows whose `tenant_id` is the
 * tenant's; for a table without one, rows whose references point at rows kept (a token of a kept user);
 * a table with neither is instance-wide and left out.
 */
function tableFilter(table: TableInfo, tenant: string | undefined, kept: Set<string>): Filter | 'instance-wide' {
  if (tenant === undefined) return null;
  if (table.columns.includes('tenant_id')) return { column: 'tenant_id', value: tenant };
  const references = table.references.filter((r) => kept.has(r.table)).map((r) => ({ column: r.column, key: `${r.table}.${r.parentColumn}` }));
  return references.length ? { references } : 'instance-wide';
}

async function backupTables(store: OpenStore, archive: ArchiveWriter, options: CreateBackupOptions, progress: Progress, steps: number): Promise<{ parts: BackupPart[]; leftOut: BackupManifest['leftOut'] }> {
  const tables = await storeTables(store);
  const referenced = new Set(tables.flatMap((t) => t.references.map((r) => `${r.table}.${r.parentColumn}`)));
  // In a tenant backup: the values of referenced columns among kept rows, so children follow their parents.
  const keptValues = new Map<string, Set<unknown>>();
  const keptTables = new Set<string>();
  const parts: BackupPart[] = [];
  const leftOut: BackupManifest['leftOut'] = [];
  let step = 0;
  for (const table of tables) {
    step++;
    if (TRANSIENT_TABLES[table.name]) {
      leftOut.push({ name: table.name, reason: TRANSIENT_TABLES[table.name]! });
      continue;
    }
    const filter = tableFilter(table, options.tenant, keptTables);
    if (filter === 'instance-wide') {
      leftOut.push({ name: table.name, reason: `instance-wide (no tenant_id): not part of a tenant backup` });
      continue;
    }
    keptTables.add(table.name);
    const writer = new PartWriter(archive, tablePart(table.name));
    const total = await countRows(store, table.name, filter && 'column' in filter ? filter : undefined);
    for await (const rows of tableRows(store, table, filter && 'column' in filter ? filter : undefined)) {
      for (const row of rows) {
        if (filter && 'references' in filter && !filter.references.every((r) => row[r.column] === null || keptValues.get(r.key)?.has(row[r.column]))) continue;
        if (options.tenant !== undefined) {
          for (const column of table.columns) {
            const key = `${table.name}.${column}`;
            if (!referenced.has(key)) continue;
            if (!keptValues.has(key)) keptValues.set(key, new Set());
            keptValues.get(key)!.add(row[column]);
          }
        }
        await writer.record(encodeRow(row));
      }
      progress.update(step, steps, `${table.name} (of ${total.toLocaleString('en')} rows)`, writer.count);
    }
    parts.push(await writer.close());
  }
  return { parts, leftOut };
}

/** The audit key and the newest signed checkpoint: a restored Perch proves the restored log with them. */
async function backupAuditProof(settings: PerchConfig, archive: ArchiveWriter, tenant: string | undefined): Promise<BackupPart[]> {
  const auditKey = await loadAuditKey(settings);
  if (!auditKey) return [];
  const parts: BackupPart[] = [];
  const keyPart = new PartWriter(archive, AUDIT_KEY_PART);
  await keyPart.record(auditKey.key.export().toString('hex'));
  parts.push(await keyPart.close());
  const newest = await readNewestCheckpoint(checkpointFile(settings), auditKey.key);
  if (newest.status === 'signed') {
    // A tenant backup's checkpoint pins that tenant's chain only (signed again with the same key).
    const checkpoint = tenant === undefined ? newest.checkpoint : signCheckpoint(auditKey.key, newest.checkpoint.chains.filter((c) => c.tenant === tenant), new Date(newest.checkpoint.time));
    const checkpointPart = new PartWriter(archive, AUDIT_CHECKPOINT_PART);
    await checkpointPart.record(JSON.stringify(checkpoint));
    parts.push(await checkpointPart.close());
  }
  return parts;
}

/**
 * The master key: the archive's sealed values (SEALED_COLUMNS) open with it only, so a store restored
 * on another machine needs it. Inside the encrypted archive, like the audit key; its id goes in the manifest.
 */
async function backupMasterKey(settings: PerchConfig, archive: ArchiveWriter): Promise<{ parts: BackupPart[]; keyId?: string }> {
  const masterKey = await loadMasterKeyMaterial(settings);
  if (!masterKey) return { parts: [] };
  const keyPart = new PartWriter(archive, MASTER_KEY_PART);
  await keyPart.record(masterKey.bytes.toString('hex'));
  return { parts: [await keyPart.close()], keyId: new Envelope(masterKey.bytes).keyId };
}

async function backupKestra(api: KestraApi, archive: ArchiveWriter, progress: Progress, step: number, steps: number): Promise<BackupPart[]> {
  const parts: BackupPart[] = [];
  const flows: { namespace: string; id: string }[] = [];
  const flowPart = new PartWriter(archive, KESTRA_PARTS.flows);
  for await (const flow of readFlows(api)) {
    flows.push({ namespace: flow.namespace, id: flow.id });
    await flowPart.record(JSON.stringify(flow));
    progress.update(step, steps, 'Kestra flows', flowPart.count);
  }
  parts.push(await flowPart.close());

  const kvNamespaces = new Set<string>();
  const kvPart = new PartWriter(archive, KESTRA_PARTS.kv);
  for await (const entry of readKv(api)) {
    kvNamespaces.add(entry.namespace);
    await kvPart.record(JSON.stringify(entry));
    progress.update(step + 1, steps, 'Kestra KV entries', kvPart.count);
  }
  parts.push(await kvPart.close());

  const namespaces = await readNamespaces(api, kvNamespaces);
  const namespacePart = new PartWriter(archive, KESTRA_PARTS.namespaces);
  for (const namespace of namespaces) await namespacePart.record(JSON.stringify({ namespace }));
  parts.push(await namespacePart.close());

  const filePart = new PartWriter(archive, KESTRA_PARTS.files);
  for (const namespace of namespaces) {
    for await (const { record, data } of readNamespaceFiles(api, namespace)) {
      await filePart.file(record, data);
      progress.update(step + 3, steps, 'Kestra namespace files', filePart.count);
    }
  }
  parts.push(await filePart.close());

  const triggerPart = new PartWriter(archive, KESTRA_PARTS.triggers);
  for await (const trigger of readTriggers(api, flows)) {
    await triggerPart.record(JSON.stringify(trigger));
    progress.update(step + 4, steps, 'Kestra trigger states', triggerPart.count);
  }
  parts.push(await triggerPart.close());
  return parts;
}

/** `perch backup create`: one encrypted archive of Perch's store, the audit and master keys and Kestra's metadata. */
export async function createBackup(settings: PerchConfig, store: OpenStore, options: CreateBackupOptions): Promise<BackupManifest> {
  const progress = options.progress ?? silentProgress;
  const now = options.now ?? (() => new Date());
  const api = new KestraApi(settings.kestra);
  const archive = await openArchiveWriter(options.file, options.secret);
  try {
    const tableCount = (await storeTables(store)).length;
    const steps = tableCount + 5;
    const tables = await backupTables(store, archive, options, progress, steps);
    const audit = await backupAuditProof(settings, archive, options.tenant);
    const master = await backupMasterKey(settings, archive);
    const kestra = await backupKestra(api, archive, progress, tableCount + 1, steps);
    const manifest: BackupManifest = {
      type: 'perch.backup',
      version: 1,
      createdAt: now().toISOString(),
      perchVersion: options.perchVersion,
      tenant: options.tenant ?? 'main',
      scope: options.tenant === undefined ? 'instance' : 'tenant',
      source: { store: store.dialect, kestraUrl: api.url },
      ...(master.keyId ? { masterKeyId: master.keyId } : {}),
      parts: [...tables.parts, ...audit, ...master.parts, ...kestra],
      leftOut: tables.leftOut,
      notRestorable: NOT_RESTORABLE,
    };
    await archive.add(MANIFEST_ENTRY, Buffer.from(JSON.stringify(manifest, null, 2)));
    await archive.finish();
    progress.done();
    return manifest;
  } catch (error) {
    progress.done();
    await archive.abort();
    throw error;
  }
}
