import { readFile } from 'node:fs/promises';
import type { AiProviderConfig } from '../../lib/schemas/ai.js';
import { PROVIDER_CLIENTS, type ChatMessage, type TokenUsage } from './provider-clients.js';
import { ProviderCall, ProviderFailure } from './provider-call.js';

/*
 * One chat turn with a provider, through its official client library (provider-clients.ts): openai
 * for OpenAI-compatible servers, @anthropic-ai/sdk, @google/genai for Gemini, ollama. Perch's limits
 * (2 MB answer, timeoutSeconds, the caller's abort) are held by the fetch each client is given
 * (provider-call.ts); whatever fails becomes a 502 naming the provider, never its key or raw answer.
 */

export type { ChatMessage, TokenUsage } from './provider-clients.js';
export { MAX_ANSWER_BYTES, ProviderFailure } from './provider-call.js';

/** A provider's key: the configured one, or its file's content read once (a file that cannot be read fails the call, naming the provider). */
export class ProviderKeys {
  private readonly keys = new Map<string, Promise<string | undefined>>();

  of(p: AiProviderConfig): Promise<string | undefined> {
    let key = this.keys.get(p.id);
    if (!key) {
      key = p.apiKeyFile
        ? readFile(p.apiKeyFile, 'utf8').then((text) => text.replace(/\r?\n$/, ''), (error: NodeJS.ErrnoException) => {
          this.keys.delete(p.id);
          throw new ProviderFailure(p, `its apiKeyFile cannot be read (${error.code ?? 'error'})`);
        })
        : Promise.resolve(p.apiKey);
      this.keys.set(p.id, key);
    }
    return key;
  }
}

export interface ChatOptions {
  /** Asks for the answer streamed, handing each piece of text to this as it arrives. */
  onText?: (text: string) => void;
  /** Ends the call (the person went away). */
  signal?: AbortSignal;
}

export interface ChatAnswer {
  text: string;
  /** The tokens the provider counted for this turn (for the audit entry). */
  usage: TokenUsage;
}

/** Sends the conversation, returns the model's whole text answer and the tokens it cost. */
export async function chat(p: AiProviderConfig, key: string | undefined, system: string, messages: ChatMessage[], options: ChatOptions = {}): Promise<ChatAnswer> {
  const stream = options.onText !== undefined;
  const call = new ProviderCall(p, options.signal);
  let text = '';
  const usage: TokenUsage = {};
  try {
    for await (const piece of PROVIDER_CLIENTS[p.kind]({ provider: p, key, system, messages, stream, call })) {
      if ('usage' in piece) {
        usage.inputTokens = piece.usage.inputTokens ?? usage.inputTokens;
        usage.outputTokens = piece.usage.outputTokens ?? usage.outputTokens;
      } else if (piece.text) {
        text += piece.text;
        options.onText?.(piece.text);
      }
    }
  } catch (error) {
    throw call.failed(error, stream);
  }
  if (text.trim() === '') throw new ProviderFailure(p, 'its answer holds no text');
  return { text, usage };
}
