import type { Kysely } from 'kysely';

/**
 * Issue 24 point 4: an instance owner's overrides of a tenant's AI limits. One row per tenant; a null
 * column keeps the instance's setting (`ai.tenantRequestsPerMinute`, `ai.tokenBudget.perTenant`,
 * `ai.tokenBudget.perPerson`). Removed with the tenant.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ai_tenant_limits')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('tenant_requests_per_minute', 'integer')
    .addColumn('tokens_per_tenant', 'bigint')
    .addColumn('tokens_per_person', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ai_tenant_limits').execute();
}
