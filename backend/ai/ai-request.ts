import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AiProviderConfig, FlowGenerationPrompt, GenerationEvent } from '../../lib/schemas/ai.js';
import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, chainOf, outcomeOf, requestFields } from '../audit/entry-fields.js';
import type { PerchContext } from '../context.js';
import { HttpError, notFound } from '../http/errors.js';
import { principalOf, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import type { Principal } from '../auth/sessions.js';
import type { StoreRateLimit } from '../store/rate-limits.js';
import type { Conversation, ConversationMemory } from './conversation-memory.js';
import { generateChecked, SuggestionRefused } from './generation-loop.js';
import { chat, type ChatMessage, type ProviderKeys } from './providers.js';
import { checkTenantProviderAddress, type TenantProviders, type TenantProviderStore } from './tenant-providers.js';
import { budgetLimits, effectiveLimits, type TenantLimitStore } from './tenant-limits.js';
import type { BudgetState, TokenBudgets } from './token-budgets.js';

/*
 * One AI request of the copilot (generateFlow, a failed execution's explanation or fix, an app, a
 * dashboard): let through in one place (AiAdmission: provider, rates, token budgets, key), answered
 * whole or, asked with `Accept: text/event-stream`, as server-sent events; one audit entry and the
 * tokens counted into the budgets whatever the outcome. What is refused before the provider is asked
 * keeps its HTTP status; after that, a streamed request reports its outcome as an event.
 */

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
  providerFrom?: TenantProviders['from'];
  /** The budgets as they stood when the request was let through. */
  budget?: BudgetState;
  body?: FlowGenerationPrompt;
  attempts: number;
  answerChars: number;
  /** Earlier turns of the conversation sent with this request (their count, never their text). */
  earlierTurns?: number;
  /** Tokens over all attempts, as the providers counted them. */
  inputTokens: number;
  outputTokens: number;
  yaml?: string;
}

/**
 * One audit entry per AI request, whatever its outcome: provider, model, sizes, attempts, tokens.
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
      ...(record.earlierTurns ? { earlierTurns: record.earlierTurns } : {}),
      ...(record.providerFrom ? { providerFrom: record.providerFrom } : {}),
      ...(record.budget ? { budget: { period: record.budget.current, tenantUsed: record.budget.tenant.used, tenantLimit: record.budget.tenant.limit, personUsed: record.budget.person.used, personLimit: record.budget.person.limit } } : {}),
      // Tokens the provider counted, over all attempts (not named *token*: the audit log redacts such keys).
      usage: { input: record.inputTokens, output: record.outputTokens },
      ...record.extra,
      ...(error instanceof HttpError ? { reason: error.message } : {}),
      ...(ctx.config.ai.auditPrompts && body ? { prompt: body.userPrompt } : {}),
    },
  };
  await ctx.audit.record(entry);
}

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

/** What every operation has once the common checks held. */
export interface Asked {
  tenant: string;
  /** The person, in `tenant`: the proxy's decisions for them there. */
  principal: Principal;
  provider: AiProviderConfig;
  /** One turn with the chosen provider (its key read here, never by an operation); its tokens go to the record. */
  chat: (system: string, messages: ChatMessage[], onText?: (text: string) => void) => Promise<string>;
  /** The person's conversation (this operation, this `conversationId`): its earlier turns, and how to add this one. */
  conversation: Conversation;
}

export interface AdmissionParts {
  keys: ProviderKeys;
  tenantProviders: TenantProviderStore;
  perPerson: StoreRateLimit;
  /** Counted with the tenant's own limit: its override, else `ai.tenantRequestsPerMinute` (none: not counted). */
  perTenant: StoreRateLimit;
  budgets: TokenBudgets;
  /** An instance owner's overrides of each tenant's rate and budgets (kept in memory). */
  limits: TenantLimitStore;
  /** The last turns of each person's conversations (in memory). */
  memory: ConversationMemory;
}

