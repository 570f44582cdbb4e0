import type { Kysely } from 'kysely';

/**
 * Issue 6, points 2 and 6. `audit_states`: the state before and after a change (a flow's source),
 * kept beside the audit row so the log's rows stay small; its SHA-256 digests are in the entry's
 * details, so the hash chain covers them. `audit_ship_cursors`: how far each log shipper sink got in
 * each chain (the last acknowledged `seq`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_states')
    .addColumn('entry_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .execute();
  await db.schema
    .createTable('audit_ship_cursors')
    .addColumn('sink', 'varchar(200)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_ship_cursors_pk', ['sink', 'tenant_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_ship_cursors').execute();
  await db.schema.dropTable('audit_states').execute();
}
