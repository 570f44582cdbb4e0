import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { executionHelpPromptSchema, type ExplanationEvent, type FlowGenerationPrompt, type GenerationEvent } from '../../lib/schemas/ai.js';
import type { KestraAuthorizer } from '../authz/kestra-authorizer.js';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import { requirePermission } from '../iam/access.js';
import type { StoreRateLimit } from '../store/rate-limits.js';
import { readFailedExecution, type FailedExecution } from './failure-context.js';
import { checkSuggestion } from './flow-checks.js';
import { generateChecked, SuggestionRefused } from './generation-loop.js';
import type { AiKestraClient } from './kestra-grounding.js';
import { typesToDocument } from './plugin-selection.js';
import { systemPrompt } from './prompt.js';
import { chat, type ProviderKeys } from './providers.js';
import { auditGeneration, GenerationEvents, providerFor, type GenerationRecord } from './routes.js';
import { SecretRedactions } from './secret-redaction.js';

/*
 * "Explain this failure" and "propose a fix" on a failed execution (issue 24, point 3): Perch's own
 * routes (EE's spec has no AI operation on executions). Both need COPILOT:USE and the person's right
 * to read the execution, its logs and its flow (the proxy's decisions); nothing reaches a provider
 * before those hold. The failure goes to the model bounded and with the tenant's secrets redacted;
 * a fix passes the same check-and-retry loop and flow-save checks as generateFlow.
 */

/** What the AI feature's registration shares with these routes. */
export interface AiServices {
  kestra: AiKestraClient;
  authorizer: KestraAuthorizer;
  keys: ProviderKeys;
  perPerson: StoreRateLimit;
}

const EXPLAIN_SYSTEM = [
  'You help people understand why a Kestra execution failed.',
  'From the flow and the failure below, say in plain words what went wrong, point at the task and the log lines that show it, and what to change.',
  'Be brief (Markdown, a few short paragraphs); do not write the whole flow.',
].join(' ');
const EXPLAIN_ASK = 'Explain why this execution failed.';
const FIX_ASK = 'Propose a fix for this failure: change the flow so that it does not fail this way again; keep its id and namespace.';

const wantsStream = (request: FastifyRequest) => /\btext\/event-stream\b/i.test(request.headers.accept ?? '');