/** The one place every AI request is let through, and its tokens counted. Refusals keep their status. */
export class AiAdmission {
  constructor(
    private readonly ctx: PerchContext,
    private readonly parts: AdmissionParts,
  ) {}

  /** The provider (asked for, else the default), the person's and the tenant's rates, the budgets, the provider's key. */
  async admit(request: FastifyRequest, reply: FastifyReply, tenant: string, body: AskedFor, record: GenerationRecord, signal: AbortSignal): Promise<Asked> {
    const { providerId } = body;
    const { ai } = this.ctx.config;
    const available = await this.parts.tenantProviders.providersOf(tenant, ai.providers);
    const provider = providerFor(available, providerId);
    record.provider = provider;
    record.providerFrom = available.from;
    // An address the instance has stopped allowing since the tenant's provider was saved is not called.
    if (available.from === 'tenant') checkTenantProviderAddress(ai, provider.kind, provider.baseUrl);
    const principal = principalOf(request);
    const allowed = await this.parts.perPerson.take(principal.userId);
    if (!allowed.ok) {
      reply.header('retry-after', String(allowed.retryAfterSeconds));
      throw new HttpError(429, `Too many AI requests: at most ${ai.requestsPerMinute} per minute per person`);
    }
    const limits = effectiveLimits(ai, (await this.parts.limits.of(tenant)).overrides);
    const perTenant = limits.tenantRequestsPerMinute;
    const tenantAllowed = perTenant === null ? { ok: true as const } : await this.parts.perTenant.take(tenant, perTenant);
    if (!tenantAllowed.ok) {
      reply.header('retry-after', String(tenantAllowed.retryAfterSeconds));
      throw new HttpError(429, `Too many AI requests in tenant ${tenant}: at most ${perTenant} per minute for the whole tenant`);
    }
    try {
      record.budget = await this.parts.budgets.check(tenant, principal.userId, budgetLimits(limits));
    } catch (error) {
      if (error instanceof HttpError) reply.header('retry-after', String(error.details?.retryAfterSeconds));
      throw error;
    }
    // A tenant's own provider comes with its key opened; the instance's are read from the configuration.
    const key = available.from === 'tenant' ? provider.apiKey : await this.parts.keys.of(provider);
    const conversation = this.parts.memory.of({ tenant, personId: principal.userId, operation: record.operation ?? 'generateFlow', conversationId: body.conversationId ?? '' });
    record.earlierTurns = conversation.earlier.length / 2;
    return {
      tenant,
      // Decided in the tenant asked, as the proxy decides a call routed to it.
      principal: { ...principal, tenantId: tenant },
      provider,
      conversation,
      chat: async (system, messages, onText) => {
        const answer = await chat(provider, key, system, messages, { onText, signal });
        record.inputTokens += answer.usage.inputTokens ?? 0;
        record.outputTokens += answer.usage.outputTokens ?? 0;
        return answer.text;
      },
    };
  }

  /** The tokens the provider reported go to the budgets. */
  async settle(tenant: string, personId: string, record: GenerationRecord): Promise<void> {
    const used = record.inputTokens + record.outputTokens;
    if (record.provider && used > 0) await this.parts.budgets.add(tenant, personId, used);
  }
}

/** What every operation's body names: the provider, and the conversation it continues. */
export interface AskedFor {
  providerId?: string | null;
  conversationId?: string | null;
}

/** One AI operation, as served by {@link serveAiRequest}. */
export interface AiRequest<T extends { event: string; data: unknown }, B extends AskedFor, P> {
  operation: string;
  /** The request's body, parsed (after COPILOT:USE held). */
  body: (request: FastifyRequest, record: GenerationRecord) => B;
  /** The whole answer's content type, and the `result` event's data for the answer. */
  answer: { type: string; result: (text: string) => Extract<T, { event: 'result' }>['data'] };
  /** Checks and reads that must hold before the provider is asked (after COPILOT:USE, the provider, the rates and budgets). */
  prepare: (body: B, asked: Asked, record: GenerationRecord) => Promise<P>;
  run: (prepared: P, asked: Asked, record: GenerationRecord, events?: GenerationEvents<T>) => Promise<string>;
}

