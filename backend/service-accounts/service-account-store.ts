import { randomUUID } from 'node:crypto';
import { sql, type SqlBool } from 'kysely';
import type { ApiServiceAccountDetail, ApiServiceAccountResponse, ApiServiceAccountTenantAccess } from '../../lib/schemas/tokens.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { conflict } from '../http/errors.js';
import { isUniqueViolation } from '../iam/iam-store.js';
import type { Store } from '../store/database.js';
import type { UserRow } from '../users/user-store.js';

/**
 * Service accounts are `users` rows of type SERVICE_ACCOUNT (see migration 004): no password,
 * `restricted` (no profile or password changes through /me), the name kept in `email`.
 */
export type ServiceAccountRow = UserRow;

export interface ServiceAccountInput {
  name: string;
  description: string | null;
  superAdmin: boolean;
  tenantId?: string;
}

function nameTaken(name: string) {
  return (error: unknown): never => {
    if (isUniqueViolation(error)) throw conflict(`A service account named ${name} already exists`);
    throw error;
  };
}

export async function insertServiceAccount(db: Store, input: ServiceAccountInput): Promise<ServiceAccountRow> {
  const now = Date.now();
  const row: ServiceAccountRow = {
    id: randomUUID(),
    tenant_id: input.tenantId ?? DEFAULT_TENANT,
    email: input.name,
    first_name: null,
    last_name: null,
    password_hash: null,
    super_admin: input.superAdmin ? 1 : 0,
    restricted: 1,
    disabled: 0,
    created_at: now,
    updated_at: now,
    type: 'SERVICE_ACCOUNT',
    description: input.description,
  };
  await db.insertInto('users').values(row).execute().catch(nameTaken(input.name));
  // A service account belongs to its one tenant (tenant access, migration 009).
  await db.insertInto('tenant_access').values({ tenant_id: row.tenant_id, user_id: row.id, created_at: now }).execute();
  return row;
}

export function findServiceAccount(db: Store, id: string, tenantId?: string): Promise<ServiceAccountRow | undefined> {
  let query = db.selectFrom('users').selectAll().where('id', '=', id).where('type', '=', 'SERVICE_ACCOUNT');
  if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
  return query.executeTakeFirst();
}

export async function updateServiceAccount(
  db: Store, id: string, changes: { name?: string; description?: string | null; superAdmin?: boolean },
): Promise<ServiceAccountRow> {
  const set: Record<string, unknown> = { updated_at: Date.now() };
  if (changes.name !== undefined) set.email = changes.name;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.superAdmin !== undefined) set.super_admin = changes.superAdmin ? 1 : 0;
  await db.updateTable('users').set(set).where('id', '=', id).where('type', '=', 'SERVICE_ACCOUNT').execute().catch(nameTaken(changes.name ?? ''));
  return (await findServiceAccount(db, id))!;
}

export async function deleteServiceAccount(db: Store, id: string): Promise<void> {
  // api_tokens and group_members go with the row (ON DELETE CASCADE); bindings in forgetUserInIam.
  await db.deleteFrom('users').where('id', '=', id).where('type', '=', 'SERVICE_ACCOUNT').execute();
}

export async function searchServiceAccounts(
  db: Store, query: { page: number; size: number; q?: string; direction?: 'asc' | 'desc'; tenantId?: string },
): Promise<{ rows: ServiceAccountRow[]; total: number }> {
  let base = db.selectFrom('users').where('type', '=', 'SERVICE_ACCOUNT');
  if (query.tenantId !== undefined) base = base.where('tenant_id', '=', query.tenantId);
  if (query.q) {
    const like = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base = base.where((eb) => eb.or([sql<SqlBool>`lower(email) like ${like} escape '\\'`, sql<SqlBool>`lower(description) like ${like} escape '\\'`]));
  }
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('email', query.direction ?? 'asc').orderBy('id').limit(query.size).offset((query.page - 1) * query.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export async function groupsOf(db: Store, tenantId: string, userIds: readonly string[]): Promise<Map<string, Array<{ id: string; name: string }>>> {
  const out = new Map<string, Array<{ id: string; name: string }>>();
  if (userIds.length === 0) return out;
  const rows = await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.user_id', 'groups.id', 'groups.name'])
    .where('group_members.tenant_id', '=', tenantId)
    .where('group_members.user_id', 'in', [...userIds])
    .orderBy('groups.name')
    .execute();
  for (const r of rows) {
    const list = out.get(r.user_id) ?? [];
    list.push({ id: r.id, name: r.name });
    out.set(r.user_id, list);
  }
  return out;
}

const tenants = (row: ServiceAccountRow) => [{ id: row.tenant_id, name: row.tenant_id }];

export function toApiServiceAccountDetail(row: ServiceAccountRow): ApiServiceAccountDetail {
  const owner = row.super_admin === 1;
  return { id: row.id, name: row.email, description: row.description, tenants: tenants(row), superAdmin: owner, instanceOwner: owner };
}

export function toApiServiceAccountResponse(row: ServiceAccountRow, groups: Array<{ id: string }>): ApiServiceAccountResponse {
  const owner = row.super_admin === 1;
  return { id: row.id, name: row.email, description: row.description, groups: groups.map((g) => ({ id: g.id })), superAdmin: owner, instanceOwner: owner };
}

export function toApiServiceAccountTenantAccess(row: ServiceAccountRow, groups: Array<{ id: string; name: string }>): ApiServiceAccountTenantAccess {
  return {
    id: row.id,
    username: row.email,
    displayName: row.email,
    description: row.description,
    groups: groups.map((g) => ({ ...g, external: false })),
    auths: [{ name: 'api-token', type: 'API_TOKEN' }],
  };
}
