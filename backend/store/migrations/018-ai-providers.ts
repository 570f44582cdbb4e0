import type { Kysely } from 'kysely';

/**
 * Issue 24 points 1 and 4: a tenant's own AI providers and the tokens its people used.
 *
 * `ai_providers`: one row per tenant and provider id; `id` is `{tenant}:{provider}` (the row's id in
 * the key's sealed place), `api_key` is sealed by the envelope (crypto/envelope.ts) and listed in
 * crypto/sealed-columns.ts so that a master-key rotation re-wraps it; it is never returned.
 *
 * `ai_token_usage`: the tokens providers reported, per tenant, person (`''`: the whole tenant) and
 * period (`2026-12-06` or `2026-12`), added to by an atomic upsert.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ai_providers')
    .addColumn('id', 'varchar(140)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('provider_id', 'varchar(63)', (c) => c.notNull())
    .addColumn('display_name', 'varchar(100)')
    .addColumn('kind', 'varchar(40)', (c) => c.notNull())
    .addColumn('base_url', 'varchar(2000)')
    .addColumn('model', 'varchar(200)', (c) => c.notNull())
    .addColumn('api_key', 'text')
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('max_output_tokens', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('ai_providers_tenant_provider_uq', ['tenant_id', 'provider_id'])
    .execute();
  await db.schema
    .createTable('ai_token_usage')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('person_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('period', 'varchar(10)', (c) => c.notNull())
    .addColumn('tokens', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('ai_token_usage_pk', ['tenant_id', 'person_id', 'period'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ai_token_usage').execute();
  await db.schema.dropTable('ai_providers').execute();
}
