import type { GenerateContentResponse } from '@google/genai';
import type { ChatResponse } from 'ollama';
import type OpenAI from 'openai';
import { DEFAULT_BASE_URLS, type AiProviderConfig, type AiProviderKind } from '../../lib/schemas/ai.js';
import type { ProviderCall } from './provider-call.js';

/*
 * Each provider's official client, asked one chat turn, whole or streamed, as an async iterator of
 * pieces: text as it comes, and the tokens the provider counted. Every client gets Perch's `fetch`
 * (cap, timeout, abort: ProviderCall), no retries of its own (the generation loop bounds the asks),
 * no logging, and everything it would otherwise take from the environment (base URL, key,
 * organisation, Vertex AI) set explicitly, so a variable on the host cannot redirect a call or add a
 * credential. The key goes only in the header each protocol documents. Each library is loaded when its
 * kind is first asked (together they take most of a second to load, for nothing where no AI is set up).
 */

export interface ChatMessage {
  role: 'user' | 'assistant';
  text: string;
}

export interface TokenUsage {
  /** Tokens of the prompt (system, turns), as the provider counted them; undefined when it did not say. */
  inputTokens?: number;
  /** Tokens of the answer. */
  outputTokens?: number;
}

export type AnswerPiece = { text: string } | { usage: TokenUsage };

export interface Turn {
  provider: AiProviderConfig;
  key: string | undefined;
  system: string;
  messages: ChatMessage[];
  stream: boolean;
  call: ProviderCall;
}

const baseUrlOf = (p: AiProviderConfig) => (p.baseUrl ?? DEFAULT_BASE_URLS[p.kind]).replace(/\/+$/, '');

const chatMessages = (t: Turn) => [
  { role: 'system' as const, content: t.system },
  ...t.messages.map((m) => ({ role: m.role, content: m.text })),
];

/** OpenAI chat completions (OpenAI, Azure OpenAI's v1 API, vLLM, OpenRouter, …): `Authorization: Bearer`. */
async function* openAiCompatible(t: Turn): AsyncGenerator<AnswerPiece> {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({
    apiKey: t.key ?? '',
    // A server that takes no key (a plain vLLM) gets no Authorization header at all.
    ...(t.key ? {} : { defaultHeaders: { Authorization: null } }),
    baseURL: baseUrlOf(t.provider),
    organization: null,
    project: null,
    webhookSecret: null,
    fetch: t.call.fetch,
    timeout: t.call.timeoutMs,
    maxRetries: 0,
    logLevel: 'off',
  });
  const request = { model: t.provider.model, max_tokens: t.provider.maxOutputTokens, messages: chatMessages(t) };
  const usageOf = (usage: OpenAI.CompletionUsage | null | undefined): AnswerPiece => ({ usage: { inputTokens: usage?.prompt_tokens, outputTokens: usage?.completion_tokens } });
  if (!t.stream) {
    const answer = await client.chat.completions.create(request);
    yield { text: answer.choices[0]?.message?.content ?? '' };
    yield usageOf(answer.usage);
    return;
  }
  // include_usage: the last chunk carries the token counts (OpenAI's streaming options).
  for await (const chunk of await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } })) {
    const text = chunk.choices[0]?.delta?.content;
    if (text) yield { text };
    if (chunk.usage) yield usageOf(chunk.usage);
  }
}

/** Anthropic messages: `x-api-key` and `anthropic-version`. */
async function* anthropic(t: Turn): AsyncGenerator<AnswerPiece> {
  const { default: Anthropic } = await import('@anthropic-ai/sdk');
  const client = new Anthropic({
    apiKey: t.key ?? '',
    authToken: null,
    webhookKey: null,
    baseURL: baseUrlOf(t.provider),
    fetch: t.call.fetch,
    timeout: t.call.timeoutMs,
    maxRetries: 0,
    logLevel: 'off',
  });
  const request = { model: t.provider.model, max_tokens: t.provider.maxOutputTokens, system: t.system, messages: t.messages.map((m) => ({ role: m.role, content: m.text })) };
  if (!t.stream) {
    const answer = await client.messages.create(request);
    yield { text: answer.content.map((block) => (block.type === 'text' ? block.text : '')).join('') };
    yield { usage: { inputTokens: answer.usage?.input_tokens, outputTokens: answer.usage?.output_tokens } };
    return;
  }
  // An `error` event mid-stream is thrown by the client's stream.
  for await (const event of await client.messages.create({ ...request, stream: true })) {
    if (event.type === 'message_start') yield { usage: { inputTokens: event.message.usage?.input_tokens } };
    else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield { text: event.delta.text };
    else if (event.type === 'message_delta') yield { usage: { outputTokens: event.usage?.output_tokens } };
  }
}

/** Gemini generateContent / streamGenerateContent (alt=sse), API v1beta: `x-goog-api-key`. */
async function* gemini(t: Turn): AsyncGenerator<AnswerPiece> {
  const { GoogleGenAI } = await import('@google/genai');
  const client = new GoogleGenAI({
    apiKey: t.key ?? '',
    vertexai: false,
    httpOptions: { baseUrl: baseUrlOf(t.provider), apiVersion: 'v1beta', timeout: t.call.timeoutMs, retryOptions: { attempts: 1 }, fetch: t.call.fetch },
  });
  const request = {
    model: t.provider.model,
    contents: t.messages.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.text }] })),
    config: { systemInstruction: t.system, maxOutputTokens: t.provider.maxOutputTokens },
  };
  // The candidate's text parts (response.text would warn on other parts).
  const pieces = (answer: GenerateContentResponse): AnswerPiece[] => [
    { text: (answer.candidates?.[0]?.content?.parts ?? []).map((part) => part.text ?? '').join('') },
    ...(answer.usageMetadata ? [{ usage: { inputTokens: answer.usageMetadata.promptTokenCount, outputTokens: answer.usageMetadata.candidatesTokenCount } }] : []),
  ];
  if (!t.stream) {
    yield* pieces(await client.models.generateContent(request));
    return;
  }
  for await (const chunk of await client.models.generateContentStream(request)) yield* pieces(chunk);
}

/** Ollama /api/chat; a plain Ollama takes no key, one behind an authenticating proxy may (Bearer). */
async function* ollama(t: Turn): AsyncGenerator<AnswerPiece> {
  const { Ollama } = await import('ollama');
  const client = new Ollama({ host: baseUrlOf(t.provider), fetch: t.call.fetch, ...(t.key ? { headers: { authorization: `Bearer ${t.key}` } } : {}) });
  const request = { model: t.provider.model, messages: chatMessages(t), options: { num_predict: t.provider.maxOutputTokens } };
  const usageOf = (part: ChatResponse): AnswerPiece => ({ usage: { inputTokens: part.prompt_eval_count, outputTokens: part.eval_count } });
  if (!t.stream) {
    const answer = await client.chat({ ...request, stream: false });
    yield { text: answer.message.content };
    yield usageOf(answer);
    return;
  }
  // An `error` line mid-stream is thrown by the client.
  for await (const part of await client.chat({ ...request, stream: true })) {
    if (part.message?.content) yield { text: part.message.content };
    if (part.done) yield usageOf(part);
  }
}

export const PROVIDER_CLIENTS: Record<AiProviderKind, (turn: Turn) => AsyncGenerator<AnswerPiece>> = {
  'openai-compatible': openAiCompatible,
  anthropic,
  gemini,
  ollama,
};
