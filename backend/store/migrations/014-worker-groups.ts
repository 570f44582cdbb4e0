import type { Kysely } from 'kysely';

/**
 * Issue 25: worker groups. `worker_groups` holds each group; its execution targets and bound
 * namespaces have tables of their own so that the database itself refuses a Docker host or a
 * namespace claimed by two groups (the key of each is the host, the namespace).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('worker_groups')
    .addColumn('id', 'varchar(63)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('worker_group_targets')
    .addColumn('host', 'varchar(300)', (c) => c.primaryKey())
    .addColumn('group_id', 'varchar(63)', (c) => c.notNull().references('worker_groups.id').onDelete('cascade'))
    .addColumn('target_id', 'varchar(63)', (c) => c.notNull())
    .addColumn('kind', 'varchar(20)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('worker_group_namespaces')
    .addColumn('namespace', 'varchar(400)', (c) => c.primaryKey())
    .addColumn('group_id', 'varchar(63)', (c) => c.notNull().references('worker_groups.id').onDelete('cascade'))
    .execute();
  await db.schema.createIndex('worker_group_targets_group_idx').on('worker_group_targets').column('group_id').execute();
  await db.schema.createIndex('worker_group_namespaces_group_idx').on('worker_group_namespaces').column('group_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('worker_group_namespaces').execute();
  await db.schema.dropTable('worker_group_targets').execute();
  await db.schema.dropTable('worker_groups').execute();
}
