import { sql, type Kysely } from 'kysely';

/**
 * Tenants (issue 20): Kestra EE's tenants on Kestra OSS, and who may enter each (EE's tenant access).
 *
 * `tenants.mode` says where a tenant's Kestra data lives: `INSTANCE`, its own Kestra OSS
 * (`kestra_url`, `kestra_username`, `kestra_password` sealed by the envelope; the `main` tenant keeps
 * a null URL, meaning Perch's configured `kestra.url`), or `NAMESPACE`, under namespace roots
 * (`namespaces`, JSON) of the shared Kestra.
 *
 * An existing install becomes the tenant `main` with everything it had: every tenant its users,
 * roles, groups and bindings name gets a row (only `main` could exist before), and every user and
 * service account gets access to its own tenant.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('mode', 'varchar(16)', (c) => c.notNull().check(sql`mode in ('INSTANCE', 'NAMESPACE')`))
    .addColumn('kestra_url', 'varchar(2000)')
    .addColumn('kestra_username', 'varchar(320)')
    .addColumn('kestra_password', 'text')
    .addColumn('namespaces', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('tenant_access')
    .addColumn('tenant_id', 'varchar(64)', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tenant_access_pk', ['tenant_id', 'user_id'])
    .execute();
  await db.schema.createIndex('tenant_access_user_idx').on('tenant_access').column('user_id').execute();

  const now = Date.now();
  const named = await sql<{ tenant_id: string }>`
    select tenant_id from users union select tenant_id from roles union select tenant_id from groups union select tenant_id from bindings`.execute(db);
  const ids = new Set(['main', ...named.rows.map((r) => r.tenant_id)]);
  for (const id of ids) {
    await db.insertInto('tenants').values({ id, name: id, mode: 'INSTANCE', kestra_url: null, kestra_username: null, kestra_password: null, namespaces: '[]', created_at: now, updated_at: now }).execute();
  }
  await sql`insert into tenant_access (tenant_id, user_id, created_at) select tenant_id, id, ${now} from users`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tenant_access').execute();
  await db.schema.dropTable('tenants').execute();
}
