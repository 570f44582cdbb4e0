import type { Kysely } from 'kysely';

/**
 * Issue 19 point 3: rate-limit counters in the store, so that replicas on one database share one
 * limit. One row per (bucket, client address) holding its current window's start and count, counted
 * by an atomic upsert (which also starts a new window once the last one has ended).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('bucket', 'varchar(40)', (c) => c.notNull())
    .addColumn('client', 'varchar(200)', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limits_pk', ['bucket', 'client'])
    .execute();
  // The sweep of expired windows finds them by start.
  await db.schema.createIndex('rate_limits_window_idx').on('rate_limits').column('window_start').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
