import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { ApiMe, ApiUser, ApiUserSummary } from '../../lib/schemas/users.js';
import type { Store } from '../store/database.js';
import type { UsersTable } from '../store/schema.js';

export type UserRow = Selectable<UsersTable>;

export interface NewUser {
  email: string;
  firstName?: string | null;
  lastName?: string | null;
  passwordHash?: string | null;
  superAdmin?: boolean;
  restricted?: boolean;
  disabled?: boolean;
  tenantId?: string;
}

export type UserChanges = Partial<Omit<NewUser, 'tenantId'>>;

const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);

function columns(changes: UserChanges) {
  const row = {
    email: changes.email,
    first_name: changes.firstName,
    last_name: changes.lastName,
    password_hash: changes.passwordHash,
    super_admin: flag(changes.superAdmin),
    restricted: flag(changes.restricted),
    disabled: flag(changes.disabled),
  };
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as Partial<UserRow>;
}

export function createUser(db: Store, user: NewUser): Promise<UserRow> {
  const now = Date.now();
  const row: UserRow = {
    id: randomUUID(),
    tenant_id: user.tenantId ?? DEFAULT_TENANT,
    email: user.email,
    first_name: user.firstName ?? null,
    last_name: user.lastName ?? null,
    password_hash: user.passwordHash ?? null,
    super_admin: user.superAdmin ? 1 : 0,
    restricted: user.restricted ? 1 : 0,
    disabled: user.disabled ? 1 : 0,
    created_at: now,
    updated_at: now,
    type: 'STANDARD',
    description: null,
  };
  // A person may enter their own tenant (tenant access, migration 009).
  return db.insertInto('users').values(row).execute()
    .then(() => db.insertInto('tenant_access').values({ tenant_id: row.tenant_id, user_id: row.id, created_at: now }).execute())
    .then(() => row);
}

export function findUserById(db: Store, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A person by email (service accounts have none: they never sign in with a password). */
export function findUserByEmail(db: Store, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email.trim().toLowerCase()).where('type', '=', 'STANDARD').executeTakeFirst();
}

export async function updateUser(db: Store, id: string, changes: UserChanges): Promise<UserRow | undefined> {
  const values = columns(changes);
  await db.updateTable('users').set({ ...values, updated_at: Date.now() }).where('id', '=', id).execute();
  return findUserById(db, id);
}

export async function deleteUser(db: Store, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function countUsers(db: Store, where: { superAdmin?: boolean; enabledOnly?: boolean } = {}): Promise<number> {
  let query = db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'STANDARD');
  if (where.superAdmin) query = query.where('super_admin', '=', 1);
  if (where.enabledOnly) query = query.where('disabled', '=', 0);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface UserQuery {
  page: number;
  size: number;
  /** Free text matched against email and names. */
  q?: string;
  sort?: { field: 'email' | 'created_at' | 'first_name' | 'last_name'; direction: 'asc' | 'desc' };
}

export async function searchUsers(db: Store, query: UserQuery): Promise<{ rows: UserRow[]; total: number }> {
  let base = db.selectFrom('users').where('type', '=', 'STANDARD');
  if (query.q) {
    const like = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base = base.where((eb) =>
      eb.or([
        sql<boolean>`lower(email) like ${like} escape '\\'`,
        sql<boolean>`lower(first_name) like ${like} escape '\\'`,
        sql<boolean>`lower(last_name) like ${like} escape '\\'`,
      ]),
    );
  }
  const sort = query.sort ?? { field: 'email', direction: 'asc' };
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy(sort.field, sort.direction).orderBy('id').limit(query.size).offset((query.page - 1) * query.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

const displayName = (row: UserRow) => [row.first_name, row.last_name].filter(Boolean).join(' ') || row.email;
/** The id of the password in a user's `auths` (EE's deleteUserAuthMethod takes it). */
export const PASSWORD_AUTH_ID = 'password';
const auths = (row: UserRow) => (row.password_hash ? [{ id: PASSWORD_AUTH_ID, name: 'password', type: 'PASSWORD' }] : []);
const tenants = (row: UserRow) => [{ id: row.tenant_id, name: row.tenant_id }];

/** `groups`: the user's groups (EE's `[{id, tenantId}]`); see {@link groupsOfUser}. */
export function toApiUser(row: UserRow, groups: ReadonlyArray<{ id: string; tenantId: string }> = []): ApiUser {
  return {
    id: row.id,
    username: row.email,
    displayName: displayName(row),
    firstName: row.first_name,
    lastName: row.last_name,
    email: row.email,
    tenants: tenants(row),
    auths: auths(row),
    groups: groups.map(({ id, tenantId }) => ({ id, tenantId })),
    superAdmin: row.super_admin === 1,
    instanceOwner: row.super_admin === 1,
    restricted: row.restricted === 1,
    disabled: row.disabled === 1,
  };
}

/** The groups a user belongs to, in every tenant, as `ApiUser.groups` lists them. */
export async function groupsOfUser(db: Store, userId: string): Promise<Array<{ id: string; tenantId: string }>> {
  const rows = await db.selectFrom('group_members').select(['group_id', 'tenant_id']).where('user_id', '=', userId).orderBy('group_id').execute();
  return rows.map((r) => ({ id: r.group_id, tenantId: r.tenant_id }));
}

export function toApiUserSummary(row: UserRow): ApiUserSummary {
  const { id, username, displayName: name, tenants: t, auths: a, superAdmin, instanceOwner, disabled } = toApiUser(row);
  return { id, username, displayName: name, tenants: t, auths: a, superAdmin, instanceOwner, disabled };
}

export function toApiMe(row: UserRow): ApiMe {
  return {
    id: row.id,
    superAdmin: row.super_admin === 1,
    instanceOwner: row.super_admin === 1,
    restricted: row.restricted === 1,
    profile: { email: row.email, firstName: row.first_name, lastName: row.last_name, username: row.email },
    auths: auths(row).map(({ name, type }) => ({ name, type })),
    tenants: tenants(row).map((t) => ({ ...t, logo: null })),
  };
}
