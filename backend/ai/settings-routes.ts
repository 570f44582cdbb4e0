import type { FastifyInstance } from 'fastify';
import { aiTenantProviderInputSchema, aiTenantProviderUpdateSchema, type AiTenantProviderView, type AiUsageView } from '../../lib/schemas/ai.js';
import { auditEntityStates } from '../audit/entity-states.js';
import { auditPerchRoutes } from '../audit/http-hook.js';
import type { PerchContext } from '../context.js';
import { parse, signedIn, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import { checkTenantProviderAddress, toTenantProviderView, type TenantProviderStore } from './tenant-providers.js';
import type { TokenBudgets } from './token-budgets.js';

/*
 * Perch's own AI settings of a tenant (issue 24, points 1 and 4; EE configures providers in its
 * configuration file only, and has no API for them): its providers, with write-only keys, for those
 * holding TENANT_SETTINGS (VIEW to read, UPDATE to change; instance owners always), and the token
 * budgets' use. Changes are audited (TENANT_SETTINGS, the provider's id, its state before and after:
 * never the key, which the audit log redacts from the request too).
 */

const PROVIDERS = '/api/v1/:tenant/ai/settings/providers';
const PROVIDER = '/api/v1/:tenant/ai/settings/providers/:id';

export function registerAiSettings(app: FastifyInstance, ctx: PerchContext, providers: TenantProviderStore, budgets: TokenBudgets): void {
  const providerState = {
    kind: 'ai-provider',
    load: async (_ctx: PerchContext, params: Record<string, string>, tenant: string) => {
      const row = await providers.find(tenant, params.id!);
      return row ? toTenantProviderView(row) : null;
    },
  };
  auditEntityStates({ [PROVIDER]: providerState }, { [PROVIDERS]: providerState });
  const bodyId = (body: unknown) => (typeof (body as { id?: unknown })?.id === 'string' ? (body as { id: string }).id : null);
  auditPerchRoutes({
    [PROVIDERS]: { resource: 'TENANT_SETTINGS', id: (_params, body) => bodyId(body) },
    [PROVIDER]: { resource: 'TENANT_SETTINGS', id: (params) => params.id ?? null },
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
    const state = await budgets.state(tenant, principal.userId);
    const own = await providers.list(tenant);
    return {
      period: state.period,
      current: state.current,
      resetsAt: state.resetsAt.toISOString(),
      tenant: state.tenant,
      person: state.person,
      requestsPerMinute: { perPerson: ctx.config.ai.requestsPerMinute, perTenant: ctx.config.ai.tenantRequestsPerMinute ?? null },
      providersFrom: own.length > 0 ? 'tenant' : 'instance',
    };
  });
}
