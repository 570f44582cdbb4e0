import type { Kysely } from 'kysely';

/**
 * Single sign-on (issue 7, OpenID Connect).
 *
 * `sso_identities` links a provider's subject (`sub`, stable at the IdP) to a Perch user, so a later
 * email change at the provider signs the same person in instead of creating a second user.
 *
 * `sso_logins` holds sign-ins in flight (state, nonce, PKCE verifier, return path) for ten minutes,
 * keyed by the SHA-256 of a random handle kept in an HttpOnly cookie: in the shared store, any
 * replica can finish a sign-in another one started, and the row is deleted when used (single use).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sso_identities')
    .addColumn('provider_id', 'varchar(63)', (c) => c.notNull())
    .addColumn('subject', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('email', 'varchar(320)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_login_at', 'bigint')
    .addPrimaryKeyConstraint('sso_identities_pk', ['provider_id', 'subject'])
    .execute();
  await db.schema.createIndex('sso_identities_user_idx').on('sso_identities').column('user_id').execute();

  await db.schema
    .createTable('sso_logins')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('provider_id', 'varchar(63)', (c) => c.notNull())
    .addColumn('state', 'varchar(128)', (c) => c.notNull())
    .addColumn('nonce', 'varchar(128)', (c) => c.notNull())
    .addColumn('code_verifier', 'varchar(128)', (c) => c.notNull())
    .addColumn('return_to', 'varchar(2000)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_logins_expires_idx').on('sso_logins').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sso_logins').execute();
  await db.schema.dropTable('sso_identities').execute();
}
