import type { OpenStore } from '../store/database.js';
import { SealedValueError, type Envelope } from '../crypto/envelope.js';
import type { SealedColumn } from '../crypto/sealed-columns.js';
import { BackupError } from './archive.js';
import { tableRows, type TableInfo } from './store-tables.js';

/**
 * Opens every value of every sealed column (SEALED_COLUMNS) in the store with the master key the
 * restored Perch will have: a restore that would leave a credential nobody can read fails instead
 * (inside its transaction, so its rows roll back). Reads a page of rows at a time.
 */
export async function openSealedValues(store: OpenStore, tables: Map<string, TableInfo>, envelope: Envelope | null, columns: readonly SealedColumn[]): Promise<number> {
  let opened = 0;
  for (const { table, idColumn, column } of columns) {
    const info = tables.get(table);
    // A table the store does not have holds no value.
    if (!info) continue;
    for await (const rows of tableRows(store, info)) {
      for (const row of rows) {
        const value = row[column];
        if (value === null || value === undefined) continue;
        if (!envelope) {
          throw new BackupError(`the restored ${table}.${column} holds sealed values, and neither the archive nor this Perch has a master key to open them (PERCH_MASTER_KEY or the master key file); nothing was restored`);
        }
        try {
          // The plaintext is not kept: opening is the check.
          envelope.open(String(value), { table, column, id: String(row[idColumn]) }).fill(0);
        } catch (error) {
          if (!(error instanceof SealedValueError)) throw error;
          throw new BackupError(`a restored sealed value does not open with master key ${envelope.keyId}: ${error.message}; nothing was restored`);
        }
        opened++;
      }
    }
  }
  return opened;
}
