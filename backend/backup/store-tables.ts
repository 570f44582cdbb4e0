import { sql, type Kysely } from 'kysely';
import type { OpenStore } from '../store/database.js';

/**
 * Perch's tables, found in the store itself (not from a list in code), so a table another feature's
 * migration adds is backed up without touching this module.
 */
export interface TableInfo {
  name: string;
  columns: string[];
  primaryKey: string[];
  /** Columns referencing another table's column. */
  references: { column: string; table: string; parentColumn: string }[];
}

type AnyDb = Kysely<any>;

/**
 * Tables left out of every backup: state that is only worth anything on the running instance (who is
 * signed in now, a sign-in in flight, a lockout counter). A restored Perch starts with everyone signed out.
 */
export const TRANSIENT_TABLES: Record<string, string> = {
  sessions: 'sign-in sessions: everyone signs in again on the restored Perch',
  sso_logins: 'single sign-on attempts in flight',
  login_failures: 'lockout counters of failed sign-ins',
  rate_limits: 'per-address rate-limit counters of the current minute',
};

/**
 * Tables a migration fills with rows of its own (a fresh store is not empty there): a restore replaces
 * their rows with the archive's, and they do not make a target count as holding data.
 */
export const SEEDED_TABLES: Record<string, { why: string; seed: { column: string; value: string | number } }> = {
  maintenance_state: { why: 'one row, made by migration 011: whether the instance is in maintenance', seed: { column: 'id', value: 1 } },
  tenants: { why: 'tenant main, made by migration 009', seed: { column: 'id', value: 'main' } },
};

const isMigrationTable = (name: string) => name.startsWith('kysely_migration');

async function primaryKeyOf(store: OpenStore, table: string): Promise<string[]> {
  const db = store.db as AnyDb;
  if (store.dialect === 'sqlite') {
    const { rows } = await sql<{ name: string; pk: number }>`select name, pk from pragma_table_info(${table}) where pk > 0 order by pk`.execute(db);
    return rows.map((r) => r.name);
  }
  const { rows } = await sql<{ column_name: string }>`
    select kcu.column_name from information_schema.table_constraints tc
    join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
    where tc.table_schema = current_schema() and tc.table_name = ${table} and tc.constraint_type = 'PRIMARY KEY'
    order by kcu.ordinal_position`.execute(db);
  return rows.map((r) => r.column_name);
}

async function referencesOf(store: OpenStore, table: string): Promise<TableInfo['references']> {
  const db = store.db as AnyDb;
  if (store.dialect === 'sqlite') {
    const { rows } = await sql<{ from: string; table: string; to: string }>`select "from", "table", "to" from pragma_foreign_key_list(${table})`.execute(db);
    return rows.map((r) => ({ column: r.from, table: r.table, parentColumn: r.to }));
  }
  const { rows } = await sql<{ column_name: string; parent_table: string; parent_column: string }>`
    select kcu.column_name, ccu.table_name as parent_table, ccu.column_name as parent_column
    from information_schema.table_constraints tc
    join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name and kcu.table_schema = tc.table_schema
    join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
    where tc.table_schema = current_schema() and tc.table_name = ${table} and tc.constraint_type = 'FOREIGN KEY'`.execute(db);
  return rows.map((r) => ({ column: r.column_name, table: r.parent_table, parentColumn: r.parent_column }));
}

/** Every table of the store (migrations' bookkeeping aside), parents before the tables that reference them. */
export async function storeTables(store: OpenStore): Promise<TableInfo[]> {
  // PostgreSQL: the store's schema only (the introspection lists every schema of the database).
  const schema = store.dialect === 'postgres' ? (await sql<{ name: string }>`select current_schema() as name`.execute(store.db)).rows[0]?.name : undefined;
  const found = (await store.db.introspection.getTables()).filter((t) => !isMigrationTable(t.name) && !t.isView && (schema === undefined || t.schema === schema));
  const tables = await Promise.all(
    found.map(async (t) => ({ name: t.name, columns: t.columns.map((c) => c.name), primaryKey: await primaryKeyOf(store, t.name), references: await referencesOf(store, t.name) })),
  );
  const byName = new Map(tables.map((t) => [t.name, t]));
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (table: TableInfo) => {
    if (placed.has(table.name) || visiting.has(table.name)) return;
    visiting.add(table.name);
    for (const ref of table.references) {
      const parent = byName.get(ref.table);
      if (parent && parent !== table) place(parent);
    }
    visiting.delete(table.name);
    placed.add(table.name);
    ordered.push(table);
  };
  for (const table of [...tables].sort((a, b) => a.name.localeCompare(b.name))) place(table);
  return ordered;
}

/** Rows a page reads at once: bounded memory whatever the table's size. */
const PAGE_ROWS = 1000;

/**
 * Every row of a table (optionally only those `keep` accepts), in primary-key order, a page at a
 * time (keyset paging: a million-entry audit log is read without OFFSET's quadratic cost).
 */
export async function* tableRows(store: OpenStore, table: TableInfo, where?: { column: string; value: string }): AsyncGenerator<Record<string, unknown>[]> {
  const db = store.db as AnyDb;
  const order = table.primaryKey.length ? table.primaryKey : table.columns;
  let after: unknown[] | null = null;
  let offset = 0;
  for (;;) {
    let query = db.selectFrom(table.name).selectAll();
    if (where) query = query.where(where.column, '=', where.value);
    if (table.primaryKey.length && after) {
      const cursor = after;
      query = query.where(({ eb }: any) => eb(sql`(${sql.join(order.map((c) => sql.ref(c)))})`, '>', sql`(${sql.join(cursor)})`));
    }
    for (const column of order) query = query.orderBy(column);
    query = query.limit(PAGE_ROWS);
    if (!table.primaryKey.length) query = query.offset(offset);
    const rows = (await query.execute()) as Record<string, unknown>[];
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < PAGE_ROWS) return;
    offset += rows.length;
    const last = rows.at(-1)!;
    after = order.map((c) => last[c]);
  }
}

/** True when the table holds a row (matching `where`): one row read, whatever the table's size. */
export async function hasRows(store: OpenStore, table: string, where?: { column: string; value: string }): Promise<boolean> {
  let query = (store.db as AnyDb).selectFrom(table).select(sql`1`.as('one'));
  if (where) query = query.where(where.column, '=', where.value);
  // A table a migration seeds holds data only beyond its seed row.
  const seed = SEEDED_TABLES[table]?.seed;
  if (seed) query = query.where(seed.column, '!=', seed.value);
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

/** How many rows a table holds (for the progress bar). */
export async function countRows(store: OpenStore, table: string, where?: { column: string; value: string }): Promise<number> {
  let query = (store.db as AnyDb).selectFrom(table).select((eb: any) => eb.fn.countAll().as('n'));
  if (where) query = query.where(where.column, '=', where.value);
  const row = (await query.executeTakeFirst()) as { n: number | string };
  return Number(row.n);
}

/**
 * A row as JSON: byte columns become `{"$base64": …}` and instants ISO text, so one archive restores
 * into SQLite or PostgreSQL alike.
 */
export function encodeRow(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_key, value: unknown) => {
    if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
      return { $base64: Buffer.from((value as { data: number[] }).data).toString('base64') };
    }
    return value;
  });
}

export function decodeRow(line: string): Record<string, unknown> {
  const row = JSON.parse(line) as Record<string, unknown>;
  for (const [key, value] of Object.entries(row)) {
    if (value && typeof value === 'object' && typeof (value as { $base64?: unknown }).$base64 === 'string') row[key] = Buffer.from((value as { $base64: string }).$base64, 'base64');
  }
  return row;
}