export function registerExecutionHelp(app: FastifyInstance, ctx: PerchContext, ai: AiServices): void {
  const redactions = new SecretRedactions(ctx);

  /**
   * Everything before the provider is asked, for both operations: refusals here keep their HTTP
   * status and are audited; `record` gathers what the audit entry says.
   */
  async function prepare(request: FastifyRequest, reply: FastifyReply, record: GenerationRecord, ask: string) {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'COPILOT', 'USE');
    const body = parse(executionHelpPromptSchema, request.body);
    const { executionId } = request.params as { executionId: string };
    record.extra = { executionId };
    const provider = providerFor(ctx, body.providerId);
    record.provider = provider;
    const principal = principalOf(request);
    const allowed = await ai.perPerson.take(principal.userId);
    if (!allowed.ok) {
      reply.header('retry-after', String(allowed.retryAfterSeconds));
      throw new HttpError(429, `Too many AI requests: at most ${ctx.config.ai.requestsPerMinute} per minute per person`);
    }
    let redaction: Awaited<ReturnType<SecretRedactions['of']>> | undefined;
    const execution = await readFailedExecution(ai.authorizer, ai.kestra, principal, executionId, async () => (redaction = await redactions.of(tenant)));
    const userPrompt = body.userPrompt ? `${ask}\n\n${body.userPrompt}` : ask;
    // The flow and the person's wish in generateFlow's shape: the same prompt, checks and audit fields.
    const asFlowPrompt: FlowGenerationPrompt = { conversationId: body.conversationId, userPrompt, yaml: execution.flowSource, namespace: execution.namespace, providerId: provider.id };
    record.body = asFlowPrompt;
    record.extra = { executionId, logLines: execution.logLines, logLinesLeftOut: execution.logLinesLeftOut, redactions: redaction?.replaced ?? 0 };
    return { tenant, provider, principal, key: await ai.keys.of(provider), execution, asFlowPrompt };
  }

  /** Runs one operation, whole or streamed, with one audit entry whatever the outcome. */
  async function serve<T extends { event: string; data: unknown }>(
    request: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    ask: string,
    answer: { type: string; result: (text: string) => Extract<T, { event: 'result' }>['data'] },
    run: (prepared: Awaited<ReturnType<typeof prepare>>, record: GenerationRecord, events?: GenerationEvents<T>) => Promise<string>,
  ) {
    const record: GenerationRecord = { operation, provider: null, attempts: 0, answerChars: 0 };
    const tenant = tenantOf(request);
    const failed = async (error: unknown) => {
      if (error instanceof SuggestionRefused) record.answerChars = error.answerChars;
      await auditGeneration(ctx, request, tenant, error instanceof HttpError ? error.status : 500, record, error);
    };
    let prepared: Awaited<ReturnType<typeof prepare>>;
    try {
      prepared = await prepare(request, reply, record, ask);
      if (!wantsStream(request)) {
        const text = await run(prepared, record);
        await auditGeneration(ctx, request, tenant, 200, record);
        return reply.type(answer.type).send(text);
      }
    } catch (error) {
      await failed(error);
      throw error;
    }
    const events = new GenerationEvents<T>();
    void reply.type('text/event-stream').header('cache-control', 'no-store').header('x-accel-buffering', 'no').send(events.stream);
    void run(prepared, record, events)
      .then(async (text) => {
        await auditGeneration(ctx, request, tenant, 200, record);
        events.send('result', answer.result(text));
      }, async (error: unknown) => {
        await failed(error).catch((auditError: unknown) => request.log.error({ err: auditError }, 'AI execution help: audit entry not written'));
        events.send('error', { status: error instanceof HttpError ? error.status : 500, message: error instanceof HttpError ? error.message : 'The AI request failed' } as Extract<T, { event: 'error' }>['data']);
      })
      .finally(() => events.stream.end());
    return reply;
  }

  // Explain this failure: the model's text (text/markdown), or streamed as `delta` then `result` events.
  app.post('/api/v1/:tenant/ai/executions/:executionId/explain', signedIn, (request, reply) =>
    serve<ExplanationEvent>(request, reply, 'explainExecution', EXPLAIN_ASK, { type: 'text/markdown; charset=utf-8', result: (text) => ({ text }) }, async (p, record, events) => {
      const system = `${EXPLAIN_SYSTEM}\n\n${flowAndFailure(p.execution)}`;
      record.attempts = 1;
      const text = await chat(p.provider, p.key, system, [{ role: 'user', text: p.asFlowPrompt.userPrompt }], events && ((piece) => events.send('delta', { text: piece })));
      record.answerChars = text.length;
      return text;
    }),
  );

  // Propose a fix: the fixed flow's YAML, checked like generateFlow's (application/yaml), or streamed in generateFlow's events.
  app.post('/api/v1/:tenant/ai/executions/:executionId/fix', signedIn, (request, reply) =>
    serve<GenerationEvent>(request, reply, 'fixExecution', FIX_ASK, { type: 'application/yaml', result: (yaml) => ({ yaml }) }, async (p, record, events) => {
      const pluginTypes = await ai.kestra.pluginTypes();
      const properties = await Promise.all(typesToDocument(p.asFlowPrompt, pluginTypes).map((type) => ai.kestra.pluginProperties(type).catch(() => undefined)));
      const system = `${systemPrompt(p.asFlowPrompt, pluginTypes, properties.filter((x): x is string => x !== undefined))}\n\nThe failure to fix:\n${p.execution.failure}`;
      const generated = await generateChecked({
        system,
        userPrompt: p.asFlowPrompt.userPrompt,
        maxAttempts: ctx.config.ai.maxAttempts,
        ask: (messages) => {
          record.attempts++;
          events?.send('attempt', { attempt: record.attempts });
          return chat(p.provider, p.key, system, messages, events && ((text) => events.send('delta', { text })));
        },
        check: async (yaml) => {
          const problems = await checkSuggestion(ai.authorizer, ai.kestra, { suggestion: yaml, principal: p.principal, current: p.execution.flowSource, namespace: p.execution.namespace });
          if (problems.length > 0) events?.send('problems', { problems });
          return problems;
        },
      });
      Object.assign(record, generated);
      return generated.yaml;
    }),
  );
}

function flowAndFailure(execution: FailedExecution): string {
  return `The flow (current source):\n\`\`\`yaml\n${execution.flowSource}\n\`\`\`\n\nThe failure:\n${execution.failure}`;
}
