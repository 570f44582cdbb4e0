import type { FastifyInstance } from 'fastify';
import { executionHelpPromptSchema, type ExecutionHelpPrompt, type ExplanationEvent, type FlowGenerationPrompt, type GenerationEvent } from '../../lib/schemas/ai.js';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { parse, signedIn } from '../http/request.js';
import { generateCheckedSource, serveAiRequest, type AiAdmission, type Asked, type GenerationRecord } from './ai-request.js';
import { readFailedExecution, type FailedExecution } from './failure-context.js';
import { checkSuggestion } from './flow-checks.js';
import { groundedSystemPrompt, type CopilotKestra } from './kestra-grounding.js';
import { SecretRedactions, type Redaction } from './secret-redaction.js';

/*
 * "Explain this failure" and "propose a fix" on a failed execution (issue 24, point 3): Perch's own
 * routes (EE's spec has no AI operation on executions). Both need COPILOT:USE and the person's right
 * to read the execution, its logs and its flow (the proxy's decisions); nothing reaches a provider
 * before those hold. The failure goes to the model bounded and with the tenant's secrets redacted;
 * a fix passes the same check-and-retry loop and flow-save checks as generateFlow.
 */

/** What the AI feature's registration shares with these routes. */
export interface AiServices {
  admission: AiAdmission;
  /** The Kestra the tenant's calls go to (an INSTANCE tenant's own), read as the proxy lets the person. */
  kestraOf(tenantId: string): CopilotKestra;
}

const EXPLAIN_SYSTEM = [
  'You help people understand why a Kestra execution failed.',
  'From the flow and the failure below, say in plain words what went wrong, point at the task and the log lines that show it, and what to change.',
  'Be brief (Markdown, a few short paragraphs); do not write the whole flow.',
].join(' ');
const EXPLAIN_ASK = 'Explain why this execution failed.';
const FIX_ASK = 'Propose a fix for this failure: change the flow so that it does not fail this way again; keep its id and namespace.';

interface Prepared extends CopilotKestra {
  execution: FailedExecution;
  /** The flow and the person's wish in generateFlow's shape: the same prompt, checks and audit fields. */
  asFlowPrompt: FlowGenerationPrompt;
}

export function registerExecutionHelp(app: FastifyInstance, ctx: PerchContext, ai: AiServices): void {
  const redactions = new SecretRedactions(ctx);

  /** Reads the failed execution as the person may (refusals keep their status; no provider is asked). */
  const prepare = (ask: string) => async (body: ExecutionHelpPrompt & { executionId: string }, asked: Asked, record: GenerationRecord): Promise<Prepared> => {
    record.extra = { executionId: body.executionId };
    const kestra = ai.kestraOf(asked.tenant);
    let redaction: Redaction | undefined;
    const execution = await readFailedExecution(kestra, asked.principal, body.executionId, async () => (redaction = await redactions.of(asked.tenant)));
    const userPrompt = body.userPrompt ? `${ask}\n\n${body.userPrompt}` : ask;
    const asFlowPrompt: FlowGenerationPrompt = { conversationId: body.conversationId, userPrompt, yaml: execution.flowSource, namespace: execution.namespace, providerId: asked.provider.id };
    record.body = asFlowPrompt;
    record.extra = { executionId: body.executionId, logLines: execution.logLines, logLinesLeftOut: execution.logLinesLeftOut, redactions: redaction?.replaced ?? 0 };
    return { execution, asFlowPrompt, ...kestra };
  };
  const body = (request: { body: unknown; params: unknown }) => ({ ...parse(executionHelpPromptSchema, request.body), executionId: (request.params as { executionId: string }).executionId });

  // Explain this failure: the model's text (text/markdown), or streamed as `delta` then `result` events.
  app.post('/api/v1/:tenant/ai/executions/:executionId/explain', signedIn, (request, reply) =>
    serveAiRequest<ExplanationEvent, ReturnType<typeof body>, Prepared>(ctx, ai.admission, request, reply, {
      operation: 'explainExecution',
      answer: { type: 'text/markdown; charset=utf-8', result: (text) => ({ text }) },
      body,
      prepare: prepare(EXPLAIN_ASK),
      run: async (p, asked, record, events) => {
        const system = `${EXPLAIN_SYSTEM}\n\n${flowAndFailure(p.execution)}`;
        record.attempts = 1;
        const text = await asked.chat(system, [...asked.conversation.earlier, { role: 'user', text: p.asFlowPrompt.userPrompt }], events && ((piece) => events.send('delta', { text: piece })));
        record.answerChars = text.length;
        asked.conversation.remember(p.asFlowPrompt.userPrompt, text);
        return text;
      },
    }),
  );

  // Propose a fix: the fixed flow's YAML, checked like generateFlow's (application/yaml), or streamed in generateFlow's events.
  app.post('/api/v1/:tenant/ai/executions/:executionId/fix', signedIn, (request, reply) =>
    serveAiRequest<GenerationEvent, ReturnType<typeof body>, Prepared>(ctx, ai.admission, request, reply, {
      operation: 'fixExecution',
      answer: { type: 'application/yaml', result: (yaml) => ({ yaml }) },
      body,
      prepare: prepare(FIX_ASK),
      run: async (p, asked, record, events) => {
        const system = `${await groundedSystemPrompt(p.kestra, p.asFlowPrompt)}\n\nThe failure to fix:\n${p.execution.failure}`;
        return generateCheckedSource(ctx, asked, record, events, { system, userPrompt: p.asFlowPrompt.userPrompt }, (yaml) =>
          checkSuggestion(p.authorizer, p.kestra, { suggestion: yaml, principal: asked.principal, current: p.execution.flowSource, namespace: p.execution.namespace }),
        );
      },
    }),
  );
}

function flowAndFailure(execution: FailedExecution): string {
  return `The flow (current source):\n\`\`\`yaml\n${execution.flowSource}\n\`\`\`\n\nThe failure:\n${execution.failure}`;
}
