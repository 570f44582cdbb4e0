import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAuditLogRequestSchema } from '../../lib/schemas/audit.js';
import type { PerchContext } from '../context.js';
import { badRequest, forbidden, notFound } from '../http/errors.js';
import type { Action } from '../../lib/authz/catalogue.js';
import { pageSizeSchema, parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import { csvHeader, csvLine } from './csv.js';
import { applyAuditFilter, orderAudit, parseAuditFilter, searchAudit, streamAudit, toApiAuditLog, toItems, type AuditFilter } from './query.js';

const ownersOnly = { config: { access: 'instanceOwner' as const } };

const pageSchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: pageSizeSchema,
  sort: z.string().regex(/^date:(asc|desc)$/, 'sort must be date:asc or date:desc').optional(),
  format: z.enum(['csv', 'json']).optional(),
});

function pageOf(request: FastifyRequest) {
  const raw = request.query as Record<string, unknown>;
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const p = parse(pageSchema, { page: first(raw.page), size: first(raw.size), sort: first(raw.sort), format: first(raw.format) });
  return { page: p.page, size: p.size, direction: (p.sort?.split(':')[1] ?? 'desc') as 'asc' | 'desc', format: p.format ?? 'csv' };
}

/** CSV (default) or JSON lines, streamed page by page, oldest first. */
function sendExport(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply, filter: AuditFilter) {
  const { format } = pageOf(request);
  const rows = streamAudit(ctx.db, filter, 'asc');
  async function* lines() {
    if (format === 'csv') yield csvHeader();
    for await (const row of rows) yield format === 'csv' ? csvLine(row) : `${JSON.stringify(toApiAuditLog(row))}\n`;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return reply
    .header('cache-control', 'no-store')
    .header('content-disposition', `attachment; filename="auditlogs-${stamp}.${format === 'csv' ? 'csv' : 'jsonl'}"`)
    .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
    .send(Readable.from(lines(), { objectMode: false }));
}

/**
 * Which entries of `tenant` the caller may read with `action`: every one (a tenant-wide AUDITLOG
 * binding, or an instance owner), or those under the namespaces of their namespaced AUDITLOG
 * bindings (`namespaceRoots`, pushed into the SQL). Nothing at all: 403.
 */
function auditScope(ctx: PerchContext, request: FastifyRequest, tenant: string, action: Action): Pick<AuditFilter, 'tenants' | 'namespaceRoots'> {
  const principal = principalOf(request);
  if (principal.superAdmin) return { tenants: [tenant] };
  const scope = ctx.authz.scope(tenant, principal.userId, 'AUDITLOG', action);
  if (scope.all) return { tenants: [tenant] };
  if (scope.namespaces.length === 0) throw forbidden(`Permission AUDITLOG:${action} on tenant ${tenant} is required to do this`);
  return { tenants: [tenant], namespaceRoots: scope.namespaces };
}

/** One entry's states before and after, with their unified diff; `tenant` null: any chain. */
async function entryDiff(ctx: PerchContext, scope: Pick<AuditFilter, 'tenants' | 'namespaceRoots'>, id: string) {
  const query = applyAuditFilter(ctx.db.selectFrom('audit_log'), scope).select(['id', 'resource_id', 'namespace']).where('id', '=', id);
  const entry = await query.executeTakeFirst();
  if (!entry) throw notFound(`No audit log entry ${id}`);
  const state = await ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', id).executeTakeFirst();
  const before = state?.before ?? null;
  const after = state?.after ?? null;
  const name = [entry.namespace, entry.resource_id].filter(Boolean).join('/') || id;
  if (!state) return { before, after, kind: null, unified: null };
  // The diff library loads with the first diff asked for, not with every Perch (idle memory).
  const { createTwoFilesPatch } = await import('diff');
  return { before, after, kind: state.kind ?? null, unified: createTwoFilesPatch(`a/${name}`, `b/${name}`, before ?? '', after ?? '', undefined, undefined, { context: 3 }) };
}

/**
 * EE's audit log API. A tenant-wide AUDITLOG binding sees every entry of that tenant; an AUDITLOG
 * binding on a namespace sees the entries of that namespace and its descendants, and none without
 * a namespace (Perch's own entities, security events). Instance-wide events (sign-ins, users) are
 * in the `_instance` chain, which only instance owners read, through `/api/v1/auditlogs/…`.
 */
/**
 * An instance-wide search's filter: the usual filters, narrowed to one chain by `?chain=` (a tenant,
 * or `_instance`), else every chain.
 */
function instanceFilter(request: FastifyRequest): AuditFilter {
  const { chain, ...rest } = request.query as Record<string, unknown>;
  if (chain !== undefined && (typeof chain !== 'string' || chain.length === 0 || chain.length > 200)) throw badRequest('chain must be one tenant id or _instance');
  return { ...parseAuditFilter(rest), tenants: chain === undefined ? null : [chain as string] };
}

export function registerAuditRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.get('/api/v1/:tenant/auditlogs/search', signedIn, async (request) => {
    const scope = auditScope(ctx, request, tenantOf(request), 'LIST');
    return searchAudit(ctx.db, { ...parseAuditFilter(request.query as Record<string, unknown>), ...scope }, pageOf(request));
  });

  app.post('/api/v1/:tenant/auditlogs/find', signedIn, async (request) => {
    const scope = auditScope(ctx, request, tenantOf(request), 'VIEW');
    const body = parse(findAuditLogRequestSchema, request.body);
    const { id, ...rest } = body.detail ?? {};
    const details = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)]));
    const filter: AuditFilter = {
      ...scope,
      resources: body.resource ? [body.resource] : undefined,
      type: body.type ?? undefined,
      resourceId: id === undefined ? undefined : String(id),
      details,
    };
    const row = await orderAudit(applyAuditFilter(ctx.db.selectFrom('audit_log'), filter).selectAll(), 'desc').limit(1).executeTakeFirst();
    if (!row) throw notFound('No audit log entry matches');
    return (await toItems(ctx.db, [row]))[0];
  });

  app.get('/api/v1/:tenant/auditlogs/history/:detailId', signedIn, async (request) => {
    const scope = auditScope(ctx, request, tenantOf(request), 'LIST');
    const resourceId = (request.params as { detailId: string }).detailId;
    const rows = await orderAudit(applyAuditFilter(ctx.db.selectFrom('audit_log'), { ...scope, resourceId }).selectAll(), 'desc').limit(1000).execute();
    return rows.map((r) => ({ id: r.id, date: new Date(Number(r.date)).toISOString(), username: r.actor_email ?? r.actor_type }));
  });

  // EE's diff of one entry: the state before and after (Perch adds the unified diff, computed here).
  app.get('/api/v1/:tenant/auditlogs/:id/diff', signedIn, async (request) => {
    const scope = auditScope(ctx, request, tenantOf(request), 'VIEW');
    return entryDiff(ctx, scope, (request.params as { id: string }).id);
  });

  // Who made each revision of a flow (Kestra OSS records no author): the revisions made through Perch.
  app.get('/api/v1/:tenant/auditlogs/flows/:namespace/:id/revisions', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const { namespace, id } = request.params as { namespace: string; id: string };
    const scope = auditScope(ctx, request, tenant, 'LIST');
    const rows = await applyAuditFilter(ctx.db.selectFrom('audit_log'), scope)
      .selectAll()
      .where('resource_type', '=', 'FLOW')
      .where('namespace', '=', namespace)
      .where('resource_id', '=', id)
      .where('outcome', '=', 'SUCCESS')
      .where('action', 'in', ['CREATE', 'UPDATE'])
      .orderBy('seq', 'asc')
      .execute();
    const byRevision = new Map<number, Record<string, unknown>>();
    for (const row of rows) {
      const details = JSON.parse(row.details) as { revision?: unknown; previousRevision?: unknown };
      // An update that changed nothing keeps Kestra's revision: the first author stays.
      if (typeof details.revision !== 'number' || details.revision === details.previousRevision || byRevision.has(details.revision)) continue;
      byRevision.set(details.revision, {
        revision: details.revision,
        auditLogId: row.id,
        date: new Date(Number(row.date)).toISOString(),
        type: row.action,
        actor: { type: row.actor_type, id: row.actor_id, email: row.actor_email, impersonatedBy: row.impersonated_by },
        username: row.actor_email ?? row.actor_type,
      });
    }
    return [...byRevision.values()].sort((a, b) => (a.revision as number) - (b.revision as number));
  });

  app.get('/api/v1/:tenant/auditlogs/export', signedIn, async (request, reply) => {
    const scope = auditScope(ctx, request, tenantOf(request), 'EXPORT');
    return sendExport(ctx, request, reply, { ...parseAuditFilter(request.query as Record<string, unknown>), ...scope });
  });

  // Every chain, the instance-wide one included: instance owners only (outside AUDITLOG RBAC, as in EE).
  // `?chain=` narrows to one chain (a tenant, or `_instance`): one view, filtered.
  app.get('/api/v1/auditlogs/search', ownersOnly, async (request) => {
    return searchAudit(ctx.db, instanceFilter(request), pageOf(request));
  });

  // The diff of an entry in any chain (users and instance-wide service accounts are in `_instance`).
  app.get('/api/v1/auditlogs/:id/diff', ownersOnly, async (request) => entryDiff(ctx, { tenants: null }, (request.params as { id: string }).id));

  app.get('/api/v1/auditlogs/export', ownersOnly, async (request, reply) => {
    return sendExport(ctx, request, reply, instanceFilter(request));
  });
}
