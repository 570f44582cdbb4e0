import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bulkOperationRequestSchema, type AppSource, type BulkImportResponse } from '../../lib/schemas/apps.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import { badRequest, forbidden, HttpError, notFound } from '../http/errors.js';
import { may, requirePermission } from '../iam/access.js';
import { listQuery, parse, signedIn, tenantOf } from '../http/request.js';
import { mayUseApp, requireAuthorMayRun } from './app-access.js';
import { parseAppSource, splitDocuments } from './app-source.js';
import { ReadForm } from './bodies.js';
import {
  deleteApp, findApp, findAppById, insertApp, listApps, setAppEnabled, sourceOf, toApiApp, toApiAppSource, toCatalogItem, updateAppSource, type AppRow,
} from './app-store.js';

/*
 * EE's Apps API (`/api/v1/{tenant}/apps…`, operationIds as in Kestra EE's spec). APP is a tenant-wide
 * resource: each operation needs its APP action in the tenant; writing an app also needs what the app
 * does in Kestra, in its namespace (app-access.ts).
 */

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

async function mustFind(ctx: PerchContext, tenant: string, uid: string): Promise<AppRow> {
  const row = await findApp(ctx.db, tenant, uid);
  if (!row) throw notFound(`App ${uid} not found`);
  return row;
}

function yamlBody(request: FastifyRequest): string {
  if (typeof request.body !== 'string') throw new HttpError(415, 'An app source is sent as YAML (Content-Type: application/x-yaml)');
  return request.body;
}

/** A source checked, and that its author may have Kestra do what the app does (422, 403 otherwise). */
export function authoredSource(ctx: PerchContext, caller: Principal, tenant: string, source: string): AppSource {
  const app = parseAppSource(source);
  requireAuthorMayRun(ctx, caller, tenant, app);
  return app;
}

/** Kestra's query filters (`filters[field][OP]=value`), as far as apps are searched: q, namespace, tags, type. */
function appFilters(request: FastifyRequest): (row: AppRow) => boolean {
  const raw = request.query as Record<string, unknown>;
  const checks: ((row: AppRow) => boolean)[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const m = /^filters\[(q|namespace|tags|type)\]\[([A-Z_]+)\](?:\[\d*\])?$/.exec(key);
    if (!m) continue;
    const values = [value].flat().flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
    const [, field, op] = m;
    if (field === 'q') checks.push((r) => values.every((v) => `${r.name} ${r.id} ${r.namespace} ${r.flow_id}`.toLowerCase().includes(v.toLowerCase())));
    else if (field === 'namespace') checks.push((r) => values.some((v) => (op === 'PREFIX' || op === 'STARTS_WITH' ? r.namespace === v || r.namespace.startsWith(`${v}.`) : r.namespace === v)));
    else if (field === 'type') checks.push((r) => values.includes(r.type));
    else checks.push((r) => {
      const tags = JSON.parse(r.tags) as string[];
      return op === 'NOT_IN' || op === 'NOT_EQUALS' ? !values.some((v) => tags.includes(v)) : values.some((v) => tags.includes(v));
    });
  }
  return (row) => checks.every((check) => check(row));
}

function page<T>(request: FastifyRequest, rows: T[]): { results: T[]; total: number } {
  const { page: number, size, direction } = listQuery(request);
  const ordered = direction === 'desc' ? [...rows].reverse() : rows;
  return { results: ordered.slice((number - 1) * size, number * size), total: rows.length };
}

/** Reads the apps a bulk operation names; every one must exist (404 names the first that does not), nothing is done otherwise. */
async function bulkRows(ctx: PerchContext, tenant: string, body: unknown): Promise<AppRow[]> {
  const { uids } = parse(bulkOperationRequestSchema, body);
  const rows: AppRow[] = [];
  for (const uid of new Set(uids)) rows.push(await mustFind(ctx, tenant, uid));
  return rows;
}

/** Creates or replaces (by `id`) one app from an imported source. */
async function importOne(ctx: PerchContext, caller: Principal, tenant: string, source: string): Promise<string> {
  const app = authoredSource(ctx, caller, tenant, source);
  const existing = await findAppById(ctx.db, tenant, app.id);
  if (!existing) return (await insertApp(ctx.db, tenant, app, source)).uid;
  if (!may(ctx, caller, tenant, 'APP', 'UPDATE')) throw forbidden(`Permission APP:UPDATE on tenant ${tenant} is required to replace app ${app.id}`);
  return (await updateAppSource(ctx.db, existing, app, source)).uid;
}

async function importSources(ctx: PerchContext, caller: Principal, tenant: string, form: ReadForm): Promise<BulkImportResponse> {
  const file = form.parts.find((p) => p.name === 'fileUpload' && p.filename !== undefined);
  if (!file || form.parts.length !== 1) throw badRequest('The import takes one file part named fileUpload (a ZIP of YAML sources or a multi-document YAML file)');
  const isZip = file.data.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  const sources: { name: string; text: string }[] = [];
  if (isZip) {
    const { unzipSync } = await import('fflate');
    let entries: Record<string, Uint8Array>;
    let total = 0;
    try {
      entries = unzipSync(file.data, {
        filter: (f) => {
          total += f.originalSize;
          if (total > 16 * 1024 * 1024) throw new Error('The ZIP expands to more than 16 MB');
          return /\.ya?ml$/i.test(f.name) && !f.name.endsWith('/');
        },
      });
    } catch (error) {
      throw badRequest(`The ZIP cannot be read: ${(error as Error).message}`);
    }
    for (const [name, data] of Object.entries(entries)) sources.push({ name, text: Buffer.from(data).toString('utf8') });
  } else {
    splitDocuments(file.data.toString('utf8')).forEach((text, index) => sources.push({ name: String(index), text }));
  }
  const result: BulkImportResponse = { success: [], errors: [] };
  for (const { name, text } of sources) {
    try {
      result.success.push(await importOne(ctx, caller, tenant, text));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      result.errors.push({ source: name, message: error.message });
    }
  }
  return result;
}

