import type { FastifyInstance } from 'fastify';
import type { Permissions } from '../../lib/authz/catalogue.js';
import {
  bindingSearchQuerySchema,
  bulkCreateBindingsRequestSchema,
  createBindingRequestSchema,
  type ApiBindingDetail,
  type CreateBindingRequest,
} from '../../lib/schemas/iam.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { conflict, notFound, sendError } from '../http/errors.js';
import { requireHolds, requirePermission } from './access.js';
import { listQuery, parse, signedIn, tenantOf } from '../http/request.js';
import {
  bindingDetail,
  bindingDetails,
  deleteBinding,
  findBinding,
  findGroup,
  findRole,
  findSameBinding,
  findUserInTenant,
  insertBinding,
  readPermissions,
  searchBindings,
  toBindingFact,
  type BindingInput,
  type BindingRow,
} from './iam-store.js';

/**
 * Creates bindings all-or-nothing in one transaction: each needs its role and subject to exist,
 * must not repeat an existing binding, and must not grant more than the caller holds at its scope.
 * The decision index learns them only once the transaction has committed.
 */
async function createBindings(ctx: PerchContext, principal: Principal, tenant: string, requests: CreateBindingRequest[]): Promise<ApiBindingDetail[]> {
  const created = await ctx.db.transaction().execute(async (trx) => {
    const out: Array<{ row: BindingRow; permissions: Permissions }> = [];
    const seen = new Set<string>();
    for (const [index, request] of requests.entries()) {
      const at = requests.length > 1 ? ` (binding ${index + 1})` : '';
      const input: BindingInput = { type: request.type, subjectId: request.externalId, roleId: request.roleId, namespace: request.namespaceId ?? null };
      const role = await findRole(trx, tenant, input.roleId);
      if (!role) throw notFound(`Role ${input.roleId} not found${at}`);
      if (input.type === 'USER' ? !(await findUserInTenant(trx, tenant, input.subjectId)) : !(await findGroup(trx, tenant, input.subjectId))) {
        throw notFound(`${input.type === 'USER' ? 'User' : 'Group'} ${input.subjectId} not found${at}`);
      }
      const permissions = readPermissions(role.permissions);
      const scope = input.namespace === null ? 'tenant-wide' : `on namespace ${input.namespace}`;
      requireHolds(ctx, principal, tenant, permissions, input.namespace, `bind role ${role.name} ${scope}${at}`);
      const key = JSON.stringify([input.type, input.subjectId, input.roleId, input.namespace]);
      if (seen.has(key) || (await findSameBinding(trx, tenant, input))) {
        throw conflict(`${input.type === 'USER' ? 'User' : 'Group'} ${input.subjectId} already has role ${role.name} ${scope}${at}`);
      }
      seen.add(key);
      out.push({ row: await insertBinding(trx, tenant, input), permissions });
    }
    return out;
  });
  for (const { row, permissions } of created) ctx.authz.addBinding(toBindingFact(row, permissions));
  return bindingDetails(ctx.db, tenant, created.map((c) => c.row.id));
}

export function registerBindingRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.post('/api/v1/:tenant/bindings', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'BINDING', 'CREATE');
    const body = parse(createBindingRequestSchema, request.body);
    return (await createBindings(ctx, principal, tenant, [body]))[0];
  });

  app.post('/api/v1/:tenant/bindings/bulk', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'BINDING', 'CREATE');
    const body = parse(bulkCreateBindingsRequestSchema, request.body, []);
    return createBindings(ctx, principal, tenant, body);
  });

  app.get('/api/v1/:tenant/bindings/search', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'BINDING', 'LIST');
    const raw = request.query as Record<string, unknown>;
    const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
    const filters = parse(bindingSearchQuerySchema, { type: first(raw.type) || undefined, id: first(raw.id) || undefined, namespace: first(raw.namespace) || undefined });
    return searchBindings(ctx.db, tenant, { ...listQuery(request), type: filters.type, subjectId: filters.id, namespace: filters.namespace });
  });

  app.get('/api/v1/:tenant/bindings/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'BINDING', 'VIEW');
    const id = (request.params as { id: string }).id;
    const detail = await bindingDetail(ctx.db, tenant, id);
    if (!detail) throw notFound(`Binding ${id} not found`);
    return detail;
  });

  app.delete('/api/v1/:tenant/bindings/:id', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'BINDING', 'DELETE');
    const id = (request.params as { id: string }).id;
    await ctx.db.transaction().execute(async (trx) => {
      if (!(await findBinding(trx, tenant, id))) throw notFound(`Binding ${id} not found`);
      await deleteBinding(trx, tenant, id);
    });
    ctx.authz.removeBinding(id);
    return reply.code(204).send();
  });

  // Bindings are immutable (behaviour spec §2.1): say so rather than let the request reach Kestra.
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/api/v1/:tenant/bindings/:id',
      ...signedIn,
      handler: async (request, reply) => {
        tenantOf(request);
        reply.header('allow', 'GET, DELETE');
        return sendError(reply, 405, 'Bindings are immutable: delete this binding and create a new one');
      },
    });
  }
}
