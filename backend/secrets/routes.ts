import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NAMESPACE_ID } from '../../lib/schemas/namespaces.js';
import { namespaceSecretBackendChoiceSchema, secretBackendChoiceSchema, secretKeySchema, type NamespaceSecretBackendView, secretPatchRequestSchema, secretValueRequestSchema, type SecretBackendView, type SecretList } from '../../lib/schemas/secrets.js';
import { auditPerchRoutes } from '../audit/http-hook.js';
import type { PerchContext } from '../context.js';
import { badRequest, conflict, HttpError, notFound } from '../http/errors.js';
import { listQuerySchema, parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import { requireNamespacePermission } from '../iam/access.js';
import { isUniqueViolation } from '../iam/iam-store.js';
import { ancestorsOf, findNamespace, namespaceAuditEntity, toApiNamespace, updateNamespace } from '../namespaces/namespace-store.js';
import { checkSecretManagerSetting } from '../namespaces/secret-manager-setting.js';
import { auditEntityStates } from '../audit/entity-states.js';
import { backendChoice, describeSource, type BackendChoice } from './backend-choice.js';
import { secretFilter, secretOrder } from './secret-filters.js';
import { secretBackends, SecretBackendUnavailable, type SecretBackends } from './backends/index.js';
import { deleteSecret, findSecretByKey, patchSecretMeta, refOf, secretsOfTenant, toApiSecretMeta, writeSecret, type SecretRow } from './secret-store.js';

/**
 * Kestra EE's namespace secrets (issue 21, point 2), kept by Perch with the internal backend
 * (values sealed with the master key) and delivered to Kestra OSS by `perch secrets sync`. A value
 * goes in with a PUT and never comes back out: every answer here is metadata.
 *
 * Kestra OSS reads every secret from one global environment (`SECRET_<KEY>`), so a key names one
 * secret per tenant: a second namespace's secret with the same key is refused (409).
 */

const nsOf = (request: FastifyRequest) => {
  const namespace = (request.params as { namespace: string }).namespace;
  if (!NAMESPACE_ID.test(namespace)) throw badRequest(`${namespace} is not a namespace id`);
  return namespace;
};
/** A namespace's secret backend (the namespace as `:id`, so the audit log keeps its states before and after). */
const NAMESPACE_BACKEND = '/api/v1/:tenant/namespaces/:id/secret-backend';
const idOf = (request: FastifyRequest) => {
  const namespace = (request.params as { id: string }).id;
  if (!NAMESPACE_ID.test(namespace)) throw badRequest(`${namespace} is not a namespace id`);
  return namespace;
};
const keyOf = (request: FastifyRequest) => parse(secretKeySchema, (request.params as { key: string }).key);

const takenElsewhere = (key: string, owner: string, namespace: string) =>
  conflict(`Secret key ${key} is already used by namespace ${owner}: Kestra OSS reads secrets from one environment shared by every namespace (SECRET_${key.toUpperCase()}), so a key can belong to one namespace only; pick another key for ${namespace}`);

/** The secret `key` of `namespace`, or a 404 (also when the key belongs to another namespace). */
async function mustFind(ctx: PerchContext, tenant: string, namespace: string, key: string): Promise<SecretRow> {
  const row = await findSecretByKey(ctx.db, tenant, key);
  if (!row || row.namespace !== namespace) throw notFound(`Secret ${key} not found in namespace ${namespace}`);
  return row;
}

/** Other replicas re-read which namespace owns which key (the flow-save check asks them). */
function announce(ctx: PerchContext): void {
  void ctx.changes.publish('secrets', 'changed').catch((error) => ctx.log.error({ err: error }, 'could not announce a secret change'));
}

/** A manager that failed: 502 naming it (nothing was changed in Perch's store). */
function managerFailure(error: unknown): never {
  if (error instanceof SecretBackendUnavailable) throw new HttpError(502, error.message, { backend: error.backend });
  throw error;
}

interface ResolvedBackend {
  backend: SecretBackends['current'];
  choice: BackendChoice;
}

/** The backend for new values of `namespace` (or the tenant's, without one): see backend-choice.ts. */
async function backendOf(ctx: PerchContext, backends: SecretBackends, tenant: string, namespace?: string): Promise<ResolvedBackend> {
  const choice = await backendChoice(ctx.db, backends.current.type, tenant, namespace);
  const backend = backends.available.find((b) => b.type === choice.type);
  // The configuration dropped a backend something still names: say so rather than write elsewhere.
  if (!backend) throw new HttpError(409, `${describeSource(choice.source, tenant)} is ${choice.type}, which is not configured here (secrets.backend.${choice.type}); configure it again or pick another backend`);
  return { backend, choice };
}

/** Writes go to the namespace's backend, unless it is read-only for Perch (configured so, or the namespace's `secretReadOnly`). */
function writable({ backend, choice }: ResolvedBackend, tenant: string): SecretBackends['current'] {
  if (backend.readOnly) throw new HttpError(409, `Secrets are read-only: ${backend.name} is configured with secrets.backend.readOnly`);
  if (choice.readOnly) throw new HttpError(409, `Secrets are read-only here: ${describeSource(choice.source, tenant)} is set with secretReadOnly`);
  return backend;
}

export function registerSecrets(app: FastifyInstance, ctx: PerchContext): void {
  let ready: Promise<SecretBackends> | undefined;
  const backends = () => (ready ??= secretBackends(ctx.config.secrets.backend, ctx.envelope));
  const keyId = (p: Record<string, string>, body: unknown) => `${p.namespace}/${p.key ?? (body as { key?: unknown } | null)?.key ?? ''}`;
  auditEntityStates({ [NAMESPACE_BACKEND]: namespaceAuditEntity });
  auditPerchRoutes({
    '/api/v1/:tenant/secret-backend': { resource: 'SECRET', id: (p) => `backend:${p.tenant}` },
    [NAMESPACE_BACKEND]: { resource: 'SECRET', id: (p) => `backend:${p.tenant}/${p.id}`, namespace: (p) => p.id ?? null },
    '/api/v1/:tenant/namespaces/:namespace/secrets': { resource: 'SECRET', id: keyId, namespace: (p) => p.namespace ?? null },
    '/api/v1/:tenant/namespaces/:namespace/secrets/:key': { resource: 'SECRET', id: keyId, namespace: (p) => p.namespace ?? null },
  });
  const reload = () => void ctx.secretKeys.load(ctx.db).catch((error) => ctx.log.error({ err: error }, 'could not reload secret keys'));
  ctx.changes.subscribe('secrets', reload);
  ctx.changes.onResync(reload);

  // The backend picker (instance owners): where the tenant's new values go, among the configured backends.
  const backendView = async (tenant: string): Promise<SecretBackendView> => {
    const all = await backends();
    const { backend: current } = await backendOf(ctx, all, tenant);
    return { type: current.type, readOnly: current.readOnly, available: all.available.map((b) => ({ type: b.type, name: b.name, readOnly: b.readOnly })) };
  };
  const ownersOnly = (request: FastifyRequest) => {
    if (!principalOf(request).superAdmin) throw new HttpError(403, 'Only an instance owner may see or pick where secret values are kept');
  };
  app.get('/api/v1/:tenant/secret-backend', signedIn, async (request) => {
    const tenant = tenantOf(request);
    ownersOnly(request);
    return backendView(tenant);
  });
  app.put('/api/v1/:tenant/secret-backend', signedIn, async (request) => {
    const tenant = tenantOf(request);
    ownersOnly(request);
    const { type } = parse(secretBackendChoiceSchema, request.body);
    const all = await backends();
    if (!all.available.some((b) => b.type === type)) {
      throw new HttpError(422, `No secret backend ${type} is configured here (configured: ${all.available.map((b) => b.type).join(', ')}); add it under secrets.backend first`);
    }
    await ctx.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('secret_backends').where('tenant_id', '=', tenant).execute();
      await trx.insertInto('secret_backends').values({ tenant_id: tenant, type, updated_at: Date.now() }).execute();
    });
    return backendView(tenant);
  });

  // A namespace's dedicated manager (EE's namespace `secretType`), inherited by its children; the same
  // setting `PUT /namespaces/{id}` writes. Instance owners, as for the tenant's pick.
  const namespaceBackendView = async (tenant: string, namespace: string): Promise<NamespaceSecretBackendView> => {
    const all = await backends();
    const { backend, choice } = await backendOf(ctx, all, tenant, namespace);
    return {
      type: backend.type,
      readOnly: backend.readOnly || choice.readOnly,
      source: choice.source.level,
      ...(choice.source.level === 'namespace' ? { sourceNamespace: choice.source.namespace } : {}),
      available: all.available.map((b) => ({ type: b.type, name: b.name, readOnly: b.readOnly })),
    };
  };
  app.get(NAMESPACE_BACKEND, signedIn, async (request) => {
    const tenant = tenantOf(request);
    const namespace = idOf(request);
    ownersOnly(request);
    return namespaceBackendView(tenant, namespace);
  });
  app.put(NAMESPACE_BACKEND, signedIn, async (request) => {
    const tenant = tenantOf(request);
    const namespace = idOf(request);
    ownersOnly(request);
    const { type, readOnly } = parse(namespaceSecretBackendChoiceSchema, request.body);
    const row = await findNamespace(ctx.db, tenant, namespace);
    if (!row) throw notFound(`Namespace ${namespace} was not created (create it with POST /api/v1/${tenant}/namespaces first)`);
    const current = toApiNamespace(row);
    const { id: _id, deleted: _deleted, secretType: _type, secretReadOnly: _readOnly, ...rest } = current;
    const next = type === null ? rest : { ...rest, secretType: type, ...(readOnly ? { secretReadOnly: true } : {}) };
    await updateNamespace(ctx.db, tenant, namespace, checkSecretManagerSetting(ctx, request, current, next));
    return namespaceBackendView(tenant, namespace);
  });

  /**
   * EE's `readOnly` of a listing (the screens then offer no writes): whether Perch would refuse writes
   * to the one namespace listed (`filters[namespace][EQUALS]`), else to the tenant's backend. A backend
   * no longer configured reads as read-only (writes there are refused).
   */
  const listedReadOnly = async (tenant: string, namespace: string | undefined): Promise<boolean> => {
    const all = await backends();
    const choice = await backendChoice(ctx.db, all.current.type, tenant, namespace);
    return choice.readOnly || (all.available.find((b) => b.type === choice.type)?.readOnly ?? true);
  };

  app.get('/api/v1/:tenant/secrets', signedIn, async (request): Promise<SecretList> => {
    const tenant = tenantOf(request);
    const principal = principalOf(request);
    const raw = request.query as Record<string, unknown>;
    const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
    const query = parse(listQuerySchema, { page: first(raw.page), size: first(raw.size), sort: first(raw.sort) });
    const matches = secretFilter(request);
    const rows = (await secretsOfTenant(ctx.db, tenant)).filter(matches);
    const visible = principal.superAdmin ? rows : ctx.authz.filterVisible(tenant, principal.userId, 'SECRET', 'LIST', rows, (row) => row.namespace);
    const reach = principal.superAdmin ? { all: true as const } : ctx.authz.scope(tenant, principal.userId, 'SECRET', 'LIST');
    if (!reach.all && reach.namespaces.length === 0) {
      throw new HttpError(403, `Permission SECRET:LIST on tenant ${tenant} or one of its namespaces is required to do this`);
    }
    visible.sort(secretOrder(query.sort));
    const start = (query.page - 1) * query.size;
    const listed = first(raw['filters[namespace][EQUALS]']);
    const mayList = typeof listed === 'string' && NAMESPACE_ID.test(listed) && (principal.superAdmin || ctx.authz.allows(tenant, principal.userId, 'SECRET', 'LIST', listed));
    return { readOnly: await listedReadOnly(tenant, mayList ? listed : undefined), results: visible.slice(start, start + query.size).map(toApiSecretMeta), total: visible.length };
  });

  app.get('/api/v1/:tenant/namespaces/:namespace/inherited-secrets', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const namespace = nsOf(request);
    const principal = requireNamespacePermission(ctx, request, tenant, 'SECRET', 'LIST', namespace);
    const ancestors = new Set(ancestorsOf(namespace));
    const out: Record<string, string[]> = {};
    for (const row of await secretsOfTenant(ctx.db, tenant)) {
      if (!ancestors.has(row.namespace)) continue;
      if (!principal.superAdmin && !ctx.authz.allows(tenant, principal.userId, 'SECRET', 'LIST', row.namespace)) continue;
      (out[row.namespace] ??= []).push(row.key);
    }
    return out;
  });

  app.put('/api/v1/:tenant/namespaces/:namespace/secrets', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const namespace = nsOf(request);
    const body = parse(secretValueRequestSchema, request.body);
    const existing = await findSecretByKey(ctx.db, tenant, body.key);
    if (existing && existing.namespace !== namespace) {
      // Named only to whoever may see that namespace's secrets; others learn that the key is taken.
      const principal = principalOf(request);
      const owner = principal.superAdmin || ctx.authz.allows(tenant, principal.userId, 'SECRET', 'LIST', existing.namespace) ? existing.namespace : 'another namespace';
      requireNamespacePermission(ctx, request, tenant, 'SECRET', 'CREATE', namespace);
      throw takenElsewhere(body.key, owner, namespace);
    }
    requireNamespacePermission(ctx, request, tenant, 'SECRET', existing ? 'UPDATE' : 'CREATE', namespace);
    const all = await backends();
    const backend = writable(await backendOf(ctx, all, tenant, namespace), tenant);
    const row = await writeSecret(ctx.db, backend, tenant, namespace, body, existing).catch(async (error: unknown) => {
      // A concurrent write took the key between the read and the insert.
      if (isUniqueViolation(error)) throw takenElsewhere(body.key, (await findSecretByKey(ctx.db, tenant, body.key))?.namespace ?? 'another namespace', namespace);
      return managerFailure(error);
    });
    // The value moved to another backend (the configuration changed): the old one lets go of it.
    if (existing && existing.backend !== backend.type) await all.of(existing.backend).remove(refOf(existing)).catch((error: unknown) => ctx.log.warn({ err: error }, `could not remove ${existing.namespace}/${existing.key} from its previous backend`));
    ctx.secretKeys.set(tenant, row.key, namespace);
    announce(ctx);
    return [toApiSecretMeta(row)];
  });

  app.patch('/api/v1/:tenant/namespaces/:namespace/secrets/:key', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const namespace = nsOf(request);
    const key = keyOf(request);
    requireNamespacePermission(ctx, request, tenant, 'SECRET', 'UPDATE', namespace);
    const body = parse(secretPatchRequestSchema, request.body);
    if (body.namespace !== undefined && body.namespace !== namespace) throw new HttpError(422, `A secret's metadata cannot move it to namespace ${body.namespace}`);
    if (body.key !== undefined && body.key.toUpperCase() !== key.toUpperCase()) throw new HttpError(422, `A secret's metadata cannot rename it to ${body.key}`);
    const row = await mustFind(ctx, tenant, namespace, key);
    await patchSecretMeta(ctx.db, row.id, { description: body.description, tags: body.tags });
    return [toApiSecretMeta({ ...row, ...(body.description !== undefined ? { description: body.description } : {}), tags: JSON.stringify(body.tags) })];
  });

  app.delete('/api/v1/:tenant/namespaces/:namespace/secrets/:key', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const namespace = nsOf(request);
    const key = keyOf(request);
    requireNamespacePermission(ctx, request, tenant, 'SECRET', 'DELETE', namespace);
    const row = await mustFind(ctx, tenant, namespace, key);
    const all = await backends();
    writable({ backend: all.of(row.backend), choice: (await backendOf(ctx, all, tenant, namespace)).choice }, tenant);
    // The manager first: when it cannot delete, the secret stays listed (and delivered) as it is.
    await all.of(row.backend).remove(refOf(row)).catch(managerFailure);
    await deleteSecret(ctx.db, row.id);
    ctx.secretKeys.remove(tenant, row.key);
    announce(ctx);
    return [toApiSecretMeta(row)];
  });
}
