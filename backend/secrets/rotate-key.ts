import type { Kysely } from 'kysely';
import { SEALED_COLUMNS, type SealedColumn } from '../crypto/sealed-columns.js';
import type { Envelope } from '../crypto/envelope.js';
import type { Store } from '../store/database.js';

/**
 * `perch secrets rotate-key`: every value of every sealed column (crypto/sealed-columns.ts) gets its
 * data key re-wrapped by the new master key; the ciphertexts stay. One transaction per batch, so an
 * interrupted rotation keeps what it did and a second run finishes it (values the new key already
 * wraps are skipped). A value neither key opens stops the rotation, naming it.
 */
export const ROTATION_BATCH = 200;

export interface RotationReport {
  rewrapped: number;
  alreadyNew: number;
}

// Table and column names come from the registry, not from a request: a loosely typed view of the store.
type AnyStore = Kysely<Record<string, Record<string, string | null>>>;

async function rotateColumn(db: AnyStore, column: SealedColumn, from: Envelope, to: Envelope, progress: (line: string) => void, batch: number): Promise<RotationReport> {
  const name = `${column.table}.${column.column}`;
  const total = Number((await db.selectFrom(column.table).select((eb) => eb.fn.countAll().as('n')).where(column.column, 'is not', null).executeTakeFirstOrThrow()).n);
  const report: RotationReport = { rewrapped: 0, alreadyNew: 0 };
  let after: string | null = null;
  let seen = 0;
  for (;;) {
    const last: string | null = await db.transaction().execute(async (trx) => {
      let query = trx.selectFrom(column.table).select([column.idColumn, column.column]).where(column.column, 'is not', null).orderBy(column.idColumn).limit(batch);
      if (after !== null) query = query.where(column.idColumn, '>', after);
      const rows = await query.execute();
      for (const row of rows) {
        const id = String(row[column.idColumn]);
        const sealed = row[column.column]!;
        const place = { table: column.table, column: column.column, id };
        if (to.wraps(sealed, place)) {
          report.alreadyNew++;
          continue;
        }
        await trx.updateTable(column.table).set({ [column.column]: from.rewrap(sealed, place, to) }).where(column.idColumn, '=', id).execute();
        report.rewrapped++;
      }
      seen += rows.length;
      return rows.length < batch ? null : String(rows[rows.length - 1]![column.idColumn]);
    });
    progress(`${name}: ${seen} of ${total}`);
    if (last === null) return report;
    after = last;
  }
}

/** Re-wraps every sealed value from `from`'s master key to `to`'s. */
export async function rotateMasterKey(db: Store, from: Envelope, to: Envelope, progress: (line: string) => void, columns: readonly SealedColumn[] = SEALED_COLUMNS, batch = ROTATION_BATCH): Promise<RotationReport> {
  const total: RotationReport = { rewrapped: 0, alreadyNew: 0 };
  for (const column of columns) {
    const report = await rotateColumn(db as unknown as AnyStore, column, from, to, progress, batch);
    total.rewrapped += report.rewrapped;
    total.alreadyNew += report.alreadyNew;
  }
  return total;
}
