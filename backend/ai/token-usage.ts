import type { AiProviderKind } from '../../lib/schemas/ai.js';

/*
 * The tokens a provider reports it used, for the token budgets (token-budgets.ts). Each protocol
 * reports them in its own fields, in a whole answer and in its streamed events; in a stream the last
 * value of each field is the total (OpenAI's final chunk with `stream_options.include_usage`,
 * Anthropic's message_start then message_delta, Gemini's last chunk, Ollama's `done` line).
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

function reported(kind: AiProviderKind, json: any): { input?: number; output?: number } {
  switch (kind) {
    case 'openai-compatible':
      return { input: count(json?.usage?.prompt_tokens), output: count(json?.usage?.completion_tokens) };
    case 'anthropic': {
      const usage = json?.type === 'message_start' ? json.message?.usage : json?.usage;
      return { input: count(usage?.input_tokens), output: count(usage?.output_tokens) };
    }
    case 'gemini': {
      const input = count(json?.usageMetadata?.promptTokenCount);
      const total = count(json?.usageMetadata?.totalTokenCount);
      return { input, output: total !== undefined ? total - (input ?? 0) : count(json?.usageMetadata?.candidatesTokenCount) };
    }
    case 'ollama':
      return { input: count(json?.prompt_eval_count), output: count(json?.eval_count) };
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The tokens of one request, over all its calls to a provider. */
export class TokenTally {
  private done = 0;
  private input = 0;
  private output = 0;

  constructor(private readonly kind: AiProviderKind) {}

  /** Takes what one answer or streamed event reports (a later value of a field replaces the earlier one). */
  note(json: unknown): void {
    const { input, output } = reported(this.kind, json);
    if (input !== undefined) this.input = input;
    if (output !== undefined) this.output = output;
  }

  /** One call to the provider is over: its tokens are counted, the next call reports its own. */
  endCall(): void {
    this.done += this.input + this.output;
    this.input = 0;
    this.output = 0;
  }

  get total(): number {
    return this.done + this.input + this.output;
  }
}
