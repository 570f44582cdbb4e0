import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { principalOf, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import type { Principal } from '../auth/sessions.js';
import type { AiProviderConfig } from '../../lib/schemas/ai.js';
import { generateChecked, SuggestionRefused } from './generation-loop.js';
import { chat, type ChatMessage, type ProviderKeys } from './providers.js';
import { auditGeneration, GenerationEvents, providerFor, type GenerationRecord } from './routes.js';
import type { StoreRateLimit } from '../store/rate-limits.js';

/**
 * One AI request of the copilot's other operations (a failed execution's explanation or fix, an app,
 * a dashboard), answered whole or, asked with `Accept: text/event-stream`, as server-sent events; one
 * audit entry whatever the outcome. What `prepare` refuses keeps its HTTP status and reaches no
 * provider; after that, a streamed request reports its outcome as an event.
 */
export interface AiRequest<T extends { event: string; data: unknown }, B extends { providerId?: string | null }, P> {
  operation: string;
  /** The request's body, parsed (after COPILOT:USE held). */
  body: (request: FastifyRequest) => B;
  /** The whole answer's content type, and the `result` event's data for the answer. */
  answer: { type: string; result: (text: string) => Extract<T, { event: 'result' }>['data'] };
  /** Checks and reads that must hold before the provider is asked (after COPILOT:USE, the provider and the rate limit). */
  prepare: (body: B, asked: Asked, record: GenerationRecord) => Promise<P>;
  run: (prepared: P, asked: Asked, record: GenerationRecord, events?: GenerationEvents<T>) => Promise<string>;
}

/** What every operation has once the common checks held. */
export interface Asked {
  tenant: string;
  principal: Principal;
  provider: AiProviderConfig;
  /** One turn with the chosen provider (its key read here, never by an operation). */
  chat: (system: string, messages: ChatMessage[], onText?: (text: string) => void) => Promise<string>;
}

export interface AiLimits {
  keys: ProviderKeys;
  perPerson: StoreRateLimit;
}

/**
 * The one place the copilot's other operations are let through: the provider (asked for, else the
 * default), the per-person rate, and the provider's key for its calls. Refusals here keep their status.
 */
async function admit(ctx: PerchContext, limits: AiLimits, request: FastifyRequest, reply: FastifyReply, tenant: string, providerId: string | null | undefined, record: GenerationRecord): Promise<Asked> {
  const provider = providerFor(ctx, providerId);
  record.provider = provider;
  const principal = principalOf(request);
  const allowed = await limits.perPerson.take(principal.userId);
  if (!allowed.ok) {
    reply.header('retry-after', String(allowed.retryAfterSeconds));
    throw new HttpError(429, `Too many AI requests: at most ${ctx.config.ai.requestsPerMinute} per minute per person`);
  }
  const key = await limits.keys.of(provider);
  return { tenant, principal, provider, chat: (system, messages, onText) => chat(provider, key, system, messages, onText) };
}

const wantsStream = (request: FastifyRequest) => /\btext\/event-stream\b/i.test(request.headers.accept ?? '');

export async function serveAiRequest<T extends { event: string; data: unknown }, B extends { providerId?: string | null }, P>(
  ctx: PerchContext,
  limits: AiLimits,
  request: FastifyRequest,
  reply: FastifyReply,
  op: AiRequest<T, B, P>,
): Promise<FastifyReply> {
  const record: GenerationRecord = { operation: op.operation, provider: null, attempts: 0, answerChars: 0 };
  const tenant = tenantOf(request);
  const failed = async (error: unknown) => {
    if (error instanceof SuggestionRefused) record.answerChars = error.answerChars;
    await auditGeneration(ctx, request, tenant, error instanceof HttpError ? error.status : 500, record, error);
  };
  let asked: Asked;
  let prepared: P;
  try {
    requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
    const body = op.body(request);
    asked = await admit(ctx, limits, request, reply, tenant, body.providerId, record);
    prepared = await op.prepare(body, asked, record);
    if (!wantsStream(request)) {
      const text = await op.run(prepared, asked, record);
      await auditGeneration(ctx, request, tenant, 200, record);
      return reply.type(op.answer.type).send(text);
    }
  } catch (error) {
    await failed(error);
    throw error;
  }
  const events = new GenerationEvents<T>();
  void reply.type('text/event-stream').header('cache-control', 'no-store').header('x-accel-buffering', 'no').send(events.stream);
  void op
    .run(prepared, asked, record, events)
    .then(async (text) => {
      await auditGeneration(ctx, request, tenant, 200, record);
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
 * to the model (and, streamed, to the browser) until one passes or `ai.maxAttempts` is reached.
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
  return generated.yaml;
}