const wantsStream = (request: FastifyRequest) => /\btext\/event-stream\b/i.test(request.headers.accept ?? '');

export async function serveAiRequest<T extends { event: string; data: unknown }, B extends AskedFor, P>(
  ctx: PerchContext,
  admission: AiAdmission,
  request: FastifyRequest,
  reply: FastifyReply,
  op: AiRequest<T, B, P>,
): Promise<FastifyReply> {
  const record: GenerationRecord = { operation: op.operation, provider: null, attempts: 0, answerChars: 0, inputTokens: 0, outputTokens: 0 };
  const tenant = tenantOf(request);
  // Whatever the outcome: the tokens the provider reported go to the budgets, then the audit entry.
  const finish = async (status: number, error?: unknown) => {
    await admission.settle(tenant, principalOf(request).userId, record);
    await auditGeneration(ctx, request, tenant, status, record, error);
  };
  const failed = async (error: unknown) => {
    if (error instanceof SuggestionRefused) record.answerChars = error.answerChars;
    await finish(error instanceof HttpError ? error.status : 500, error);
  };
  // The person went away before the answer was sent: the provider's call is ended.
  const abandoned = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) abandoned.abort();
  });
  let asked: Asked;
  let prepared: P;
  try {
    requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
    const body = op.body(request, record);
    asked = await admission.admit(request, reply, tenant, body, record, abandoned.signal);
    prepared = await op.prepare(body, asked, record);
    if (!wantsStream(request)) {
      const text = await op.run(prepared, asked, record);
      await finish(200);
      return reply.type(op.answer.type).send(text);
    }
  } catch (error) {
    await failed(error);
    throw error;
  }
  // Streaming: refusals above still answer with their status; from here on, the outcome is an event.
  const events = new GenerationEvents<T>();
  void reply.type('text/event-stream').header('cache-control', 'no-store').header('x-accel-buffering', 'no').send(events.stream);
  void op
    .run(prepared, asked, record, events)
    .then(async (text) => {
      await finish(200);
      events.send('result', op.answer.result(text));
    }, async (error: unknown) => {
      await failed(error).catch((auditError: unknown) => request.log.error({ err: auditError }, `AI ${op.operation}: audit entry not written`));
      events.send('error', { status: error instanceof HttpError ? error.status : 500, message: error instanceof HttpError ? error.message : 'The AI request failed' } as Extract<T, { event: 'error' }>['data']);
    })
    .finally(() => events.stream.end());
  return reply;
}

/**
 * generateFlow's check-and-retry loop for one request: each answer is checked, the problems go back
 * to the model (and, streamed, to the browser) until one passes or `ai.maxAttempts` is reached. The
 * conversation's earlier turns come first; the prompt and the checked answer become its next turn.
 */
export async function generateCheckedSource(
  ctx: PerchContext,
  asked: Asked,
  record: GenerationRecord,
  events: GenerationEvents | undefined,
  prompt: { system: string; userPrompt: string },
  check: (yaml: string) => Promise<string[]>,
): Promise<string> {
  const generated = await generateChecked({
    ...prompt,
    earlier: asked.conversation.earlier,
    maxAttempts: ctx.config.ai.maxAttempts,
    ask: (messages) => {
      record.attempts++;
      events?.send('attempt', { attempt: record.attempts });
      return asked.chat(prompt.system, messages, events && ((text) => events.send('delta', { text })));
    },
    check: async (yaml) => {
      const problems = await check(yaml);
      if (problems.length > 0) events?.send('problems', { problems });
      return problems;
    },
  });
  Object.assign(record, generated);
  asked.conversation.remember(prompt.userPrompt, `\`\`\`yaml\n${generated.yaml}\`\`\``);
  return generated.yaml;
}
