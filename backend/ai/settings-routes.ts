import type { FastifyInstance } from 'fastify';
import { aiTenantLimitsSchema, aiTenantProviderInputSchema, aiTenantProviderUpdateSchema, type AiTenantLimitsView, type AiTenantProviderView, type AiUsageView } from '../../lib/schemas/ai.js';
import { auditEntityStates } from '../audit/entity-states.js';
import { auditPerchRoutes } from '../audit/http-hook.js';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import { budgetLimits, effectiveLimits, instanceLimits, type TenantLimitStore } from './tenant-limits.js';
import { checkTenantProviderAddress, toTenantProviderView, type TenantProviderStore } from './tenant-providers.js';
import type { TokenBudgets } from './token-budgets.js';

/*
 * Perch's own AI settings of a tenant (issue 24, points 1 and 4; EE configures providers in its
 * configuration file only, and has no API for them): its providers, with write-only keys, for those
 * holding TENANT_SETTINGS (VIEW to read, UPDATE to change; instance owners always), and the token
 * budgets' use. Changes are audited (TENANT_SETTINGS, the provider's id, its state before and after:
 * never the key, which the audit log redacts from the request too). The tenant's limits (its request
 * rate and token budgets) are read there too, but changed by instance owners only: a tenant admin
 * raising its own budget would defeat it.
 */

const PROVIDERS = '/api/v1/:tenant/ai/settings/providers';
const PROVIDER = '/api/v1/:tenant/ai/settings/providers/:id';
const LIMITS = '/api/v1/:tenant/ai/settings/limits';

export interface AiSettingsStores {
  providers: TenantProviderStore;
  budgets: TokenBudgets;
  limits: TenantLimitStore;
}

export function registerAiSettings(app: FastifyInstance, ctx: PerchContext, { providers, budgets, limits }: AiSettingsStores): void {
  const limitsView = async (tenant: string, canChange: boolean): Promise<AiTenantLimitsView> => {
    const { overrides, updatedAt } = await limits.of(tenant);
    return { overrides, instance: instanceLimits(ctx.config.ai), effective: effectiveLimits(ctx.config.ai, overrides), canChange, updatedAt: updatedAt?.toISOString() ?? null };
  };
  const providerState = {
    kind: 'ai-provider',
    load: async (_ctx: PerchContext, params: Record<string, string>, tenant: string) => {
      const row = await providers.find(tenant, params.id!);
      return row ? toTenantProviderView(row) : null;
    },
  };
  auditEntityStates({
    [PROVIDER]: providerState,
    [LIMITS]: { kind: 'ai-tenant-limits', id: 'ai-limits', load: async (_ctx, _params, tenant) => (await limits.of(tenant)).overrides },
  }, { [PROVIDERS]: providerState });
  const bodyId = (body: unknown) => (typeof (body as { id?: unknown })?.id === 'string' ? (body as { id: string }).id : null);
  auditPerchRoutes({
    [PROVIDERS]: { resource: 'TENANT_SETTINGS', id: (_params, body) => bodyId(body) },
    [PROVIDER]: { resource: 'TENANT_SETTINGS', id: (params) => params.id ?? null },
    [LIMITS]: { resource: 'TENANT_SETTINGS', id: () => 'ai-limits' },
  });

  app.get(LIMITS, signedIn, async (request): Promise<AiTenantLimitsView> => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'TENANT_SETTINGS', 'VIEW');
    return limitsView(tenant, principal.superAdmin);
  });

  app.put(LIMITS, signedIn, async (request): Promise<AiTenantLimitsView> => {
    const tenant = tenantOf(request);
    if (!principalOf(request).superAdmin) throw new HttpError(403, `Only an instance owner may change tenant ${tenant}'s AI limits (request rate and token budgets)`);
    await limits.set(tenant, parse(aiTenantLimitsSchema, request.body));
    return limitsView(tenant, true);
  });

  app.get(PROVIDERS, signedIn, async (request): Promise<AiTenantProviderView[]> => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'TENANT_SETTINGS', 'VIEW');
    return (await providers.list(tenant)).map(toTenantProviderView);
  });

  app.post(PROVIDERS, signedIn, async (request): Promise<AiTenantProviderView> => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'TENANT_SETTINGS', 'UPDATE');
    const input = parse(aiTenantProviderInputSchema, request.body);
    checkTenantProviderAddress(ctx.config.ai, input.kind, input.baseUrl);
    return toTenantProviderView(await providers.create(tenant, input));
  });

  app.put(PROVIDER, signedIn, async (request): Promise<AiTenantProviderView> => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'TENANT_SETTINGS', 'UPDATE');
    const id = (request.params as { id: string }).id;
    const input = { id, ...parse(aiTenantProviderUpdateSchema, request.body) };
    checkTenantProviderAddress(ctx.config.ai, input.kind, input.baseUrl);
    return toTenantProviderView(await providers.update(tenant, input));
  });

  app.delete(PROVIDER, signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'TENANT_SETTINGS', 'UPDATE');
    await providers.remove(tenant, (request.params as { id: string }).id);
    return reply.code(204).send();
  });

  app.get('/api/v1/:tenant/ai/settings/usage', signedIn, async (request): Promise<AiUsageView> => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'TENANT_SETTINGS', 'VIEW');
    const applied = effectiveLimits(ctx.config.ai, (await limits.of(tenant)).overrides);
    const state = await budgets.state(tenant, principal.userId, budgetLimits(applied));
    const own = await providers.list(tenant);
    return {
      period: state.period,
      current: state.current,
      resetsAt: state.resetsAt.toISOString(),
      tenant: state.tenant,
      person: state.person,
      requestsPerMinute: { perPerson: ctx.config.ai.requestsPerMinute, perTenant: applied.tenantRequestsPerMinute },
      providersFrom: own.length > 0 ? 'tenant' : 'instance',
    };
  });
}
