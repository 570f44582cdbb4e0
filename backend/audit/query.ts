import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import { z } from 'zod';
import { resourceSchema, type Resource } from '../../lib/authz/catalogue.js';
import { auditActionSchema, outcomeSchema, type ApiAuditLog, type ApiAuditLogItem, type AuditAction } from '../../lib/schemas/audit.js';
import { parseIsoDuration } from '../config/config.js';
import { HttpError, validationError } from '../http/errors.js';
import type { Store } from '../store/database.js';
import type { AuditLogTable, Database } from '../store/schema.js';
import { resourceNames } from './resource-names.js';

/** What a search or an export is narrowed by. `tenants: null` means every chain (instance owners). */
export interface AuditFilter {
  tenants: string[] | null;
  /**
   * Set for callers whose AUDITLOG binding is on namespaces: only entries in these namespaces or
   * below them (`company` covers `company.team`, not `companyx`); never an entry without a namespace.
   */
  namespaceRoots?: string[];
  startDate?: number;
  endDate?: number;
  userId?: string;
  type?: AuditAction;
  resources?: Resource[];
  resourceId?: string;
  namespace?: string;
  flowId?: string;
  executionId?: string;
  outcome?: z.infer<typeof outcomeSchema>;
  q?: string;
  details?: Record<string, string>;
}

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date()).transform((text) => Date.parse(text));
const text = z.string().min(1).max(500);
const filterSchema = z.strictObject({
  startDate: isoDate.optional(),
  endDate: isoDate.optional(),
  userId: text.optional(),
  type: auditActionSchema.optional(),
  resources: z.array(resourceSchema).optional(),
  resourceId: text.optional(),
  namespace: text.optional(),
  flowId: text.optional(),
  executionId: text.optional(),
  outcome: outcomeSchema.optional(),
  q: z.string().max(200).optional(),
  details: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'detail keys are letters, digits, _ . -'), text).optional(),
});

/** Query-string names (plain EE export params and `filters[field][OP]` search filters) → filter keys. */
const FIELD_NAMES: Record<string, keyof z.input<typeof filterSchema>> = {
  startDate: 'startDate', endDate: 'endDate', userId: 'userId', user: 'userId', actor: 'userId', type: 'type', action: 'type',
  resource: 'resources', resources: 'resources', resourceType: 'resources', id: 'resourceId', resourceId: 'resourceId', detailId: 'resourceId',
  namespace: 'namespace', flowId: 'flowId', executionId: 'executionId', outcome: 'outcome', q: 'q', query: 'q',
};
const LIST_QUERY = new Set(['page', 'size', 'sort', 'format']);

/** The `filters[field][OP]` operators each filter is applied with. */
function operatorApplies(field: string, op: string): boolean {
  if (field === 'startDate') return op === 'GREATER_THAN_OR_EQUAL_TO' || op === 'EQUALS';
  if (field === 'endDate') return op === 'LESS_THAN_OR_EQUAL_TO' || op === 'EQUALS';
  if (op === 'EQUALS') return true;
  if (op === 'PREFIX') return field === 'namespace' || field === 'q';
  if (op === 'CONTAINS') return field === 'q';
  if (op === 'IN') return field === 'resources';
  return false;
}

