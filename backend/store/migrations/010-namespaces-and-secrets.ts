import type { Kysely } from 'kysely';

/**
 * Issue 21. `namespaces`: the namespaces created as EE entities (a namespace Kestra knows only from
 * its flows has no row; EE calls those placeholders), with their settings as JSON. `namespace_secrets`:
 * each secret's key, namespace and metadata, which backend holds its value (`internal`: sealed by the
 * envelope, crypto/envelope.ts, to `namespace_secrets.value` of the row's `id`; an external manager:
 * `value` is null). `env_key` is the key as Kestra OSS reads it
 * (upper-cased, `SECRET_<KEY>`): Kestra's environment is global, so it is unique per tenant.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('namespaces')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('id', 'varchar(150)', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('namespaces_pk', ['tenant_id', 'id'])
    .execute();
  await db.schema
    .createTable('namespace_secrets')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('namespace', 'varchar(150)', (c) => c.notNull())
    .addColumn('key', 'varchar(200)', (c) => c.notNull())
    .addColumn('env_key', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('backend', 'varchar(32)', (c) => c.notNull())
    .addColumn('value', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // The backend an instance owner picked for a tenant's new values (none: the configured secrets.backend.type).
  await db.schema
    .createTable('secret_backends')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('namespace_secrets_env_key_idx').on('namespace_secrets').columns(['tenant_id', 'env_key']).unique().execute();
  await db.schema.createIndex('namespace_secrets_namespace_idx').on('namespace_secrets').columns(['tenant_id', 'namespace', 'key']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('secret_backends').execute();
  await db.schema.dropTable('namespace_secrets').execute();
  await db.schema.dropTable('namespaces').execute();
}
