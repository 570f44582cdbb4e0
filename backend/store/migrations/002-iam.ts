import { sql, type Kysely } from 'kysely';

/**
 * Roles, groups, memberships and bindings (Kestra EE's IAM model, behaviour spec §2). Managed
 * roles are not seeded here: ensureManagedRoles writes them at start so their sets can evolve.
 * Role ids are unique per tenant (managed roles keep readable ids like `admin` in every tenant).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('roles')
    .addColumn('id', 'varchar(64)', (c) => c.notNull())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'varchar(2000)')
    .addColumn('permissions', 'text', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_managed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('roles_pk', ['tenant_id', 'id'])
    .addUniqueConstraint('roles_tenant_name_unique', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('description', 'varchar(2000)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('groups_tenant_name_unique', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('group_members')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('group_id', 'varchar(64)', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('membership', 'varchar(16)', (c) => c.notNull().check(sql`membership in ('OWNER', 'MEMBER')`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('group_members_user_idx').on('group_members').column('user_id').execute();

  await db.schema
    .createTable('bindings')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('subject_type', 'varchar(16)', (c) => c.notNull().check(sql`subject_type in ('USER', 'GROUP')`))
    // A user or a group id: polymorphic, so not a foreign key (deleting a subject deletes its bindings in code).
    .addColumn('subject_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('namespace', 'varchar(150)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addForeignKeyConstraint('bindings_role_fk', ['tenant_id', 'role_id'], 'roles', ['tenant_id', 'id'])
    .execute();
  await db.schema.createIndex('bindings_subject_idx').on('bindings').columns(['tenant_id', 'subject_type', 'subject_id']).execute();
  await db.schema.createIndex('bindings_role_idx').on('bindings').columns(['tenant_id', 'role_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('bindings').execute();
  await db.schema.dropTable('group_members').execute();
  await db.schema.dropTable('groups').execute();
  await db.schema.dropTable('roles').execute();
}
