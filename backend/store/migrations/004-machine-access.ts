import { sql, type Kysely } from 'kysely';

/**
 * Machine access (issue 7): service accounts and API tokens.
 *
 * Service accounts are rows of `users` with `type = 'SERVICE_ACCOUNT'` (Kestra EE's model: a user
 * of another type), so bindings (subject type USER), group memberships, the decision index and
 * user deletion work for them unchanged. They have no password and their `email` column holds
 * their DNS-label name (never an address: it has no `@`, so it cannot collide with a person).
 *
 * API tokens: only the SHA-256 of the secret is stored, with a short non-secret prefix for display.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('type', 'varchar(32)', (c) => c.notNull().defaultTo('STANDARD').check(sql`type in ('STANDARD', 'SERVICE_ACCOUNT')`))
    .execute();
  await db.schema.alterTable('users').addColumn('description', 'varchar(2000)').execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(63)', (c) => c.notNull())
    .addColumn('description', 'varchar(2000)')
    // SHA-256 (hex) of the whole token: the token itself is never stored.
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('prefix', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)')
    .addColumn('expires_at', 'bigint')
    .addColumn('max_age_ms', 'bigint')
    .addColumn('extended', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_at', 'bigint')
    .addUniqueConstraint('api_tokens_user_name_unique', ['user_id', 'name'])
    .execute();
  await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_tokens').execute();
  await db.schema.alterTable('users').dropColumn('description').execute();
  await db.schema.alterTable('users').dropColumn('type').execute();
}