const appState: EntityRoute = {
  kind: 'app',
  load: async (ctx, p, tenant) => {
    const row = await findApp(ctx.db, tenant, p.id!);
    return row ? { ...toApiApp(row), source: row.source } : null;
  },
};

export function registerAppApi(app: FastifyInstance, ctx: PerchContext): void {
  auditEntityStates(
    { '/api/v1/:tenant/apps/:id': appState, '/api/v1/:tenant/apps/:id/enable': appState, '/api/v1/:tenant/apps/:id/disable': appState },
    { '/api/v1/:tenant/apps': appState },
  );

  // createApp
  app.post('/api/v1/:tenant/apps', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const caller = requirePermission(ctx, request, tenant, 'APP', 'CREATE');
    const source = yamlBody(request);
    return toApiAppSource(await insertApp(ctx.db, tenant, authoredSource(ctx, caller, tenant, source), source));
  });

  // getApp
  app.get('/api/v1/:tenant/apps/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'VIEW');
    return toApiAppSource(await mustFind(ctx, tenant, idOf(request)));
  });

  // updateApp
  app.put('/api/v1/:tenant/apps/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const caller = requirePermission(ctx, request, tenant, 'APP', 'UPDATE');
    const row = await mustFind(ctx, tenant, idOf(request));
    const source = yamlBody(request);
    return toApiAppSource(await updateAppSource(ctx.db, row, authoredSource(ctx, caller, tenant, source), source));
  });

  // deleteApp
  app.delete('/api/v1/:tenant/apps/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'DELETE');
    await deleteApp(ctx.db, (await mustFind(ctx, tenant, idOf(request))).uid);
    return {};
  });

  // enableApp, disableApp
  for (const [segment, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/api/v1/:tenant/apps/:id/${segment}`, signedIn, async (request) => {
      const tenant = tenantOf(request);
      requirePermission(ctx, request, tenant, 'APP', 'UPDATE');
      return toApiApp(await setAppEnabled(ctx.db, await mustFind(ctx, tenant, idOf(request)), enabled));
    });
    // bulkEnableApps, bulkDisableApps
    app.post(`/api/v1/:tenant/apps/${segment}`, signedIn, async (request) => {
      const tenant = tenantOf(request);
      requirePermission(ctx, request, tenant, 'APP', 'UPDATE');
      const rows = await bulkRows(ctx, tenant, request.body);
      await ctx.db.transaction().execute(async (trx) => {
        for (const row of rows) await setAppEnabled(trx, row, enabled);
      });
      return { success: rows.map((r) => r.uid) };
    });
  }

  // bulkDeleteApps
  app.delete('/api/v1/:tenant/apps', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'DELETE');
    const rows = await bulkRows(ctx, tenant, request.body);
    await ctx.db.transaction().execute(async (trx) => {
      for (const row of rows) await deleteApp(trx, row.uid);
    });
    return { success: rows.map((r) => r.uid) };
  });

  // searchApps
  app.get('/api/v1/:tenant/apps/search', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'LIST');
    const rows = (await listApps(ctx.db, tenant)).filter(appFilters(request));
    const { results, total } = page(request, rows);
    return { results: results.map(toApiApp), total };
  });

  // listTags
  app.get('/api/v1/:tenant/apps/tags', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'LIST');
    const tags = new Set<string>();
    for (const row of await listApps(ctx.db, tenant)) for (const tag of JSON.parse(row.tags) as string[]) tags.add(tag);
    return { tags: [...tags].sort() };
  });

  // searchAppsFromCatalog: the enabled apps listed in the catalog that the caller may use.
  app.get('/api/v1/:tenant/apps/catalog', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const filter = appFilters(request);
    const listed = [];
    for (const row of await listApps(ctx.db, tenant)) {
      if (row.enabled !== 1 || !filter(row)) continue;
      const source = sourceOf(row);
      if (source.access.catalog && (await mayUseApp(ctx, request.principal, tenant, source))) listed.push(toCatalogItem(row, source));
    }
    return page(request, listed);
  });

  // bulkExportApps: a ZIP of `<id>.yaml` sources.
  app.post('/api/v1/:tenant/apps/export', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'VIEW');
    const rows = await bulkRows(ctx, tenant, request.body);
    const { zipSync, strToU8 } = await import('fflate');
    const zip = zipSync(Object.fromEntries(rows.map((r) => [`${r.id}.yaml`, strToU8(r.source)])));
    return reply.type('application/octet-stream').header('content-disposition', 'attachment; filename="apps.zip"').send(Buffer.from(zip));
  });

  // bulkImportApps
  app.post('/api/v1/:tenant/apps/import', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const caller = requirePermission(ctx, request, tenant, 'APP', 'CREATE');
    if (!(request.body instanceof ReadForm)) throw new HttpError(415, 'The import is sent as multipart/form-data with a fileUpload part');
    return importSources(ctx, caller, tenant, request.body);
  });

  // previewApp: the source checked, and the layout a visitor would see first (EE's AppResponse shape).
  app.post('/api/v1/:tenant/apps/preview', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'APP', 'CREATE');
    const parsed = parseAppSource(yamlBody(request));
    const open = parsed.layout.find((l) => l.on === 'OPEN') ?? parsed.layout.find((l) => l.on === 'FALLBACK');
    return { layout: { blocks: open?.blocks ?? [] } };
  });
}
