/**
 * Every column that holds values sealed by the envelope (envelope.ts), so that a master-key rotation
 * (and a backup's check) finds them all without reading each feature's code. A feature that stores a
 * sealed value adds one row here; the place a value is sealed to is `{ table, column, id: row[idColumn] }`.
 */
export interface SealedColumn {
  table: string;
  /** The column whose text is the row's id in the value's `SealedPlace` (for a composite key, a column the feature fills with the joined key). */
  idColumn: string;
  column: string;
}

export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { table: 'namespace_secrets', idColumn: 'id', column: 'value' },
  // A tenant's own Kestra password (issue 20, instance mode).
  { table: 'tenants', idColumn: 'id', column: 'kestra_password' },
  // A tenant's own AI provider keys (issue 24).
  { table: 'ai_providers', idColumn: 'id', column: 'api_key' },
];
