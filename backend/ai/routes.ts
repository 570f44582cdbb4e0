import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { flowGenerationPromptSchema, type AiProviderConfig, type GenerationEvent, type AiProviderResponse, type FlowGenerationPrompt } from '../../lib/schemas/ai.js';
import { StoreRateLimit } from '../store/rate-limits.js';
import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, chainOf, outcomeOf, requestFields } from '../audit/entry-fields.js';
import type { PerchContext } from '../context.js';
import { HttpError, notFound } from '../http/errors.js';
import { parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import { checkSuggestion } from './flow-checks.js';
import { generateChecked, SuggestionRefused } from './generation-loop.js';
import { copilotKestra, groundedSystemPrompt, type CopilotKestra } from './kestra-grounding.js';
import type { KestraAccess } from '../proxy/kestra-proxy.js';
import { chat, ProviderKeys } from './providers.js';
import { AiAdmission, generateCheckedSource, serveAiRequest } from './ai-request.js';
import { ConversationMemory } from './conversation-memory.js';
import { registerExecutionHelp } from './execution-help.js';
import { registerOtherGenerations } from './other-generations.js';
import { registerAiSettings } from './settings-routes.js';
import { TenantLimitStore } from './tenant-limits.js';
import { TenantProviderStore } from './tenant-providers.js';
import { TokenBudgets } from './token-budgets.js';

/*
 * The AI copilot's API (issue 24), EE's AiController operations getProviders and generateFlow;
 * generateApp, generateDashboard, generateTestSuite (other-generations.ts) and the failed execution's
 * explanation and fix (execution-help.ts) are registered from here. COPILOT:USE is tenant-wide (behaviour spec §2.4).
 */

const toProviderResponse = (p: AiProviderConfig, fallbackDefault: boolean): AiProviderResponse => ({ id: p.id, displayName: p.displayName ?? p.id, isDefault: p.isDefault || fallbackDefault });

export function registerAi(app: FastifyInstance, ctx: PerchContext, proxyKestraOf: (tenantId: string) => KestraAccess): void {
  const kestraOf = copilotKestra(proxyKestraOf);
  const tenantProviders = new TenantProviderStore(ctx.db, ctx.envelope);
  const budgets = new TokenBudgets(ctx.db, ctx.config.ai.tokenBudget);
  const limits = new TenantLimitStore(ctx.db);
  // Every AI operation is let through here: provider, rates (counted in the store: replicas share them), budgets, key.
  const admission = new AiAdmission(ctx, {
    keys: new ProviderKeys(),
    tenantProviders,
    perPerson: new StoreRateLimit(ctx.db, 'ai-generate', ctx.config.ai.requestsPerMinute),
    // Each take names the tenant's own limit (its override, else ai.tenantRequestsPerMinute).
    perTenant: new StoreRateLimit(ctx.db, 'ai-tenant', ctx.config.ai.tenantRequestsPerMinute ?? 1),
    budgets,
    limits,
    memory: new ConversationMemory(),
  });
  registerAiSettings(app, ctx, { providers: tenantProviders, budgets, limits });
  registerExecutionHelp(app, ctx, { kestraOf, admission });
  registerOtherGenerations(app, ctx, admission);

  // getProviders
  app.get('/api/v1/:tenant/ai/providers', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
    const { providers } = await tenantProviders.providersOf(tenant, ctx.config.ai.providers);
    const hasDefault = providers.some((p) => p.isDefault);
    return providers.map((p, i) => toProviderResponse(p, !hasDefault && i === 0));
  });

  // generateFlow: the answer is the flow's YAML (application/yaml), checked before it is sent. Asked with
  // `Accept: text/event-stream`, the same operation streams instead: the model's text as it comes, then
  // the checked YAML (see docs/ai.md, "Streaming").
  app.post('/api/v1/:tenant/ai/generate/flow', signedIn, (request, reply) =>
    serveAiRequest<GenerationEvent, FlowGenerationPrompt, CopilotKestra & { system: string }>(ctx, admission, request, reply, {
      operation: 'generateFlow',
      body: (req, record) => (record.body = parse(flowGenerationPromptSchema, req.body)),
      answer: { type: 'application/yaml', result: (yaml) => ({ yaml }) },
      prepare: async (body, asked) => {
        const { kestra, authorizer } = kestraOf(asked.tenant);
        return { system: await groundedSystemPrompt(kestra, body), kestra, authorizer };
      },
      run: (prepared, asked, record, events) =>
        generateCheckedSource(ctx, asked, record, events, { system: prepared.system, userPrompt: record.body!.userPrompt }, (yaml) =>
          checkSuggestion(prepared.authorizer, prepared.kestra, { suggestion: yaml, principal: asked.principal, current: record.body!.yaml, namespace: record.body!.namespace }),
        ),
    }),
  );
}
