import type { FastifyInstance } from 'fastify';
import { namespaceCovers } from '../../lib/authz/namespaces.js';
import { tenantDeleteQuerySchema, tenantRequestSchema, type TenantHealth, type TenantRequest } from '../../lib/schemas/tenants.js';
import { probeKestraReady } from '../health/kestra-probe.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { PerchContext } from '../context.js';
import { conflict, HttpError, notFound } from '../http/errors.js';
import { listQuery, parse } from '../http/request.js';
import { ensureManagedRoles, isUniqueViolation, loadAuthzFacts } from '../iam/iam-store.js';
import { auditTenantStates } from './audit-states.js';
import { checkTenantKestra } from './kestra-check.js';
import { registerTenantAccessRoutes } from './access-routes.js';
import { registerTenantSelection } from './session-routes.js';
import { MemoryTenantDirectory } from './tenant-directory.js';
import {
  allTenants,
  deleteTenantRows,
  findTenant,
  insertTenant,
  passwordPlace,
  rootsOf,
  tenantHoldings,
  toApiTenant,
  updateTenant,
  type TenantRow,
  type TenantValues,
} from './tenant-store.js';

const ownersOnly = { config: { access: 'instanceOwner' as const } };

/** The directory `ctx.tenants` holds, read once before the server listens. */
export async function loadTenantDirectory(ctx: Pick<PerchContext, 'db' | 'envelope' | 'log' | 'changes'>): Promise<MemoryTenantDirectory> {
  const fail = (error: unknown) => ctx.log.error({ err: error }, 'could not announce a tenant change to the other replicas');
  const directory = new MemoryTenantDirectory(ctx.db, ctx.envelope, ctx.log, () => void ctx.changes.publish('tenants', 'granted').catch(fail));
  await directory.reload();
  return directory;
}

/** A NAMESPACE tenant's roots may not overlap another tenant's: 409 naming both. */
function checkRootsFree(rows: TenantRow[], id: string, roots: readonly string[]): void {
  for (const other of rows) {
    if (other.id === id || other.mode !== 'NAMESPACE') continue;
    for (const mine of roots) {
      const theirs = rootsOf(other).find((r) => namespaceCovers(r, mine) || namespaceCovers(mine, r));
      if (theirs) throw conflict(`Namespace root ${mine} overlaps ${theirs} of tenant ${other.id}: roots of two tenants never overlap`);
    }
  }
}

/**
 * What a create or update stores: the isolation asked for (or the one kept), its Kestra checked with
 * the credentials before anything is written, the password sealed.
 */
async function valuesOf(ctx: PerchContext, body: TenantRequest, existing: TenantRow | undefined): Promise<TenantValues> {
  const isolation = body.isolation;
  if (existing?.id === DEFAULT_TENANT && isolation) {
    throw new HttpError(422, 'The main tenant is Perch’s configured Kestra (kestra.url): its isolation cannot change', { errors: [{ path: 'isolation', message: 'fixed for main' }] });
  }
  if (!isolation) {
    if (!existing) throw new HttpError(422, 'Invalid request: isolation: a new tenant says where its Kestra data lives (INSTANCE or NAMESPACE)', { errors: [{ path: 'isolation', message: 'required' }] });
    return { name: body.name, mode: existing.mode, kestraUrl: existing.kestra_url, username: existing.kestra_username, sealedPassword: existing.kestra_password, namespaces: rootsOf(existing) };
  }
  if (isolation.mode === 'NAMESPACE') {
    checkRootsFree(await allTenants(ctx.db), body.id, isolation.namespaces);
    return { name: body.name, mode: 'NAMESPACE', kestraUrl: null, username: null, sealedPassword: null, namespaces: isolation.namespaces };
  }
  // The password may be left out on update: the stored one is kept (and checked again).
  const keeps = existing?.mode === 'INSTANCE' && existing.kestra_password !== null && isolation.password === undefined;
  if (!keeps && isolation.password === undefined) {
    throw new HttpError(422, 'Invalid request: isolation.password: an INSTANCE tenant needs the password of its Kestra account', { errors: [{ path: 'isolation.password', message: 'required' }] });
  }
  const password = isolation.password ?? ctx.envelope.openText(existing!.kestra_password!, passwordPlace(body.id));
  await checkTenantKestra(isolation.kestraUrl, isolation.username, password);
  return {
    name: body.name,
    mode: 'INSTANCE',
    kestraUrl: isolation.kestraUrl,
    username: isolation.username,
    sealedPassword: isolation.password === undefined ? existing!.kestra_password : ctx.envelope.seal(password, passwordPlace(body.id)),
    namespaces: [],
  };
}

/** After a change: this replica's directory (and authorization) re-read now, the others told. */
export async function announce(ctx: PerchContext, iamChanged: boolean): Promise<void> {
  await ctx.tenants.reload();
  if (iamChanged) ctx.authz.load(await loadAuthzFacts(ctx.db));
  const fail = (error: unknown) => ctx.log.error({ err: error }, 'could not announce a tenant change to the other replicas');
  await ctx.changes.publish('tenants', 'changed').catch(fail);
  if (iamChanged) await ctx.changes.publish('iam', 'tenants').catch(fail);
}