/** Reads the filters of a search or export query string; unknown names are a 422, not silently ignored. */
export function parseAuditFilter(query: Record<string, unknown>): Omit<AuditFilter, 'tenants'> {
  const raw: Record<string, unknown> = {};
  const details: Record<string, unknown> = {};
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  for (const [key, value] of Object.entries(query)) {
    if (LIST_QUERY.has(key)) continue;
    const filter = /^filters\[([A-Za-z]+)\]\[([A-Z_]+)\](?:\[\d*\])?$/.exec(key);
    const detail = /^details?\[([^\]]+)\]$/.exec(key);
    if (detail) {
      details[detail[1]!] = first(value);
      continue;
    }
    let name = filter ? filter[1]! : key;
    const op = filter?.[2];
    // Kestra's date filters: filters[date][GREATER_THAN_OR_EQUAL_TO|LESS_THAN_OR_EQUAL_TO], filters[timeRange][EQUALS]=PT24H.
    if (name === 'date') name = op === 'GREATER_THAN_OR_EQUAL_TO' ? 'startDate' : op === 'LESS_THAN_OR_EQUAL_TO' ? 'endDate' : name;
    if (name === 'timeRange' && op === 'EQUALS') {
      const ms = parseIsoDuration(String(first(value)));
      if (ms === null) throw new HttpError(422, `Invalid request: ${key} is not an ISO-8601 duration such as PT24H`, { errors: [{ path: key, message: 'not a duration' }] });
      raw.startDate = new Date(Date.now() - ms).toISOString();
      continue;
    }
    if (name === 'details' && typeof first(value) === 'string') {
      // `details=key:value` (the EE UI's tags), one or several.
      for (const tag of [value].flat()) {
        const at = String(tag).indexOf(':');
        if (at > 0) details[String(tag).slice(0, at)] = String(tag).slice(at + 1);
      }
      continue;
    }
    const field = FIELD_NAMES[name];
    if (!field) throw new HttpError(422, `Invalid request: unknown filter ${key}`, { errors: [{ path: key, message: 'unknown filter' }] });
    if (field === 'resources') raw.resources = [value].flat().flatMap((v) => String(v).split(',')).filter(Boolean);
    else raw[field] = first(value);
    // Every filter is applied as "equals" (a namespace: "in or below"), a start date as "from", an end date as
    // "until": another operator (NOT_EQUALS, NOT_IN…) would be answered with the entries it asked to leave out.
    if (op && !operatorApplies(field, op)) {
      throw new HttpError(422, `Invalid request: ${name} does not take ${op}`, { errors: [{ path: key, message: 'unsupported operator' }] });
    }
  }
  if (Object.keys(details).length) raw.details = details;
  const parsed = filterSchema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

const likeEscape = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);
const contains = (value: string) => `%${likeEscape(value)}%`;
/** `"key":"value"` as it appears in the canonical JSON of `details`. */
const detailPair = (key: string, value: string) => contains(`${JSON.stringify(key)}:${JSON.stringify(value)}`);

type AuditQuery<O> = SelectQueryBuilder<Database, 'audit_log', O>;

function likeEsc(eb: ExpressionBuilder<Database, 'audit_log'>, column: 'details' | 'actor_email' | 'resource_id' | 'namespace', pattern: string, lower = false) {
  const ref = lower ? sql`lower(${eb.ref(column)})` : sql`${eb.ref(column)}`;
  return sql<boolean>`${ref} like ${lower ? pattern.toLowerCase() : pattern} escape '\\'`;
}

export function applyAuditFilter<O>(query: AuditQuery<O>, f: AuditFilter): AuditQuery<O> {
  let q = query;
  if (f.tenants) q = f.tenants.length === 1 ? q.where('tenant_id', '=', f.tenants[0]!) : q.where('tenant_id', 'in', f.tenants);
  if (f.namespaceRoots) {
    const roots = f.namespaceRoots;
    // An empty list matches nothing (`1 = 0`); a null namespace matches no comparison.
    q = roots.length === 0
      ? q.where(sql<boolean>`1 = 0`)
      : q.where((eb) => eb.or(roots.flatMap((root) => [eb('namespace', '=', root), likeEsc(eb, 'namespace', `${likeEscape(root)}.%`)])));
  }
  if (f.startDate !== undefined) q = q.where('date', '>=', f.startDate);
  if (f.endDate !== undefined) q = q.where('date', '<=', f.endDate);
  if (f.userId) {
    const user = f.userId;
    q = q.where((eb) => eb.or([eb('actor_id', '=', user), eb('actor_email', '=', user.toLowerCase())]));
  }
  if (f.type) q = q.where('action', '=', f.type);
  if (f.outcome) q = q.where('outcome', '=', f.outcome);
  if (f.resources?.length) q = q.where('resource_type', 'in', f.resources);
  if (f.resourceId) {
    const id = f.resourceId;
    q = q.where((eb) => eb.or([eb('resource_id', '=', id), likeEsc(eb, 'details', detailPair('id', id))]));
  }
  if (f.namespace) {
    const ns = f.namespace;
    q = q.where((eb) => eb.or([eb('namespace', '=', ns), likeEsc(eb, 'namespace', `${likeEscape(ns)}.%`)]));
  }
  if (f.flowId) {
    const id = f.flowId;
    q = q.where((eb) => eb.or([eb.and([eb('resource_type', '=', 'FLOW'), eb('resource_id', '=', id)]), likeEsc(eb, 'details', detailPair('flowId', id))]));
  }
  if (f.executionId) {
    const id = f.executionId;
    q = q.where((eb) => eb.or([eb('resource_id', '=', id), likeEsc(eb, 'details', detailPair('executionId', id))]));
  }
  for (const [key, value] of Object.entries(f.details ?? {})) q = q.where((eb) => likeEsc(eb, 'details', detailPair(key, value)));
  if (f.q) {
    const pattern = contains(f.q);
    q = q.where((eb) => eb.or([likeEsc(eb, 'actor_email', pattern, true), likeEsc(eb, 'resource_id', pattern, true), likeEsc(eb, 'namespace', pattern, true), likeEsc(eb, 'details', pattern, true)]));
  }
  return q;
}

