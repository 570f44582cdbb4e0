import type { Kysely } from 'kysely';

/**
 * `(tenant_id, resource_id)` becomes `(tenant_id, resource_id, seq)` (still one index, so appends pay
 * no more than before). A flow's revision authors (`/auditlogs/flows/{namespace}/{id}/revisions`) are
 * read in seq order: with seq in the index the rows come in that order, where SQLite preferred to walk
 * the chain's primary key (every entry of the tenant) to avoid sorting a handful of rows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('audit_log_resource_seq_idx').on('audit_log').columns(['tenant_id', 'resource_id', 'seq']).execute();
  await db.schema.dropIndex('audit_log_resource_idx').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('audit_log_resource_idx').on('audit_log').columns(['tenant_id', 'resource_id']).execute();
  await db.schema.dropIndex('audit_log_resource_seq_idx').execute();
}
