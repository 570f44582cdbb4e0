import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { createParser } from 'eventsource-parser';
import { DEFAULT_BASE_URLS, type AiProviderConfig } from '../../lib/schemas/ai.js';
import { HttpError } from '../http/errors.js';
import type { TokenTally } from './token-usage.js';

/*
 * One chat turn with a provider, over each provider's documented REST protocol with plain HTTP
 * (undici): OpenAI chat completions, Anthropic messages, Gemini generateContent, Ollama /api/chat,
 * answered whole or streamed (OpenAI and Anthropic server-sent events, Gemini streamGenerateContent
 * with alt=sse, Ollama NDJSON).
 * The official client libraries the issue names are not used yet (docs/ai.md). The key travels only
 * in the request header each protocol documents, never in a URL, and no error message carries it.
 */

export interface ChatMessage {
  role: 'user' | 'assistant';
  text: string;
}

/** The largest answer Perch reads from a provider. */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** A provider failed: 502 naming it, never its key nor its raw answer. */
export class ProviderFailure extends HttpError {
  constructor(provider: AiProviderConfig, what: string) {
    super(502, `AI provider ${provider.id} (${provider.kind}) failed: ${what}`, { providerId: provider.id });
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any */
interface WireRequest {
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The text of a whole answer. */
  answer: (json: any) => string | undefined;
  /** How a streamed answer is framed, and the text one of its events adds (undefined: none). */
  framing: 'sse' | 'ndjson';
  delta: (json: any) => string | undefined;
  /** A streamed event that reports a failure mid-stream (Anthropic's `error` event, Ollama's and OpenAI-compatible servers' `error` field). */
  failed?: (json: any) => boolean;
}

const geminiText = (json: any): string | undefined =>
  Array.isArray(json?.candidates?.[0]?.content?.parts) ? json.candidates[0].content.parts.map((part: { text?: string }) => part.text ?? '').join('') : undefined;

function wireRequest(p: AiProviderConfig, key: string | undefined, system: string, messages: ChatMessage[], stream: boolean): WireRequest {
  switch (p.kind) {
    case 'openai-compatible':
      return {
        path: '/chat/completions',
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: { model: p.model, max_tokens: p.maxOutputTokens, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}), messages: [{ role: 'system', content: system }, ...messages.map((m) => ({ role: m.role, content: m.text }))] },
        answer: (json) => json?.choices?.[0]?.message?.content,
        framing: 'sse',
        delta: (json) => json?.choices?.[0]?.delta?.content ?? undefined,
        failed: (json) => typeof json?.error === 'object' && json.error !== null,
      };
    case 'anthropic':
      return {
        path: '/v1/messages',
        headers: { 'x-api-key': key ?? '', 'anthropic-version': '2023-06-01' },
        body: { model: p.model, max_tokens: p.maxOutputTokens, ...(stream ? { stream: true } : {}), system, messages: messages.map((m) => ({ role: m.role, content: m.text })) },
        answer: (json) => (Array.isArray(json?.content) ? json.content.filter((c: { type?: string }) => c?.type === 'text').map((c: { text?: string }) => c.text ?? '').join('') : undefined),
        framing: 'sse',
        delta: (json) => (json?.type === 'content_block_delta' && json.delta?.type === 'text_delta' ? json.delta.text : undefined),
        failed: (json) => json?.type === 'error',
      };
    case 'gemini':
      return {
        path: `/v1beta/models/${encodeURIComponent(p.model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
        headers: { 'x-goog-api-key': key ?? '' },
        body: {
          systemInstruction: { parts: [{ text: system }] },
          contents: messages.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.text }] })),
          generationConfig: { maxOutputTokens: p.maxOutputTokens },
        },
        answer: geminiText,
        framing: 'sse',
        delta: geminiText,
      };
    case 'ollama':
      return {
        path: '/api/chat',
        // A plain Ollama takes no key; one behind an authenticating proxy may.
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: { model: p.model, stream, messages: [{ role: 'system', content: system }, ...messages.map((m) => ({ role: m.role, content: m.text }))] },
        answer: (json) => json?.message?.content,
        framing: 'ndjson',
        delta: (json) => json?.message?.content,
        failed: (json) => typeof json?.error === 'string',
      };
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

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

/**
 * Sends the conversation, returns the model's text answer. With `onText`, the answer is asked for
 * streamed and each piece of text is handed to it as it arrives (the whole text is still returned).
 * `tokens` is told the usage the provider reports (for the token budgets).
 */
export async function chat(p: AiProviderConfig, key: string | undefined, system: string, messages: ChatMessage[], onText?: (text: string) => void, tokens?: TokenTally): Promise<string> {
  const stream = onText !== undefined;
  const wire = wireRequest(p, key, system, messages, stream);
  const base = (p.baseUrl ?? DEFAULT_BASE_URLS[p.kind]).replace(/\/+$/, '');
  let res;
  try {
    res = await request(`${base}${wire.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: stream ? (wire.framing === 'sse' ? 'text/event-stream' : 'application/x-ndjson') : 'application/json', ...wire.headers },
      body: JSON.stringify(wire.body),
      headersTimeout: p.timeoutSeconds * 1000,
      bodyTimeout: p.timeoutSeconds * 1000,
    });
  } catch (error) {
    throw new ProviderFailure(p, `it could not be reached (${(error as { code?: string }).code ?? 'network error'})`);
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump().catch(() => {});
    throw new ProviderFailure(p, `it answered HTTP ${res.statusCode}`);
  }
  let text: string | undefined;
  if (stream) text = await readStreamed(p, wire, res.body, onText, tokens);
  else {
    const body = await readCapped(p, res.body);
    try {
      const json: unknown = JSON.parse(body);
      tokens?.note(json);
      text = wire.answer(json);
    } catch {
      throw new ProviderFailure(p, 'its answer is not JSON');
    }
  }
  if (typeof text !== 'string' || text.trim() === '') throw new ProviderFailure(p, 'its answer holds no text');
  return text;
}

