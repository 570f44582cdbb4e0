import type { Kysely } from 'kysely';

/**
 * Operations (issue 22, points 1–3).
 * - `banners`: announcements managed by API (EE `/api/v1/banners`); the config file's `ui.banners` stay beside them.
 * - `maintenance_state`: one row (id 1): whether the instance is in maintenance, the schedule triggers
 *   Perch disabled on entering (JSON, to re-enable exactly those on exit), and `held_seq`, the last
 *   position handed to a held request (bumped in the same transaction that queues one, so that leaving
 *   maintenance and queueing a request cannot miss each other).
 * - `maintenance_held`: execution requests held during maintenance, replayed in `seq` order on exit.
 * - `kill_switches`: EE `/api/v1/kill-switches` rules (soft-deleted, as EE does).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('banners')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('message', 'varchar(2000)', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('start_date', 'bigint')
    .addColumn('end_date', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('maintenance_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('phase', 'varchar(16)', (c) => c.notNull())
    .addColumn('message', 'varchar(2000)')
    .addColumn('changed_by', 'varchar(64)')
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addColumn('disabled_triggers', 'text', (c) => c.notNull())
    .addColumn('held_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('maintenance_state' as never).values({ id: 1, phase: 'off', message: null, changed_by: null, changed_at: 0, disabled_triggers: '[]', held_seq: 0 } as never).execute();
  await db.schema
    .createTable('maintenance_held')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('method', 'varchar(8)', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('query', 'text', (c) => c.notNull())
    .addColumn('headers', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('caller', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('kill_switches')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(64)')
    .addColumn('namespace', 'varchar(400)')
    .addColumn('flow_id', 'varchar(200)')
    .addColumn('execution_ids', 'text', (c) => c.notNull())
    .addColumn('start_date', 'bigint', (c) => c.notNull())
    .addColumn('end_date', 'bigint')
    .addColumn('description', 'varchar(2000)')
    .addColumn('evaluation_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['kill_switches', 'maintenance_held', 'maintenance_state', 'banners']) await db.schema.dropTable(table).execute();
}
