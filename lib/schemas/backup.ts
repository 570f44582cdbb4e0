import { z } from 'zod';

/**
 * The manifest of a Perch backup archive (`perch backup create`): what each part holds, how many
 * records, and the SHA-256 of its content, so a restore checks every byte before writing one.
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const backupPartSchema = z.strictObject({
  /** `perch.table.<table>`, `perch.audit-key`, `perch.audit-checkpoint`, `perch.master-key`, `kestra.<kind>`. */
  name: z.string().min(1),
  /** Rows, flows, files, entries… in the part. */
  count: z.number().int().min(0),
  /** Bytes of the part's content in the archive. */
  bytes: z.number().int().min(0),
  sha256: sha256Hex,
});
export type BackupPart = z.output<typeof backupPartSchema>;

export const backupManifestSchema = z.strictObject({
  type: z.literal('perch.backup'),
  version: z.literal(1),
  createdAt: z.iso.datetime(),
  perchVersion: z.string(),
  /** The tenant backed up: a tenant backup holds its rows only (see docs/operations.md). */
  tenant: z.string().min(1).default('main'),
  /** `instance`: every tenant and the instance-wide tables; `tenant`: one tenant's rows. */
  scope: z.enum(['instance', 'tenant']),
  source: z.strictObject({ store: z.enum(['sqlite', 'postgres']), kestraUrl: z.string() }),
  /** The id (public fingerprint) of the master key in part `perch.master-key`: a restore compares it with the target's before writing. */
  masterKeyId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  /** In archive order: Perch's tables parents first, then Kestra's metadata in restore order. */
  parts: z.array(backupPartSchema),
  /** Perch tables not in the archive, and why (transient state; instance-wide in a tenant backup). */
  leftOut: z.array(z.strictObject({ name: z.string(), reason: z.string() })),
  /** What Kestra OSS's API cannot write back, so a restore cannot bring it back. */
  notRestorable: z.array(z.string()),
});
export type BackupManifest = z.output<typeof backupManifestSchema>;

/** The Kestra metadata a backup reads and a restore writes, one record per line. */
export const kestraFlowRecordSchema = z.strictObject({ namespace: z.string(), id: z.string(), source: z.string() });
export const kestraNamespaceRecordSchema = z.strictObject({ namespace: z.string() });
export const kestraFileRecordSchema = z.strictObject({ namespace: z.string(), path: z.string(), type: z.enum(['File', 'Directory']) });
export const kvTypeSchema = z.enum(['STRING', 'NUMBER', 'BOOLEAN', 'DATETIME', 'DATE', 'DURATION', 'JSON']);
export const kestraKvRecordSchema = z.strictObject({
  namespace: z.string(),
  key: z.string(),
  type: kvTypeSchema,
  value: z.unknown(),
  description: z.string().nullable(),
  /** ISO instant, or null: never expires. */
  expirationDate: z.string().nullable(),
});
export const kestraTriggerRecordSchema = z.strictObject({ namespace: z.string(), flowId: z.string(), triggerId: z.string(), disabled: z.boolean() });
export type KestraFlowRecord = z.output<typeof kestraFlowRecordSchema>;
export type KestraFileRecord = z.output<typeof kestraFileRecordSchema>;
export type KestraKvRecord = z.output<typeof kestraKvRecordSchema>;
export type KestraTriggerRecord = z.output<typeof kestraTriggerRecordSchema>;
