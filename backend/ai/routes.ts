import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { flowGenerationPromptSchema, type AiProviderConfig, type GenerationEvent, type AiProviderResponse, type FlowGenerationPrompt } from '../../lib/schemas/ai.js';
import { StoreRateLimit } from '../store/rate-limits.js';
import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, chainOf, outcomeOf, requestFields } from '../audit/entry-fields.js';
import { ExecutionNamespaceLookup } from '../authz/execution-lookup.js';
import { KestraAuthorizer } from '../authz/kestra-authorizer.js';
import { boundByTenantRoots, namespaceTenantRoots } from '../authz/tenant-roots-bound.js';
import { KestraHosts } from '../authz/kestra-hosts.js';
import type { PerchContext } from '../context.js';
import { HttpError, notFound } from '../http/errors.js';
import { parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import { kestraTarget } from '../proxy/kestra-target.js';
import { checkSuggestion } from './flow-checks.js';
import { generateChecked, SuggestionRefused } from './generation-loop.js';
import { AiKestraClient } from './kestra-grounding.js';
import { typesToDocument } from './plugin-selection.js';
import { systemPrompt } from './prompt.js';
import { chat, ProviderKeys } from './providers.js';
import { registerAiSettings } from './settings-routes.js';
import { checkTenantProviderAddress, TenantProviderStore, type TenantProviders } from './tenant-providers.js';
import { TokenBudgets, type BudgetState } from './token-budgets.js';

/*
 * The AI copilot's API (issue 24), EE's AiController operations getProviders and generateFlow.
 * generateApp, generateDashboard and generateTestSuite are not served here: they reach the proxy,
 * which answers its generated 501 naming them. COPILOT:USE is tenant-wide (behaviour spec §2.4).
 */

/**
 * The provider asked for among the tenant's (its own, else the instance's), or the default one (else
 * the first): 503 when none is configured, 404 for an unknown id.
 */
function providerFor({ providers }: TenantProviders, providerId: string | null | undefined): AiProviderConfig {
  if (providers.length === 0) throw new HttpError(503, 'No AI provider is configured in Perch (ai.providers) nor for this tenant: the copilot is off');
  if (providerId) {
    const chosen = providers.find((p) => p.id === providerId);
    if (!chosen) throw notFound(`AI provider ${providerId} not found`);
    return chosen;
  }
  return providers.find((p) => p.isDefault) ?? providers[0]!;
}

const toProviderResponse = (p: AiProviderConfig, fallbackDefault: boolean): AiProviderResponse => ({ id: p.id, displayName: p.displayName ?? p.id, isDefault: p.isDefault || fallbackDefault });

export function registerAi(app: FastifyInstance, ctx: PerchContext): void {
  const kestra = new AiKestraClient(ctx);
  const target = kestraTarget(ctx.config.kestra);
  // The proxy's own decision for a flow save; flow saves never look an execution up, but the authorizer takes a lookup.
  const executions = new ExecutionNamespaceLookup(target.url, target.authorization, target.timeout);
  const authorizer = new KestraAuthorizer(boundByTenantRoots(ctx.authz, namespaceTenantRoots(ctx.tenants)), executions, KestraHosts.of([target.url, ...ctx.config.kestra.internalHosts]), ctx.secretKeys, ctx.workerGroups);
  const keys = new ProviderKeys();
  const tenantProviders = new TenantProviderStore(ctx.db, ctx.envelope);
  // Counted in the store: replicas share one rate per person, one per tenant, and the token budgets.
  const perPerson = new StoreRateLimit(ctx.db, 'ai-generate', ctx.config.ai.requestsPerMinute);
  const tenantRate = ctx.config.ai.tenantRequestsPerMinute;
  const perTenant = tenantRate === undefined ? null : new StoreRateLimit(ctx.db, 'ai-tenant', tenantRate);
  const budgets = new TokenBudgets(ctx.db, ctx.config.ai.tokenBudget);
  registerAiSettings(app, ctx, tenantProviders, budgets);
  app.addHook('onClose', async () => {
    await kestra.close();
    await executions.close();
  });

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
  app.post('/api/v1/:tenant/ai/generate/flow', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const streaming = /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
    const record: GenerationRecord = { provider: null, attempts: 0, answerChars: 0, inputTokens: 0, outputTokens: 0 };
    // Whatever the outcome: the tokens the provider reported go to the budgets, then the audit entry.
    const finish = async (status: number, error?: unknown) => {
      const used = record.inputTokens + record.outputTokens;
      if (record.provider && used > 0) await budgets.add(tenant, principalOf(request).userId, used);
      await auditGeneration(ctx, request, tenant, status, record, error);
    };
    // The person went away before the answer was sent: the provider's call is ended.
    const abandoned = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abandoned.abort();
    });
    const failed = async (error: unknown) => {
      if (error instanceof SuggestionRefused) record.answerChars = error.answerChars;
      await finish(error instanceof HttpError ? error.status : 500, error);
    };
    let run: (events?: GenerationEvents) => Promise<string>;
    try {
      requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
      const body = parse(flowGenerationPromptSchema, request.body);
      record.body = body;
      const available = await tenantProviders.providersOf(tenant, ctx.config.ai.providers);
      const provider = providerFor(available, body.providerId);
      record.provider = provider;
      record.providerFrom = available.from;
      // An address the instance has stopped allowing since the tenant's provider was saved is not called.
      if (available.from === 'tenant') checkTenantProviderAddress(ctx.config.ai, provider.kind, provider.baseUrl);
      const principal = principalOf(request);
      const allowed = await perPerson.take(principal.userId);
      if (!allowed.ok) {
        reply.header('retry-after', String(allowed.retryAfterSeconds));
        throw new HttpError(429, `Too many AI requests: at most ${ctx.config.ai.requestsPerMinute} per minute per person`);
      }
      const tenantAllowed = perTenant ? await perTenant.take(tenant) : { ok: true as const };
      if (!tenantAllowed.ok) {
        reply.header('retry-after', String(tenantAllowed.retryAfterSeconds));
        throw new HttpError(429, `Too many AI requests in tenant ${tenant}: at most ${tenantRate} per minute for the whole tenant`);
      }
      try {
        record.budget = await budgets.check(tenant, principal.userId);
      } catch (error) {
        if (error instanceof HttpError) reply.header('retry-after', String(error.details?.retryAfterSeconds));
        throw error;
      }
      // A tenant's own provider comes with its key opened; the instance's are read from the configuration.
      const key = available.from === 'tenant' ? provider.apiKey : await keys.of(provider);
      const pluginTypes = await kestra.pluginTypes();
      // A type Kestra cannot document is left out of the prompt: grounding, not a check.
      const properties = await Promise.all(typesToDocument(body, pluginTypes).map((type) => kestra.pluginProperties(type).catch(() => undefined)));
      const system = systemPrompt(body, pluginTypes, properties.filter((p): p is string => p !== undefined));
      run = async (events) => {
        const generated = await generateChecked({
          system,
          userPrompt: body.userPrompt,
          maxAttempts: ctx.config.ai.maxAttempts,
          ask: async (messages) => {
            record.attempts++;
            events?.send('attempt', { attempt: record.attempts });
            const answer = await chat(provider, key, system, messages, { onText: events && ((text) => events.send('delta', { text })), signal: abandoned.signal });
            record.inputTokens += answer.usage.inputTokens ?? 0;
            record.outputTokens += answer.usage.outputTokens ?? 0;
            return answer.text;
          },
          check: async (yaml) => {
            const problems = await checkSuggestion(authorizer, kestra, { suggestion: yaml, principal, current: body.yaml, namespace: body.namespace });
            if (problems.length > 0) events?.send('problems', { problems });
            return problems;
          },
        });
        Object.assign(record, generated);
        await finish(200);
        return generated.yaml;
      };
      if (!streaming) return reply.type('application/yaml').send(await run());
    } catch (error) {
      await failed(error);
      throw error;
    }
    // Streaming: refusals above still answer with their status; from here on, the outcome is an event.
    const events = new GenerationEvents();
    void reply.type('text/event-stream').header('cache-control', 'no-store').header('x-accel-buffering', 'no').send(events.stream);
    void run(events)
      .then((yaml) => events.send('result', { yaml }), async (error: unknown) => {
        await failed(error).catch((auditError: unknown) => request.log.error({ err: auditError }, 'AI generation: audit entry not written'));
        const status = error instanceof HttpError ? error.status : 500;
        events.send('error', { status, message: error instanceof HttpError ? error.message : 'The generation failed' });
      })
      .finally(() => events.stream.end());
    return reply;
  });
}

