import type { FastifyInstance, FastifyRequest } from 'fastify';
import { namespaceRequestSchema, NAMESPACE_ID, type NamespaceRequest, type NamespaceSettings } from '../../lib/schemas/namespaces.js';
import { auditEntityStates } from '../audit/entity-states.js';
import { auditPerchRoutes } from '../audit/http-hook.js';
import type { PerchContext } from '../context.js';
import { conflict, HttpError, notFound, badRequest } from '../http/errors.js';
import { parse, signedIn, tenantOf } from '../http/request.js';
import { requireNamespacePermission } from '../iam/access.js';
import { isUniqueViolation } from '../iam/iam-store.js';
import { checkSecretManagerSetting } from './secret-manager-setting.js';
import { namespaceAuditEntity, deleteNamespace, findNamespace, inheritedVariables, insertNamespace, placeholderNamespace, toApiNamespace, updateNamespace } from './namespace-store.js';

/**
 * Kestra EE's namespace entity (issue 21, point 1): `POST /namespaces`, `GET|PUT|DELETE
 * /namespaces/{id}` and `/namespaces/{id}/inherited-variables` are Perch's. Kestra OSS's own namespace
 * routes (search, autocomplete, files, KV, dependencies) stay proxied to Kestra.
 */

/** `/namespaces/{id}`, but not `/namespaces/search` (Kestra OSS's search, proxied). */
const ONE = '/api/v1/:tenant/namespaces/:id(^(?!search$)[^/]+$)';

const idOf = (request: FastifyRequest) => {
  const id = (request.params as { id: string }).id;
  if (!NAMESPACE_ID.test(id)) throw badRequest(`${id} is not a namespace id`);
  return id;
};

/** What Perch keeps of a body: EE's settings. A dedicated storage per namespace is not implemented. */
function settingsOf(ctx: PerchContext, request: FastifyRequest, body: NamespaceRequest, current: NamespaceSettings | undefined): NamespaceSettings {
  const { id: _id, deleted, ...settings } = body;
  if (deleted) throw new HttpError(422, 'A namespace is deleted with DELETE /api/v1/{tenant}/namespaces/{id}, not by writing deleted: true');
  for (const field of ['storageType', 'storageConfiguration'] as const) {
    if (settings[field] !== undefined) throw new HttpError(501, `Perch does not implement a dedicated storage per namespace (${field}) yet`);
  }
  return checkSecretManagerSetting(ctx, request, current, settings);
}

export function registerNamespaces(app: FastifyInstance, ctx: PerchContext): void {
  auditEntityStates({ [ONE]: namespaceAuditEntity }, { '/api/v1/:tenant/namespaces': namespaceAuditEntity });
  auditPerchRoutes({ [ONE]: { resource: 'NAMESPACE', id: (p) => p.id ?? null, namespace: (p) => p.id ?? null } });

  app.post('/api/v1/:tenant/namespaces', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const body = parse(namespaceRequestSchema, request.body);
    requireNamespacePermission(ctx, request, tenant, 'NAMESPACE', 'CREATE', body.id);
    const settings = settingsOf(ctx, request, body, undefined);
    const row = await insertNamespace(ctx.db, tenant, body.id, settings).catch((error: unknown) => {
      if (isUniqueViolation(error)) throw conflict(`Namespace ${body.id} already exists`);
      throw error;
    });
    return toApiNamespace(row);
  });

  app.get(ONE, signedIn, async (request) => {
    const tenant = tenantOf(request);
    const id = idOf(request);
    requireNamespacePermission(ctx, request, tenant, 'NAMESPACE', 'VIEW', id);
    const row = await findNamespace(ctx.db, tenant, id);
    return row ? toApiNamespace(row) : placeholderNamespace(id);
  });

  app.put(ONE, signedIn, async (request) => {
    const tenant = tenantOf(request);
    const id = idOf(request);
    requireNamespacePermission(ctx, request, tenant, 'NAMESPACE', 'UPDATE', id);
    const body = parse(namespaceRequestSchema, request.body);
    if (body.id !== id) throw new HttpError(422, `The namespace in the body is ${body.id}, not ${id}`);
    const current = await findNamespace(ctx.db, tenant, id);
    if (!current) throw notFound(`Namespace ${id} was not created (create it with POST /api/v1/${tenant}/namespaces first)`);
    const settings = settingsOf(ctx, request, body, toApiNamespace(current));
    await updateNamespace(ctx.db, tenant, id, settings);
    return toApiNamespace((await findNamespace(ctx.db, tenant, id))!);
  });

  app.delete(ONE, signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const id = idOf(request);
    requireNamespacePermission(ctx, request, tenant, 'NAMESPACE', 'DELETE', id);
    await ctx.db.transaction().execute(async (trx) => {
      if (!(await findNamespace(trx, tenant, id))) throw notFound(`Namespace ${id} not found`);
      // Its secrets' values would otherwise outlive it unseen: they go first, on purpose.
      const secrets = await trx.selectFrom('namespace_secrets').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenant).where('namespace', '=', id).executeTakeFirstOrThrow();
      if (Number(secrets.n) > 0) throw conflict(`Namespace ${id} still holds ${secrets.n} secret(s): delete them first`);
      await deleteNamespace(trx, tenant, id);
    });
    return reply.code(204).send();
  });

  app.get('/api/v1/:tenant/namespaces/:id/inherited-variables', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const id = idOf(request);
    requireNamespacePermission(ctx, request, tenant, 'NAMESPACE', 'VIEW', id);
    return inheritedVariables(ctx.db, tenant, id);
  });
}
