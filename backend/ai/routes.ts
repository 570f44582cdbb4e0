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
import { registerExecutionHelp } from './execution-help.js';
import { registerOtherGenerations } from './other-generations.js';

/*
 * The AI copilot's API (issue 24), EE's AiController operations getProviders and generateFlow;
 * generateApp, generateDashboard, generateTestSuite (other-generations.ts) and the failed execution's
 * explanation and fix (execution-help.ts) are registered from here. COPILOT:USE is tenant-wide (behaviour spec §2.4).
 */

/** The provider asked for, or the default one (else the first): 503 when none is configured, 404 for an unknown id. */
export function providerFor(ctx: PerchContext, providerId: string | null | undefined): AiProviderConfig {
  const providers = ctx.config.ai.providers;
  if (providers.length === 0) throw new HttpError(503, 'No AI provider is configured in Perch (ai.providers): the copilot is off');
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
  // Counted in the store: replicas share one budget per person.
  const perPerson = new StoreRateLimit(ctx.db, 'ai-generate', ctx.config.ai.requestsPerMinute);
  app.addHook('onClose', async () => {
    await kestra.close();
    await executions.close();
  });
  registerExecutionHelp(app, ctx, { kestra, authorizer, keys, perPerson });
  registerOtherGenerations(app, ctx, { keys, perPerson });

  // getProviders
  app.get('/api/v1/:tenant/ai/providers', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
    const providers = ctx.config.ai.providers;
    const hasDefault = providers.some((p) => p.isDefault);
    return providers.map((p, i) => toProviderResponse(p, !hasDefault && i === 0));
  });

  // generateFlow: the answer is the flow's YAML (application/yaml), checked before it is sent. Asked with
  // `Accept: text/event-stream`, the same operation streams instead: the model's text as it comes, then
  // the checked YAML (see docs/ai.md, "Streaming").
  app.post('/api/v1/:tenant/ai/generate/flow', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const streaming = /\btext\/event-stream\b/i.test(request.headers.accept ?? '');
    const record: GenerationRecord = { provider: null, attempts: 0, answerChars: 0 };
    const failed = async (error: unknown) => {
      if (error instanceof SuggestionRefused) record.answerChars = error.answerChars;
      await auditGeneration(ctx, request, tenant, error instanceof HttpError ? error.status : 500, record, error);
    };
    let run: (events?: GenerationEvents) => Promise<string>;
    try {
      requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
      const body = parse(flowGenerationPromptSchema, request.body);
      record.body = body;
      const provider = providerFor(ctx, body.providerId);
      record.provider = provider;
      const principal = principalOf(request);
      const allowed = await perPerson.take(principal.userId);
      if (!allowed.ok) {
        reply.header('retry-after', String(allowed.retryAfterSeconds));
        throw new HttpError(429, `Too many AI requests: at most ${ctx.config.ai.requestsPerMinute} per minute per person`);
      }
      const key = await keys.of(provider);
      const pluginTypes = await kestra.pluginTypes();
      // A type Kestra cannot document is left out of the prompt: grounding, not a check.
      const properties = await Promise.all(typesToDocument(body, pluginTypes).map((type) => kestra.pluginProperties(type).catch(() => undefined)));
      const system = systemPrompt(body, pluginTypes, properties.filter((p): p is string => p !== undefined));
      run = async (events) => {
        const generated = await generateChecked({
          system,
          userPrompt: body.userPrompt,
          maxAttempts: ctx.config.ai.maxAttempts,
          ask: (messages) => {
            record.attempts++;
            events?.send('attempt', { attempt: record.attempts });
            return chat(provider, key, system, messages, events && ((text) => events.send('delta', { text })));
          },
          check: async (yaml) => {
            const problems = await checkSuggestion(authorizer, kestra, { suggestion: yaml, principal, current: body.yaml, namespace: body.namespace });
            if (problems.length > 0) events?.send('problems', { problems });
            return problems;
          },
        });
        Object.assign(record, generated);
        await auditGeneration(ctx, request, tenant, 200, record);
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

/** The server-sent events of a streamed generation: `attempt`, `delta`, `problems`, then `result` or `error` (or another stream's events, `T`). */
export class GenerationEvents<T extends { event: string; data: unknown } = GenerationEvent> {
  readonly stream = new PassThrough();

  send<E extends T['event']>(event: E, data: Extract<T, { event: E }>['data']): void {
    if (!this.stream.writableEnded) this.stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}

export interface GenerationRecord {
  /** The operation audited (default generateFlow). */
  operation?: string;
  /** More audit details of that operation. */
  extra?: Record<string, unknown>;
  provider: AiProviderConfig | null;
  body?: FlowGenerationPrompt;
  attempts: number;
  answerChars: number;
  yaml?: string;
}

/**
 * One audit entry per generation request, whatever its outcome: provider, model, sizes, attempts.
 * The prompt's text only when `ai.auditPrompts` is on; never a key.
 */
export async function auditGeneration(ctx: PerchContext, request: FastifyRequest, tenant: string, status: number, record: GenerationRecord, error?: unknown): Promise<void> {
  const { body, provider } = record;
  const entry: AuditEntry = {
    tenantId: chainOf(tenant).tenantId,
    actor: actorOf(request),
    action: 'EXECUTE',
    resourceType: 'COPILOT',
    resourceId: record.operation ?? 'generateFlow',
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
      ...record.extra,
      ...(error instanceof HttpError ? { reason: error.message } : {}),
      ...(ctx.config.ai.auditPrompts && body ? { prompt: body.userPrompt } : {}),
    },
  };
  await ctx.audit.record(entry);
}