type AnswerBody = AsyncIterable<Buffer | string> & { destroy(): void };

/** Chunks of an answer, at most {@link MAX_ANSWER_BYTES} in all. */
async function* cappedChunks(p: AiProviderConfig, body: AnswerBody): AsyncGenerator<Buffer> {
  let size = 0;
  try {
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buffer.length;
      if (size > MAX_ANSWER_BYTES) {
        body.destroy();
        throw new ProviderFailure(p, `its answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      }
      yield buffer;
    }
  } catch (error) {
    if (error instanceof ProviderFailure) throw error;
    throw new ProviderFailure(p, `its answer was cut (${(error as { code?: string }).code ?? 'network error'})`);
  }
}

async function readCapped(p: AiProviderConfig, body: AnswerBody): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of cappedChunks(p, body)) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A streamed answer's text, handed piece by piece to `onText` as its events arrive: server-sent
 * events (their framing parsed by eventsource-parser; OpenAI's closing `[DONE]` is not JSON and
 * skipped) or NDJSON lines (Ollama).
 */
async function readStreamed(p: AiProviderConfig, wire: WireRequest, body: AnswerBody, onText: (text: string) => void, tokens?: TokenTally): Promise<string> {
  let text = '';
  const take = (payload: string) => {
    const data = payload.trim();
    if (!data || data === '[DONE]') return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new ProviderFailure(p, 'its streamed answer is not JSON');
    }
    tokens?.note(json);
    if (wire.failed?.(json)) throw new ProviderFailure(p, 'it reported an error while streaming');
    const piece = wire.delta(json);
    if (typeof piece === 'string' && piece) {
      text += piece;
      onText(piece);
    }
  };
  const decoder = new TextDecoder();
  // Each protocol's framing: server-sent events through the parser (a failure in its callback is kept
  // and thrown after feed(), which cannot carry it), NDJSON line by line.
  let failure: unknown;
  const sse = createParser({
    onEvent: (event) => {
      if (failure !== undefined) return;
      try {
        take(event.data);
      } catch (error) {
        failure = error;
      }
    },
  });
  let pending = '';
  const feed = (chunk: string) => {
    if (wire.framing === 'sse') sse.feed(chunk);
    else {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      for (const line of lines) take(line);
    }
    if (failure !== undefined) throw failure;
  };
  try {
    for await (const chunk of cappedChunks(p, body)) feed(decoder.decode(chunk, { stream: true }));
    feed(decoder.decode());
    if (wire.framing === 'sse') sse.reset({ consume: true });
    else take(pending);
    if (failure !== undefined) throw failure;
  } catch (error) {
    body.destroy();
    throw error;
  }
  return text;
}
