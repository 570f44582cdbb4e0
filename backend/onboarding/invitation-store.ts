import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { ApiInvitationDetail, InvitationStatus } from '../../lib/schemas/onboarding.js';
import { groupsByIds, rolesByIds, toApiGroupSummary, toApiRoleSummary, type GroupRow, type RoleRow } from '../iam/iam-store.js';
import type { Store } from '../store/database.js';
import type { InvitationsTable } from '../store/schema.js';

export type InvitationRow = Selectable<InvitationsTable>;

export interface StoredRole {
  id: string;
  /** Empty: tenant-wide. */
  namespaces: string[];
}

export interface NewInvitation {
  tenantId: string;
  email: string;
  tokenHash: string;
  roles: StoredRole[];
  groupIds: string[];
  superAdmin: boolean;
  createdBy: string | null;
  sentAt: number;
  expiresAt: number;
}

export async function insertInvitation(db: Store, input: NewInvitation): Promise<InvitationRow> {
  const row: InvitationRow = {
    id: randomUUID(),
    tenant_id: input.tenantId,
    email: input.email,
    token_hash: input.tokenHash,
    roles: JSON.stringify(input.roles),
    group_ids: JSON.stringify(input.groupIds),
    super_admin: input.superAdmin ? 1 : 0,
    created_by: input.createdBy,
    sent_at: input.sentAt,
    expires_at: input.expiresAt,
    accepted_at: null,
    accepted_user_id: null,
    mailed: 0,
  };
  await db.insertInto('invitations').values(row).execute();
  return row;
}

export function readRoles(row: InvitationRow): StoredRole[] {
  try {
    const raw = JSON.parse(row.roles) as unknown;
    if (!Array.isArray(raw)) return [];
    return raw
      .filter((r): r is { id: string; namespaces?: unknown } => typeof r?.id === 'string')
      .map((r) => ({ id: r.id, namespaces: Array.isArray(r.namespaces) ? r.namespaces.filter((n): n is string => typeof n === 'string') : [] }));
  } catch {
    return [];
  }
}

export function readGroupIds(row: InvitationRow): string[] {
  try {
    const raw = JSON.parse(row.group_ids) as unknown;
    return Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
  } catch {
    return [];
  }
}

export function statusOf(row: InvitationRow, now = Date.now()): InvitationStatus {
  if (row.accepted_at !== null) return 'ACCEPTED';
  return row.expires_at <= now ? 'EXPIRED' : 'PENDING';
}

export function findInvitation(db: Store, tenantId: string, id: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export function findInvitationByTokenHash(db: Store, tokenHash: string): Promise<InvitationRow | undefined> {
  return db.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** A pending (unused, unexpired) invitation of this email in this tenant. */
export function findPendingInvitation(db: Store, tenantId: string, email: string, now = Date.now()): Promise<InvitationRow | undefined> {
  return db
    .selectFrom('invitations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('email', '=', email)
    .where('accepted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export async function deleteInvitation(db: Store, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('invitations').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Marks the invitation used, unless someone else did first: false then. */
export async function claimInvitation(db: Store, id: string, userId: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('invitations')
    .set({ accepted_at: now, accepted_user_id: userId })
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export interface InvitationQuery {
  page: number;
  size: number;
  email?: string;
  status?: InvitationStatus;
  direction?: 'asc' | 'desc';
}

export async function searchInvitations(db: Store, tenantId: string, query: InvitationQuery, now = Date.now()): Promise<{ rows: InvitationRow[]; total: number }> {
  let base = db.selectFrom('invitations').where('tenant_id', '=', tenantId);
  if (query.email) base = base.where('email', '=', query.email.trim().toLowerCase());
  if (query.status === 'ACCEPTED') base = base.where('accepted_at', 'is not', null);
  if (query.status === 'PENDING') base = base.where('accepted_at', 'is', null).where('expires_at', '>', now);
  if (query.status === 'EXPIRED') base = base.where('accepted_at', 'is', null).where('expires_at', '<=', now);
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('sent_at', query.direction ?? 'desc').orderBy('id').limit(query.size).offset((query.page - 1) * query.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export function invitationsOfEmail(db: Store, email: string, tenantId?: string): Promise<InvitationRow[]> {
  let query = db.selectFrom('invitations').selectAll().where('email', '=', email.trim().toLowerCase());
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  return query.orderBy('sent_at', 'desc').execute();
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function toApiInvitations(db: Store, rows: InvitationRow[], links: Map<string, string> = new Map()): Promise<ApiInvitationDetail[]> {
  const now = Date.now();
  const byTenant = new Map<string, { roles: Map<string, RoleRow>; groups: Map<string, GroupRow> }>();
  for (const tenantId of new Set(rows.map((r) => r.tenant_id))) {
    const mine = rows.filter((r) => r.tenant_id === tenantId);
    const [roles, groups] = await Promise.all([
      rolesByIds(db, tenantId, [...new Set(mine.flatMap((r) => readRoles(r).map((x) => x.id)))]),
      groupsByIds(db, tenantId, [...new Set(mine.flatMap(readGroupIds))]),
    ]);
    byTenant.set(tenantId, { roles: new Map(roles.map((r) => [r.id, r])), groups: new Map(groups.map((g) => [g.id, g])) });
  }
  return rows.map((row) => {
    const known = byTenant.get(row.tenant_id)!;
    const roles = readRoles(row);
    const status = statusOf(row, now);
    return {
      id: row.id,
      roles: roles.flatMap((r) => (known.roles.has(r.id) ? [toApiRoleSummary(known.roles.get(r.id)!)] : [])),
      groups: readGroupIds(row).flatMap((g) => (known.groups.has(g) ? [toApiGroupSummary(known.groups.get(g)!)] : [])),
      tenantId: row.tenant_id,
      email: row.email,
      status,
      isExpired: status === 'EXPIRED',
      sentAt: iso(row.sent_at)!,
      expiredAt: iso(row.expires_at)!,
      acceptedAt: iso(row.accepted_at),
      superAdmin: row.super_admin === 1,
      link: links.get(row.id) ?? null,
      bindings: roles.flatMap((r): Array<{ roleId: string; namespace: string | null }> => (r.namespaces.length ? r.namespaces.map((ns) => ({ roleId: r.id, namespace: ns })) : [{ roleId: r.id, namespace: null }])),
      mailed: row.mailed === 1,
    };
  });
}
