import type { Kysely } from 'kysely';

/**
 * Issue 23: Apps. `apps` holds each app's YAML source as its author wrote it, with the fields Perch
 * searches and serves by read out of it (EE's `ApiApp`); `enabled` is set by enable/disable, not by
 * the source. `app_runs`: an execution an app started, named by an unguessable token, so that the
 * page that follows it (and its files) is reachable by whoever submitted the form and by nobody who
 * merely knows the execution id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apps')
    .addColumn('uid', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('id', 'varchar(100)', (c) => c.notNull())
    .addColumn('name', 'varchar(400)', (c) => c.notNull())
    .addColumn('type', 'varchar(100)', (c) => c.notNull())
    .addColumn('namespace', 'varchar(400)', (c) => c.notNull())
    .addColumn('flow_id', 'varchar(100)', (c) => c.notNull())
    // JSON array of strings.
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('apps_tenant_id_unique', ['tenant_id', 'id'])
    .execute();
  await db.schema
    .createTable('app_runs')
    // SHA-256 (hex) of the run token: the token itself is only in the submitter's address bar.
    .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('app_uid', 'varchar(32)', (c) => c.notNull().references('apps.uid').onDelete('cascade'))
    .addColumn('execution_id', 'varchar(100)', (c) => c.notNull())
    .addColumn('submitted_by', 'varchar(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('app_runs_app_idx').on('app_runs').column('app_uid').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('app_runs').execute();
  await db.schema.dropTable('apps').execute();
}
