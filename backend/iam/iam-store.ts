import { randomUUID } from 'node:crypto';
import { sql, type Expression, type Selectable, type SqlBool } from 'kysely';
import { MANAGED_ROLES, PERMISSION_CATALOGUE, RESOURCES, normalizePermissions, permissionCount, type Action, type Permissions, type Resource } from '../../lib/authz/catalogue.js';
import type { ApiBindingDetail, ApiGroupDetail, ApiGroupSummary, ApiRole, ApiRoleDetail, ApiRoleSummary, BindingType, Membership } from '../../lib/schemas/iam.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { AuthzFacts, BindingFact, MembershipFact } from '../authz/decision-index.js';
import type { PerchContext } from '../context.js';
import type { Store } from '../store/database.js';
import type { BindingsTable, GroupsTable, RolesTable } from '../store/schema.js';

export type RoleRow = Selectable<RolesTable>;
export type GroupRow = Selectable<GroupsTable>;
export type BindingRow = Selectable<BindingsTable>;

export interface Page {
  page: number;
  size: number;
  q?: string;
  direction?: 'asc' | 'desc';
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** `lower(column) LIKE %text%` with LIKE's wildcards escaped, identical on SQLite and PostgreSQL. */
function contains(column: string, text: string): Expression<SqlBool> {
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
}

/** A unique or primary key constraint refused the write (a concurrent duplicate). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Stored permissions, read leniently: pairs the catalogue no longer knows are dropped rather than
 * failing the start (they were valid when written).
 */
export function readPermissions(text: string): Permissions {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  const out: Permissions = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const resource of RESOURCES) {
    const actions = (raw as Record<string, unknown>)[resource];
    if (!Array.isArray(actions)) continue;
    const valid = actions.filter((a): a is Action => typeof a === 'string' && (PERMISSION_CATALOGUE[resource] as readonly string[]).includes(a));
    if (valid.length > 0) out[resource as Resource] = valid;
  }
  return normalizePermissions(out);
}

const writePermissions = (p: Permissions) => JSON.stringify(normalizePermissions(p));

const displayName = (row: { first_name: string | null; last_name: string | null; email: string }) =>
  [row.first_name, row.last_name].filter(Boolean).join(' ') || row.email;

// ---------------------------------------------------------------------------------------------
// Roles

export function toApiRoleDetail(row: RoleRow): ApiRoleDetail {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    permissions: readPermissions(row.permissions),
    isDefault: row.is_default === 1,
    isManaged: row.is_managed === 1,
  };
}

export const toApiRole = (row: RoleRow): ApiRole => ({ ...toApiRoleDetail(row), deleted: false });

export function toApiRoleSummary(row: RoleRow): ApiRoleSummary {
  return {
    id: row.id,
    name: row.name,
    isDefault: row.is_default === 1,
    isManaged: row.is_managed === 1,
    permissionCount: permissionCount(readPermissions(row.permissions)),
  };
}

/**
 * Writes the managed roles (ids `admin`, `developer`, `editor`, `launcher`, `viewer`) of a tenant,
 * or brings their name, description and permissions up to the current catalogue. Idempotent, safe
 * to run from several Perch processes at once; `isDefault` is left as the tenant set it.
 */