async function mustFindTenant(ctx: PerchContext, id: string): Promise<TenantRow> {
  const row = await findTenant(ctx.db, id);
  if (!row) throw notFound(`Tenant ${id} not found`);
  return row;
}

/**
 * Kestra EE's tenants (`/api/v1/tenants`, instance owners only) and tenant access
 * (`/api/v1/{tenant}/tenant-access`), kept in memory for the proxy and every route.
 */
export function registerTenants(app: FastifyInstance, ctx: PerchContext): void {
  auditTenantStates();
  ctx.changes.subscribe('tenants', () => void ctx.tenants.reload().catch((error) => ctx.log.error({ err: error }, 'could not reload tenants')));
  ctx.changes.onResync(() => void ctx.tenants.reload().catch((error) => ctx.log.error({ err: error }, 'could not reload tenants')));

  app.post('/api/v1/tenants', ownersOnly, async (request) => {
    const body = parse(tenantRequestSchema, request.body);
    if (await findTenant(ctx.db, body.id)) throw conflict(`Tenant ${body.id} already exists`);
    const values = await valuesOf(ctx, body, undefined);
    await ctx.db.transaction().execute(async (trx) => {
      await insertTenant(trx, body.id, values);
    }).catch((error: unknown) => {
      if (isUniqueViolation(error)) throw conflict(`Tenant ${body.id} already exists`);
      throw error;
    });
    await ensureManagedRoles(ctx.db, body.id);
    await announce(ctx, false);
    return toApiTenant(await mustFindTenant(ctx, body.id));
  });

  app.get('/api/v1/tenants/search', ownersOnly, async (request) => {
    const { page, size, q, direction } = listQuery(request);
    const needle = q?.toLowerCase();
    const rows = (await allTenants(ctx.db)).filter((t) => !needle || t.id.includes(needle) || t.name.toLowerCase().includes(needle));
    if (direction === 'desc') rows.reverse();
    return { results: rows.slice((page - 1) * size, page * size).map(toApiTenant), total: rows.length };
  });

  app.get('/api/v1/tenants/:id', ownersOnly, async (request) => toApiTenant(await mustFindTenant(ctx, (request.params as { id: string }).id)));

  // Perch's own: the upstream health the Tenants screen shows (the tenant's Kestra, asked with its credentials).
  app.get('/api/v1/tenants/:id/health', ownersOnly, async (request): Promise<TenantHealth> => {
    const row = await mustFindTenant(ctx, (request.params as { id: string }).id);
    const own = row.mode === 'INSTANCE' && row.kestra_url !== null;
    const target = own
      ? { url: row.kestra_url!, username: row.kestra_username ?? undefined, password: row.kestra_password ? ctx.envelope.openText(row.kestra_password, passwordPlace(row.id)) : undefined }
      : ctx.config.kestra;
    const answer = await probeKestraReady(target);
    const reason = answer.ready ? undefined : own && (answer.status === 401 || answer.status === 403) ? `The Kestra at ${target.url} refuses the tenant's credentials (${answer.status})` : answer.reason;
    return { tenantId: row.id, kestraUrl: target.url, ready: answer.ready, ...(reason ? { reason } : {}), ...(answer.latencyMs !== undefined ? { latencyMs: answer.latencyMs } : {}) };
  });

  app.put('/api/v1/tenants/:id', ownersOnly, async (request) => {
    const { id } = request.params as { id: string };
    const existing = await mustFindTenant(ctx, id);
    const body = parse(tenantRequestSchema, { ...(request.body as object), id });
    const values = await valuesOf(ctx, body, existing);
    await updateTenant(ctx.db, id, values);
    await announce(ctx, false);
    return toApiTenant(await mustFindTenant(ctx, id));
  });

  app.delete('/api/v1/tenants/:id', ownersOnly, async (request, reply) => {
    const { id } = request.params as { id: string };
    const { confirm } = parse(tenantDeleteQuerySchema, request.query);
    if (id === DEFAULT_TENANT) throw conflict('The main tenant is Perch’s configured Kestra: it cannot be deleted');
    await mustFindTenant(ctx, id);
    const held = await tenantHoldings(ctx.db, id);
    if (Object.keys(held).length > 0 && confirm !== id) {
      const what = Object.entries(held).map(([kind, n]) => `${n} ${kind}`).join(', ');
      throw new HttpError(409, `Tenant ${id} still holds ${what}: delete it with ?confirm=${id} to remove them too`, { holds: held });
    }
    const serviceAccounts = await ctx.db.transaction().execute((trx) => deleteTenantRows(trx, id));
    for (const accountId of serviceAccounts) await ctx.sessions.revokeUser(accountId);
    await ctx.sessions.revalidateAll();
    await announce(ctx, true);
    return reply.code(204).send();
  });

  registerTenantAccessRoutes(app, ctx, announce);
  registerTenantSelection(app, ctx);
}
