import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { DEFAULT_BASE_URLS, type AiProviderConfig } from '../../lib/schemas/ai.js';
import { HttpError } from '../http/errors.js';

/*
 * One chat turn with a provider, over each provider's documented REST protocol with plain HTTP
 * (undici): OpenAI chat completions, Anthropic messages, Gemini generateContent, Ollama /api/chat.
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

interface WireRequest {
  path: string;
  headers: Record<string, string>;
  body: unknown;
  answer: (json: any) => string | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function wireRequest(p: AiProviderConfig, key: string | undefined, system: string, messages: ChatMessage[]): WireRequest {
  switch (p.kind) {
    case 'openai-compatible':
      return {
        path: '/chat/completions',
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: { model: p.model, max_tokens: p.maxOutputTokens, messages: [{ role: 'system', content: system }, ...messages.map((m) => ({ role: m.role, content: m.text }))] },
        answer: (json) => json?.choices?.[0]?.message?.content,
      };
    case 'anthropic':
      return {
        path: '/v1/messages',
        headers: { 'x-api-key': key ?? '', 'anthropic-version': '2023-06-01' },
        body: { model: p.model, max_tokens: p.maxOutputTokens, system, messages: messages.map((m) => ({ role: m.role, content: m.text })) },
        answer: (json) => (Array.isArray(json?.content) ? json.content.filter((c: { type?: string }) => c?.type === 'text').map((c: { text?: string }) => c.text ?? '').join('') : undefined),
      };
    case 'gemini':
      return {
        path: `/v1beta/models/${encodeURIComponent(p.model)}:generateContent`,
        headers: { 'x-goog-api-key': key ?? '' },
        body: {
          systemInstruction: { parts: [{ text: system }] },
          contents: messages.map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.text }] })),
          generationConfig: { maxOutputTokens: p.maxOutputTokens },
        },
        answer: (json) => (Array.isArray(json?.candidates?.[0]?.content?.parts) ? json.candidates[0].content.parts.map((part: { text?: string }) => part.text ?? '').join('') : undefined),
      };
    case 'ollama':
      return {
        path: '/api/chat',
        // A plain Ollama takes no key; one behind an authenticating proxy may.
        headers: key ? { authorization: `Bearer ${key}` } : {},
        body: { model: p.model, stream: false, messages: [{ role: 'system', content: system }, ...messages.map((m) => ({ role: m.role, content: m.text }))] },
        answer: (json) => json?.message?.content,
      };
  }
}

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

/** Sends the conversation, returns the model's text answer. */
export async function chat(p: AiProviderConfig, key: string | undefined, system: string, messages: ChatMessage[]): Promise<string> {
  const wire = wireRequest(p, key, system, messages);
  const base = (p.baseUrl ?? DEFAULT_BASE_URLS[p.kind]).replace(/\/+$/, '');
  let res;
  try {
    res = await request(`${base}${wire.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...wire.headers },
      body: JSON.stringify(wire.body),
      headersTimeout: p.timeoutSeconds * 1000,
      bodyTimeout: p.timeoutSeconds * 1000,
    });
  } catch (error) {
    throw new ProviderFailure(p, `it could not be reached (${(error as { code?: string }).code ?? 'network error'})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        res.body.destroy();
        throw new ProviderFailure(p, `its answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof ProviderFailure) throw error;
    throw new ProviderFailure(p, `its answer was cut (${(error as { code?: string }).code ?? 'network error'})`);
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw new ProviderFailure(p, `it answered HTTP ${res.statusCode}`);
  let text: string | undefined;
  try {
    text = wire.answer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
  } catch {
    throw new ProviderFailure(p, 'its answer is not JSON');
  }
  if (typeof text !== 'string' || text.trim() === '') throw new ProviderFailure(p, 'its answer holds no text');
  return text;
}
