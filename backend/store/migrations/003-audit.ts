import { sql, type Kysely } from 'kysely';

/**
 * The append-only audit log (issue 6). One hash chain per tenant (`_instance` for instance-wide
 * events): `seq` counts up from 1 in each chain and `hash` = SHA-256(prev_hash + canonical row).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('id', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('date', 'bigint', (c) => c.notNull())
    .addColumn('actor_type', 'varchar(16)', (c) => c.notNull().check(sql`actor_type in ('USER', 'SERVICE_ACCOUNT', 'SYSTEM', 'ANONYMOUS')`))
    .addColumn('actor_id', 'varchar(64)')
    .addColumn('actor_email', 'varchar(320)')
    .addColumn('impersonated_by', 'varchar(64)')
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addColumn('resource_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('resource_id', 'varchar(500)')
    .addColumn('namespace', 'varchar(150)')
    .addColumn('request_id', 'varchar(64)')
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(500)')
    .addColumn('outcome', 'varchar(16)', (c) => c.notNull().check(sql`outcome in ('SUCCESS', 'FAILURE', 'REFUSED')`))
    .addColumn('upstream_status', 'integer')
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('hash', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_log_pk', ['tenant_id', 'seq'])
    .execute();
  // Few indexes on purpose: each one is paid by every append (actor filters scan the date range).
  await db.schema.createIndex('audit_log_date_idx').on('audit_log').columns(['tenant_id', 'date']).execute();
  await db.schema.createIndex('audit_log_all_date_idx').on('audit_log').columns(['date']).execute();
  await db.schema.createIndex('audit_log_resource_idx').on('audit_log').columns(['tenant_id', 'resource_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
}
