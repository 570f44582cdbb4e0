import { aiTenantLimitsViewSchema, aiTenantProviderViewSchema, aiUsageViewSchema, type AiTenantLimits, type AiTenantProviderInput } from '../../lib/schemas/ai';
import { getJson, send, tenantApi } from '../app/api';

/** A tenant's own AI providers (keys are sent, never read back), its limits and the token budgets' use. */
const providers = (tenant: string, id?: string) => tenantApi(tenant, `ai/settings/providers${id === undefined ? '' : `/${encodeURIComponent(id)}`}`);

export const aiSettings = {
  list: (tenant: string) => getJson(providers(tenant), aiTenantProviderViewSchema.array(), { cache: 'no-store' }),
  create: (tenant: string, body: Partial<AiTenantProviderInput>) => send('post', providers(tenant), body, aiTenantProviderViewSchema),
  update: (tenant: string, id: string, body: Partial<AiTenantProviderInput>) => send('put', providers(tenant, id), body, aiTenantProviderViewSchema),
  remove: (tenant: string, id: string) => send('delete', providers(tenant, id)),
  limits: (tenant: string) => getJson(tenantApi(tenant, 'ai/settings/limits'), aiTenantLimitsViewSchema, { cache: 'no-store' }),
  /** Instance owners only. */
  setLimits: (tenant: string, body: AiTenantLimits) => send('put', tenantApi(tenant, 'ai/settings/limits'), body, aiTenantLimitsViewSchema),
  usage: (tenant: string) => getJson(tenantApi(tenant, 'ai/settings/usage'), aiUsageViewSchema, { cache: 'no-store' }),
};
