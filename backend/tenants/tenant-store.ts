import type { Selectable } from 'kysely';
import type { ApiTenant, TenantMode } from '../../lib/schemas/tenants.js';
import type { SealedPlace } from '../crypto/envelope.js';
import type { Store } from '../store/database.js';
import type { TenantsTable } from '../store/schema.js';

export type TenantRow = Selectable<TenantsTable>;

/** Where a tenant's Kestra password is sealed (crypto/sealed-columns.ts lists it). */
export const passwordPlace = (id: string): SealedPlace => ({ table: 'tenants', column: 'kestra_password', id });

export interface TenantValues {
  name: string;
  mode: TenantMode;
  kestraUrl: string | null;
  username: string | null;
  /** Already sealed. */
  sealedPassword: string | null;
  namespaces: string[];
}

const columns = (v: TenantValues) => ({
  name: v.name,
  mode: v.mode,
  kestra_url: v.kestraUrl,
  kestra_username: v.username,
  kestra_password: v.sealedPassword,
  namespaces: JSON.stringify(v.namespaces),
});

export function findTenant(db: Store, id: string): Promise<TenantRow | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertTenant(db: Store, id: string, values: TenantValues): Promise<void> {
  const now = Date.now();
  await db.insertInto('tenants').values({ id, ...columns(values), created_at: now, updated_at: now }).execute();
}

export async function updateTenant(db: Store, id: string, values: TenantValues): Promise<void> {
  await db.updateTable('tenants').set({ ...columns(values), updated_at: Date.now() }).where('id', '=', id).execute();
}

export function allTenants(db: Store): Promise<TenantRow[]> {
  return db.selectFrom('tenants').selectAll().orderBy('id').execute();
}

export function allTenantAccess(db: Store): Promise<Array<{ tenant_id: string; user_id: string }>> {
  return db.selectFrom('tenant_access').select(['tenant_id', 'user_id']).execute();
}

export const rootsOf = (row: TenantRow): string[] => JSON.parse(row.namespaces) as string[];

/** EE's `Tenant` with Perch's `isolation`: never the password. */
export function toApiTenant(row: TenantRow): ApiTenant {
  return {
    id: row.id,
    name: row.name,
    deleted: false,
    isolation: row.mode === 'INSTANCE' ? { mode: 'INSTANCE', kestraUrl: row.kestra_url, username: row.kestra_username } : { mode: 'NAMESPACE', namespaces: rootsOf(row) },
  };
}

// --- Tenant access ---

export async function hasAccess(db: Store, tenantId: string, userId: string): Promise<boolean> {
  return (await db.selectFrom('tenant_access').select('user_id').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}

export async function grantAccess(db: Store, tenantId: string, userId: string): Promise<void> {
  await db.insertInto('tenant_access').values({ tenant_id: tenantId, user_id: userId, created_at: Date.now() }).execute();
}

/** The tenants a user may enter, by their access rows (what the audit log records of a user). */
export function accessOf(db: Store, userId: string): Promise<Array<{ id: string; name: string }>> {
  return db
    .selectFrom('tenant_access')
    .innerJoin('tenants', 'tenants.id', 'tenant_access.tenant_id')
    .select(['tenants.id', 'tenants.name'])
    .where('tenant_access.user_id', '=', userId)
    .orderBy('tenants.id')
    .execute();
}

/**
 * Makes a user's access exactly `tenantIds` (EE's `tenants` of a user update): grants the missing
 * ones, and revokes the others as the tenant-access DELETE does (with what the user held there).
 */
export async function setAccess(db: Store, userId: string, tenantIds: Iterable<string>): Promise<{ granted: string[]; revoked: string[] }> {
  const held = new Set((await db.selectFrom('tenant_access').select('tenant_id').where('user_id', '=', userId).execute()).map((r) => r.tenant_id));
  const wanted = new Set(tenantIds);
  const granted = [...wanted].filter((t) => !held.has(t));
  const revoked = [...held].filter((t) => !wanted.has(t));
  for (const tenant of granted) await grantAccess(db, tenant, userId);
  for (const tenant of revoked) await revokeAccess(db, tenant, userId);
  return { granted, revoked };
}

/**
 * Ends a user's access to a tenant, with what they held there: their bindings and group memberships
 * in it (a grant given back later starts from nothing, as a new member would).
 */
export async function revokeAccess(db: Store, tenantId: string, userId: string): Promise<boolean> {
  const result = await db.deleteFrom('tenant_access').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
  await db.deleteFrom('bindings').where('tenant_id', '=', tenantId).where('subject_type', '=', 'USER').where('subject_id', '=', userId).execute();
  await db.deleteFrom('group_members').where('tenant_id', '=', tenantId).where('user_id', '=', userId).execute();
  return Number(result.numDeletedRows) > 0;
}

/** What a tenant still holds in Perch, by kind (a delete of a tenant holding any needs a confirmation). */
export async function tenantHoldings(db: Store, tenantId: string): Promise<Record<string, number>> {
  const count = async (table: 'groups' | 'bindings' | 'tenant_access' | 'users', extra?: (q: any) => any) => {
    let query = db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId);
    if (extra) query = extra(query);
    return Number((await query.executeTakeFirstOrThrow()).n);
  };
  const held = {
    members: await count('tenant_access'),
    groups: await count('groups'),
    bindings: await count('bindings'),
    serviceAccounts: await count('users', (q) => q.where('type', '=', 'SERVICE_ACCOUNT')),
    customRoles: Number((await db.selectFrom('roles').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).where('is_managed', '=', 0).executeTakeFirstOrThrow()).n),
  };
  return Object.fromEntries(Object.entries(held).filter(([, n]) => n > 0));
}

/** Deletes a tenant and everything Perch keeps for it except its audit chain (kept, as EE keeps audit logs). */
export async function deleteTenantRows(db: Store, tenantId: string): Promise<string[]> {
  const serviceAccounts = await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('type', '=', 'SERVICE_ACCOUNT').execute();
  const ids = serviceAccounts.map((s) => s.id);
  if (ids.length > 0) await db.deleteFrom('users').where('id', 'in', ids).execute();
  await db.deleteFrom('bindings').where('tenant_id', '=', tenantId).execute();
  await db.deleteFrom('group_members').where('tenant_id', '=', tenantId).execute();
  await db.deleteFrom('groups').where('tenant_id', '=', tenantId).execute();
  await db.deleteFrom('roles').where('tenant_id', '=', tenantId).execute();
  await db.deleteFrom('tenant_access').where('tenant_id', '=', tenantId).execute();
  // Sessions that worked in it go back to main (the switcher then offers what is left).
  await db.updateTable('sessions').set({ tenant_id: 'main' }).where('tenant_id', '=', tenantId).execute();
  await db.deleteFrom('tenants').where('id', '=', tenantId).execute();
  return ids;
}