export async function ensureManagedRoles(db: Store, tenantId: string): Promise<void> {
  const now = Date.now();
  await db.transaction().execute(async (trx) => {
    const existing = new Map(
      (await trx.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', MANAGED_ROLES.map((r) => r.id)).execute()).map((r) => [r.id, r]),
    );
    for (const role of MANAGED_ROLES) {
      const permissions = writePermissions(role.permissions);
      const row = existing.get(role.id);
      if (!row) {
        await trx
          .insertInto('roles')
          .values({
            id: role.id, tenant_id: tenantId, name: role.name, description: role.description, permissions,
            is_default: 0, is_managed: 1, created_at: now, updated_at: now,
          })
          .onConflict((oc) => oc.columns(['tenant_id', 'id']).doNothing())
          .execute();
      } else if (row.name !== role.name || row.description !== role.description || row.permissions !== permissions || row.is_managed !== 1) {
        await trx
          .updateTable('roles')
          .set({ name: role.name, description: role.description, permissions, is_managed: 1, updated_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', role.id)
          .execute();
      }
    }
  });
}

export function findRole(db: Store, tenantId: string, id: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export function findRoleByName(db: Store, tenantId: string, name: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
}

/** The tenant's default role (bound tenant-wide to every new user), if one is set. */
export function defaultRoleFor(db: Store, tenantId: string): Promise<RoleRow | undefined> {
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('is_default', '=', 1).orderBy('updated_at', 'desc').executeTakeFirst();
}

export interface RoleInput {
  name: string;
  description: string | null;
  permissions: Permissions;
  isDefault: boolean;
}

/** Only one default role per tenant: the last one set wins. */
async function clearOtherDefaults(db: Store, tenantId: string, keepId: string): Promise<void> {
  await db.updateTable('roles').set({ is_default: 0 }).where('tenant_id', '=', tenantId).where('is_default', '=', 1).where('id', '!=', keepId).execute();
}

export async function insertRole(db: Store, tenantId: string, input: RoleInput): Promise<RoleRow> {
  const now = Date.now();
  const row: RoleRow = {
    id: randomUUID(),
    tenant_id: tenantId,
    name: input.name,
    description: input.description,
    permissions: writePermissions(input.permissions),
    is_default: input.isDefault ? 1 : 0,
    is_managed: 0,
    created_at: now,
    updated_at: now,
  };
  await db.insertInto('roles').values(row).execute();
  if (input.isDefault) await clearOtherDefaults(db, tenantId, row.id);
  return row;
}

export async function updateRole(db: Store, tenantId: string, id: string, input: Partial<RoleInput>): Promise<RoleRow> {
  const values = {
    name: input.name,
    description: input.description,
    permissions: input.permissions === undefined ? undefined : writePermissions(input.permissions),
    is_default: input.isDefault === undefined ? undefined : input.isDefault ? 1 : 0,
  };
  const set = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<RoleRow>;
  await db.updateTable('roles').set({ ...set, updated_at: Date.now() }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  if (input.isDefault) await clearOtherDefaults(db, tenantId, id);
  return (await findRole(db, tenantId, id))!;
}

export async function deleteRole(db: Store, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('roles').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function searchRoles(db: Store, tenantId: string, query: Page): Promise<{ rows: RoleRow[]; total: number }> {
  let base = db.selectFrom('roles').where('tenant_id', '=', tenantId);
  if (query.q) base = base.where(contains('name', query.q));
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('name', query.direction ?? 'asc').orderBy('id').limit(query.size).offset((query.page - 1) * query.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export async function rolesByIds(db: Store, tenantId: string, ids: readonly string[]): Promise<RoleRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', [...new Set(ids)]).orderBy('name').execute();
}

const AUTOCOMPLETE_LIMIT = 50;

export async function autocompleteRoles(db: Store, tenantId: string, q: string | null | undefined, ids: readonly string[]): Promise<RoleRow[]> {
  let query = db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId);
  if (q) query = query.where(contains('name', q));
  const matching = await query.orderBy('name').orderBy('id').limit(AUTOCOMPLETE_LIMIT).execute();
  return withRequired(matching, await rolesByIds(db, tenantId, ids));
}

/** Autocomplete answers the `ids` the client asked to keep first, then the text matches. */
function withRequired<T extends { id: string }>(matching: T[], required: T[]): T[] {
  const seen = new Set(required.map((r) => r.id));
  return [...required, ...matching.filter((r) => !seen.has(r.id))];
}

export async function countBindingsOfRole(db: Store, tenantId: string, roleId: string): Promise<number> {
  const row = await db
    .selectFrom('bindings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('role_id', '=', roleId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---------------------------------------------------------------------------------------------
// Groups

export const toApiGroupDetail = (row: GroupRow): ApiGroupDetail => ({ id: row.id, name: row.name, description: row.description });
export const toApiGroupSummary = (row: GroupRow): ApiGroupSummary => ({ ...toApiGroupDetail(row), securityIntegrationName: null });

export function findGroup(db: Store, tenantId: string, id: string): Promise<GroupRow | undefined> {
  return db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export function findGroupByName(db: Store, tenantId: string, name: string): Promise<GroupRow | undefined> {
  return db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
}

export async function insertGroup(db: Store, tenantId: string, input: { name: string; description: string | null }): Promise<GroupRow> {
  const now = Date.now();
  const row: GroupRow = { id: randomUUID(), tenant_id: tenantId, name: input.name, description: input.description, created_at: now, updated_at: now };
  await db.insertInto('groups').values(row).execute();
  return row;
}

export async function updateGroup(db: Store, tenantId: string, id: string, input: { name: string; description: string | null }): Promise<GroupRow> {
  await db.updateTable('groups').set({ name: input.name, description: input.description, updated_at: Date.now() }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  return (await findGroup(db, tenantId, id))!;
}

/** The group, its memberships (cascade) and its bindings (not a foreign key: deleted here). */
export async function deleteGroup(db: Store, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('bindings').where('tenant_id', '=', tenantId).where('subject_type', '=', 'GROUP').where('subject_id', '=', id).execute();
  await db.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export async function searchGroups(db: Store, tenantId: string, query: Page): Promise<{ rows: GroupRow[]; total: number }> {
  let base = db.selectFrom('groups').where('tenant_id', '=', tenantId);
  if (query.q) base = base.where((eb) => eb.or([contains('name', query.q!), contains('description', query.q!)]));
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('name', query.direction ?? 'asc').orderBy('id').limit(query.size).offset((query.page - 1) * query.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export async function groupsByIds(db: Store, tenantId: string, ids: readonly string[]): Promise<GroupRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', [...new Set(ids)]).orderBy('name').execute();
}

export async function autocompleteGroups(db: Store, tenantId: string, q: string | null | undefined, ids: readonly string[]): Promise<GroupRow[]> {
  let query = db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId);
  if (q) query = query.where(contains('name', q));
  const matching = await query.orderBy('name').orderBy('id').limit(AUTOCOMPLETE_LIMIT).execute();
  return withRequired(matching, await groupsByIds(db, tenantId, ids));
}

export async function membershipOf(db: Store, groupId: string, userId: string): Promise<Membership | undefined> {
  const row = await db.selectFrom('group_members').select('membership').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
  return row?.membership;
}

export async function addMember(db: Store, tenantId: string, groupId: string, userId: string, membership: Membership): Promise<void> {
  await db.insertInto('group_members').values({ tenant_id: tenantId, group_id: groupId, user_id: userId, membership, created_at: Date.now() }).execute();
}

export async function removeMember(db: Store, groupId: string, userId: string): Promise<void> {
  await db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).execute();
}

export async function setMembership(db: Store, groupId: string, userId: string, membership: Membership): Promise<void> {
  await db.updateTable('group_members').set({ membership }).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
}

export interface MemberRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
}

export async function searchMembers(db: Store, groupId: string, query: Page): Promise<{ rows: MemberRow[]; total: number }> {
  let base = db.selectFrom('group_members').innerJoin('users', 'users.id', 'group_members.user_id').where('group_members.group_id', '=', groupId);
  if (query.q) base = base.where((eb) => eb.or([contains('users.email', query.q!), contains('users.first_name', query.q!), contains('users.last_name', query.q!)]));
  const [rows, count] = await Promise.all([
    base
      .select(['users.id', 'users.email', 'users.first_name', 'users.last_name'])
      .orderBy('users.email', query.direction ?? 'asc')
      .limit(query.size)
      .offset((query.page - 1) * query.size)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

/** ApiGroupMember for each user: every group of the tenant they belong to, with the membership. */
export async function toApiGroupMembers(db: Store, tenantId: string, users: MemberRow[]) {
  const ids = users.map((u) => u.id);
  const memberships = ids.length === 0 ? [] : await db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(['group_members.user_id', 'groups.id', 'groups.name', 'group_members.membership'])
    .where('group_members.tenant_id', '=', tenantId)
    .where('group_members.user_id', 'in', ids)
    .orderBy('groups.name')
    .execute();
  return users.map((user) => ({
    id: user.id,
    username: user.email,
    displayName: displayName(user),
    groups: memberships.filter((m) => m.user_id === user.id).map((m) => ({ id: m.id, name: m.name, external: false, membership: m.membership })),
  }));
}

export function findUserInTenant(db: Store, tenantId: string, userId: string): Promise<MemberRow | undefined> {
  // In the tenant: a user with access to it (tenant access, migration 009).
  return db
    .selectFrom('users')
    .innerJoin('tenant_access', 'tenant_access.user_id', 'users.id')
    .select(['users.id', 'users.email', 'users.first_name', 'users.last_name'])
    .where('tenant_access.tenant_id', '=', tenantId)
    .where('users.id', '=', userId)
    .executeTakeFirst();
}

// ---------------------------------------------------------------------------------------------
// Bindings

export interface BindingInput {
  type: BindingType;
  subjectId: string;
  roleId: string;
  namespace: string | null;
}

export async function insertBinding(db: Store, tenantId: string, input: BindingInput): Promise<BindingRow> {
  const row: BindingRow = {
    id: randomUUID(),
    tenant_id: tenantId,
    subject_type: input.type,
    subject_id: input.subjectId,
    role_id: input.roleId,
    namespace: input.namespace,
    created_at: Date.now(),
  };
  await db.insertInto('bindings').values(row).execute();
  return row;
}

export async function findSameBinding(db: Store, tenantId: string, input: BindingInput): Promise<BindingRow | undefined> {
  let query = db
    .selectFrom('bindings')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('subject_type', '=', input.type)
    .where('subject_id', '=', input.subjectId)
    .where('role_id', '=', input.roleId);
  query = input.namespace === null ? query.where('namespace', 'is', null) : query.where('namespace', '=', input.namespace);
  return query.executeTakeFirst();
}

export function findBinding(db: Store, tenantId: string, id: string): Promise<BindingRow | undefined> {
  return db.selectFrom('bindings').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export async function deleteBinding(db: Store, tenantId: string, id: string): Promise<void> {
  await db.deleteFrom('bindings').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

export function bindingsOfRole(db: Store, tenantId: string, roleId: string): Promise<BindingRow[]> {
  return db.selectFrom('bindings').selectAll().where('tenant_id', '=', tenantId).where('role_id', '=', roleId).execute();
}

export function bindingsOfSubject(db: Store, tenantId: string, type: BindingType, subjectId: string): Promise<BindingRow[]> {
  return db.selectFrom('bindings').selectAll().where('tenant_id', '=', tenantId).where('subject_type', '=', type).where('subject_id', '=', subjectId).execute();
}

function bindingDetailQuery(db: Store, tenantId: string) {
  return db
    .selectFrom('bindings')
    .innerJoin('roles', (join) => join.onRef('roles.tenant_id', '=', 'bindings.tenant_id').onRef('roles.id', '=', 'bindings.role_id'))
    .leftJoin('groups', (join) => join.onRef('groups.id', '=', 'bindings.subject_id').on('bindings.subject_type', '=', 'GROUP'))
    .leftJoin('users', (join) => join.onRef('users.id', '=', 'bindings.subject_id').on('bindings.subject_type', '=', 'USER'))
    .where('bindings.tenant_id', '=', tenantId);
}

const bindingDetailColumns = [
  'bindings.id', 'bindings.subject_type', 'bindings.subject_id', 'bindings.namespace',
  'roles.id as role_id', 'roles.name as role_name',
  'groups.name as group_name',
  'users.email as user_email', 'users.first_name as user_first_name', 'users.last_name as user_last_name', 'users.type as user_type',
] as const;

type BindingDetailRow = {
  id: string; subject_type: BindingType; subject_id: string; namespace: string | null;
  role_id: string; role_name: string; group_name: string | null;
  user_email: string | null; user_first_name: string | null; user_last_name: string | null;
  user_type: 'STANDARD' | 'SERVICE_ACCOUNT' | null;
};

function toApiBindingDetail(row: BindingDetailRow): ApiBindingDetail {
  return {
    id: row.id,
    type: row.subject_type,
    namespace: row.namespace,
    role: { id: row.role_id, name: row.role_name },
    group: row.subject_type === 'GROUP' ? { id: row.subject_id, name: row.group_name ?? row.subject_id } : null,
    user: row.subject_type === 'USER'
      ? {
          id: row.subject_id,
          username: row.user_email ?? row.subject_id,
          displayName: row.user_email ? displayName({ email: row.user_email, first_name: row.user_first_name, last_name: row.user_last_name }) : row.subject_id,
          type: row.user_type ?? 'STANDARD',
        }
      : null,
  };
}

export async function bindingDetails(db: Store, tenantId: string, ids: readonly string[]): Promise<ApiBindingDetail[]> {
  if (ids.length === 0) return [];
  const rows = await bindingDetailQuery(db, tenantId).select(bindingDetailColumns).where('bindings.id', 'in', [...ids]).execute();
  const byId = new Map(rows.map((r) => [r.id, toApiBindingDetail(r)]));
  return ids.map((id) => byId.get(id)).filter((b): b is ApiBindingDetail => b !== undefined);
}

export async function bindingDetail(db: Store, tenantId: string, id: string): Promise<ApiBindingDetail | undefined> {
  return (await bindingDetails(db, tenantId, [id]))[0];
}

export interface BindingQuery extends Page {
  type?: BindingType;
  subjectId?: string;
  namespace?: string;
}

export async function searchBindings(db: Store, tenantId: string, query: BindingQuery): Promise<{ results: ApiBindingDetail[]; total: number }> {
  let base = bindingDetailQuery(db, tenantId);
  if (query.type) base = base.where('bindings.subject_type', '=', query.type);
  if (query.subjectId) base = base.where('bindings.subject_id', '=', query.subjectId);
  if (query.namespace) base = base.where('bindings.namespace', '=', query.namespace);
  if (query.q) {
    const q = query.q;
    base = base.where((eb) => eb.or([contains('roles.name', q), contains('groups.name', q), contains('users.email', q), contains('bindings.namespace', q)]));
  }
  const [rows, count] = await Promise.all([
    base.select(bindingDetailColumns).orderBy('bindings.created_at', query.direction ?? 'asc').orderBy('bindings.id').limit(query.size).offset((query.page - 1) * query.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { results: rows.map(toApiBindingDetail), total: Number(count.n) };
}

// ---------------------------------------------------------------------------------------------
// The decision index's facts

export function toBindingFact(row: BindingRow, permissions: Permissions): BindingFact {
  return { id: row.id, tenantId: row.tenant_id, subjectType: row.subject_type, subjectId: row.subject_id, namespace: row.namespace, permissions };
}

/** Every binding with its role's permissions (one shared object per role) and every membership. */
export async function loadAuthzFacts(db: Store): Promise<AuthzFacts> {
  const [roles, bindings, members] = await Promise.all([
    db.selectFrom('roles').select(['tenant_id', 'id', 'permissions']).execute(),
    db.selectFrom('bindings').selectAll().execute(),
    db.selectFrom('group_members').select(['tenant_id', 'group_id', 'user_id']).execute(),
  ]);
  const permissionsByRole = new Map(roles.map((r) => [`${r.tenant_id}\u0000${r.id}`, readPermissions(r.permissions)]));
  return {
    bindings: bindings.map((b) => toBindingFact(b, permissionsByRole.get(`${b.tenant_id}\u0000${b.role_id}`) ?? {})),
    memberships: members.map((m): MembershipFact => ({ tenantId: m.tenant_id, groupId: m.group_id, userId: m.user_id })),
  };
}

// ---------------------------------------------------------------------------------------------
// For the user lifecycle (called by backend/users)

/**
 * After a user is deleted: their bindings (not a foreign key, the subject is polymorphic) and
 * memberships go from the store, then from the decision index. Safe to call before or after the
 * user row is deleted, and more than once.
 */
export async function forgetUserInIam(ctx: PerchContext, userId: string): Promise<void> {
  const tenants = await ctx.db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('bindings').select('tenant_id').where('subject_type', '=', 'USER').where('subject_id', '=', userId).execute();
    const groups = await trx.selectFrom('group_members').select('tenant_id').where('user_id', '=', userId).execute();
    await trx.deleteFrom('bindings').where('subject_type', '=', 'USER').where('subject_id', '=', userId).execute();
    await trx.deleteFrom('group_members').where('user_id', '=', userId).execute();
    return new Set([DEFAULT_TENANT, ...rows.map((r) => r.tenant_id), ...groups.map((g) => g.tenant_id)]);
  });
  for (const tenantId of tenants) ctx.authz.removeSubject(tenantId, 'USER', userId);
}

/**
 * Binds the tenant's default role tenant-wide to a (new) user and patches the decision index.
 * Returns the binding id, or null when the tenant has no default role. Call after the user row
 * is committed.
 */
export async function bindDefaultRole(ctx: PerchContext, userId: string, tenantId: string = DEFAULT_TENANT): Promise<string | null> {
  const result = await ctx.db.transaction().execute(async (trx) => {
    const role = await defaultRoleFor(trx, tenantId);
    if (!role) return null;
    const input: BindingInput = { type: 'USER', subjectId: userId, roleId: role.id, namespace: null };
    const binding = (await findSameBinding(trx, tenantId, input)) ?? (await insertBinding(trx, tenantId, input));
    return { binding, permissions: readPermissions(role.permissions) };
  });
  if (!result) return null;
  ctx.authz.addBinding(toBindingFact(result.binding, result.permissions));
  return result.binding.id;
}