/** The server-sent events of a streamed generation: `attempt`, `delta`, `problems`, then `result` or `error`. */
class GenerationEvents {
  readonly stream = new PassThrough();

  send<E extends GenerationEvent['event']>(event: E, data: Extract<GenerationEvent, { event: E }>['data']): void {
    if (!this.stream.writableEnded) this.stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

interface GenerationRecord {
  provider: AiProviderConfig | null;
  providerFrom?: TenantProviders['from'];
  /** The budgets as they stood when the request was let through. */
  budget?: BudgetState;
  body?: FlowGenerationPrompt;
  attempts: number;
  answerChars: number;
  /** Tokens over all attempts, as the providers counted them. */
  inputTokens: number;
  outputTokens: number;
  yaml?: string;
}

/**
 * One audit entry per generation request, whatever its outcome: provider, model, sizes, attempts.
 * The prompt's text only when `ai.auditPrompts` is on; never a key.
 */
async function auditGeneration(ctx: PerchContext, request: FastifyRequest, tenant: string, status: number, record: GenerationRecord, error?: unknown): Promise<void> {
  const { body, provider } = record;
  const entry: AuditEntry = {
    tenantId: chainOf(tenant).tenantId,
    actor: actorOf(request),
    action: 'EXECUTE',
    resourceType: 'COPILOT',
    resourceId: 'generateFlow',
    namespace: body?.namespace ?? null,
    ...requestFields(request),
    outcome: outcomeOf(status),
    details: {
      method: request.method,
      path: request.canonical?.path ?? request.url.split('?')[0],
      permission: 'COPILOT:USE',
      status,
      providerId: provider?.id ?? null,
      providerKind: provider?.kind ?? null,
      model: provider?.model ?? null,
      conversationId: body?.conversationId ?? null,
      promptChars: body?.userPrompt.length ?? null,
      currentFlowChars: body?.yaml?.length ?? 0,
      answerChars: record.answerChars,
      suggestionChars: record.yaml?.length ?? null,
      attempts: record.attempts,
      ...(record.providerFrom ? { providerFrom: record.providerFrom } : {}),
      ...(record.budget ? { budget: { period: record.budget.current, tenantUsed: record.budget.tenant.used, tenantLimit: record.budget.tenant.limit, personUsed: record.budget.person.used, personLimit: record.budget.person.limit } } : {}),
      // Tokens the provider counted, over all attempts (not named *token*: the audit log redacts such keys).
      usage: { input: record.inputTokens, output: record.outputTokens },
      ...(error instanceof HttpError ? { reason: error.message } : {}),
      ...(ctx.config.ai.auditPrompts && body ? { prompt: body.userPrompt } : {}),
    },
  };
  await ctx.audit.record(entry);
}