export function orderAudit<O>(query: AuditQuery<O>, direction: 'asc' | 'desc'): AuditQuery<O> {
  return query.orderBy('date', direction).orderBy('tenant_id', direction).orderBy('seq', direction);
}

export function toApiAuditLog(row: AuditLogTable): ApiAuditLog {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(row.details) as Record<string, unknown>;
  } catch {
    details = { unreadable: row.details };
  }
  return {
    tenantId: row.tenant_id,
    id: row.id,
    type: row.action as AuditAction,
    detail: { ...details, type: `perch.${row.resource_type.toLowerCase()}`, resourceType: row.resource_type as Resource, id: row.resource_id, namespace: row.namespace },
    date: new Date(Number(row.date)).toISOString(),
    userId: row.actor_id,
    ipAddress: row.ip,
    impersonatedBy: row.impersonated_by,
    appliedPatch: [],
    revertPatch: [],
    seq: Number(row.seq),
    actor: { type: row.actor_type, id: row.actor_id, email: row.actor_email },
    outcome: row.outcome,
    upstreamStatus: row.upstream_status,
    requestId: row.request_id,
    userAgent: row.user_agent,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Entries as EE list items, each with the user or service account who acted (null for system, anonymous
 * or deleted actors). EE's `ApiUser` requires `username`, `email` and `type`.
 */
export async function toItems(db: Store, rows: AuditLogTable[]): Promise<ApiAuditLogItem[]> {
  const ids = [...new Set(rows.filter((r) => (r.actor_type === 'USER' || r.actor_type === 'SERVICE_ACCOUNT') && r.actor_id).map((r) => r.actor_id!))];
  const users = ids.length ? await db.selectFrom('users').select(['id', 'email', 'first_name', 'last_name', 'type']).where('id', 'in', ids).execute() : [];
  const byId = new Map(users.map((u) => [u.id, {
    id: u.id,
    username: u.email,
    email: u.email,
    type: u.type,
    displayName: [u.first_name, u.last_name].filter(Boolean).join(' ') || u.email,
  }]));
  const names = await resourceNames(db, rows);
  return rows.map((row, i) => ({ auditLog: toApiAuditLog(row), user: (row.actor_id && byId.get(row.actor_id)) || null, resourceName: names[i] ?? null }));
}

export async function searchAudit(db: Store, filter: AuditFilter, page: { page: number; size: number; direction: 'asc' | 'desc' }) {
  const base = applyAuditFilter(db.selectFrom('audit_log'), filter);
  const [rows, count] = await Promise.all([
    orderAudit(base.selectAll(), page.direction).limit(page.size).offset((page.page - 1) * page.size).execute(),
    base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { results: await toItems(db, rows), total: Number(count.total) };
}

/** Every matching entry, oldest first, read in pages so an export never holds the whole log. */
export async function* streamAudit(db: Store, filter: AuditFilter, direction: 'asc' | 'desc' = 'asc', pageSize = 1000): AsyncGenerator<AuditLogTable> {
  // Each page starts after the last row of the one before (not at an offset, which a purge or a write
  // meanwhile would shift, and which the database walks again for every page).
  let after: { date: number; tenant: string; seq: number } | null = null;
  const past = direction === 'asc' ? '>' : '<';
  for (;;) {
    let query = orderAudit(applyAuditFilter(db.selectFrom('audit_log'), filter).selectAll(), direction).limit(pageSize);
    if (after) {
      const { date, tenant, seq } = after;
      // The plain bound on date first: it is what lets the (tenant_id, date) and (date) indexes start
      // the page at the last row's date; the OR alone is only a filter, and every page would walk the
      // index again from the oldest entry (an export grew with the square of its length).
      query = query.where('date', direction === 'asc' ? '>=' : '<=', date).where((eb) =>
        eb.or([
          eb('date', past, date),
          eb.and([eb('date', '=', date), eb.or([eb('tenant_id', past, tenant), eb.and([eb('tenant_id', '=', tenant), eb('seq', past, seq)])])]),
        ]),
      );
    }
    const rows = await query.execute();
    yield* rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = { date: Number(last.date), tenant: last.tenant_id, seq: Number(last.seq) };
  }
}
