import { createServer, type Server } from 'node:http';
import type { AiProviderKind } from '../../lib/schemas/ai.js';

/**
 * A loopback server speaking one AI provider's HTTP protocol (OpenAI chat completions, Anthropic
 * messages, Gemini generateContent, Ollama /api/chat): it records each request and answers the next
 * scripted text in that protocol's JSON shape (or an HTTP error status); asked to stream (`stream: true`,
 * Gemini's streamGenerateContent), it sends the text in pieces in that protocol's streaming format.
 * The shapes follow each vendor's published API reference (cited in docs/ai.md, "Tests"), token
 * counts included; the official clients Perch uses are pointed at these servers in the tests.
 */

/** The token counts every answer reports, in each protocol's own fields. */
export const STAND_IN_USAGE = { inputTokens: 120, outputTokens: 30 } as const;
/** Tokens an answer reports, in each protocol's usage fields. */
export interface Usage {
  input: number;
  output: number;
}
const DEFAULT_USAGE: Usage = { input: STAND_IN_USAGE.inputTokens, output: STAND_IN_USAGE.outputTokens };
export interface ReceivedCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ProviderStandIn {
  kind: AiProviderKind;
  url: string;
  calls: ReceivedCall[];
  /**
   * Texts (or a status to fail with, or a text whose stream breaks off with the protocol's mid-stream
   * error after its first piece, or `stall`: headers sent, then nothing until the client goes)
   * answered in order; the last one repeats.
   */
  script: Array<string | { status: number; body?: string } | { text: string; streamError: true } | { stall: true }>;
  /** How many requests were closed by the client before their answer ended. */
  abandoned: number;
  /** When set, a streamed answer stops after its first piece of text until this settles (a test sees the text arrive). */
  hold?: Promise<void>;
  /** When set, each answer reports these tokens instead of {@link STAND_IN_USAGE} (whole and streamed). */
  usage?: Usage;
  close(): Promise<void>;
}

function wrap(kind: AiProviderKind, text: string, { input: IN, output: OUT }: Usage = DEFAULT_USAGE): unknown {
  switch (kind) {
    case 'openai-compatible':
      return {
        id: 'chatcmpl-1', object: 'chat.completion', created: 1767225600, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: IN, completion_tokens: OUT, total_tokens: IN + OUT },
      };
    case 'anthropic':
      return { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: IN, output_tokens: OUT } };
    case 'gemini':
      return { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: IN, candidatesTokenCount: OUT, totalTokenCount: IN + OUT }, modelVersion: 'm' };
    case 'ollama':
      return { model: 'm', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: text }, done: true, done_reason: 'stop', prompt_eval_count: IN, eval_count: OUT };
  }
}

/** A text in `count` pieces (the last one takes the rest). */
export function piecesOf(text: string, count = 3): string[] {
  const size = Math.ceil(text.length / count);
  return Array.from({ length: count }, (_, i) => text.slice(i * size, (i + 1) * size)).filter(Boolean);
}

/** A streamed answer in each protocol's documented format, as the chunks written one by one. */
function streamed(kind: AiProviderKind, text: string, body?: any, { input: IN, output: OUT }: Usage = DEFAULT_USAGE): { contentType: string; chunks: string[] } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const pieces = piecesOf(text);
  const sse = (data: unknown, event?: string) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
  switch (kind) {
    case 'openai-compatible':
      return {
        contentType: 'text/event-stream',
        chunks: [
          sse({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
          ...pieces.map((content) => sse({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
          sse({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
          // stream_options.include_usage: one more chunk, no choices, the usage.
          ...(body?.stream_options?.include_usage ? [sse({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: IN, completion_tokens: OUT, total_tokens: IN + OUT } })] : []),
          sse('[DONE]'),
        ],
      };
    case 'anthropic':
      return {
        contentType: 'text/event-stream',
        chunks: [
          sse({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'm', stop_reason: null, stop_sequence: null, usage: { input_tokens: IN, output_tokens: 1 } } }, 'message_start'),
          sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'),
          sse({ type: 'ping' }, 'ping'),
          ...pieces.map((piece) => sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }, 'content_block_delta')),
          sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'),
          sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: OUT } }, 'message_delta'),
          sse({ type: 'message_stop' }, 'message_stop'),
        ],
      };
    case 'gemini':
      return {
        contentType: 'text/event-stream',
        // The last chunk carries the finish reason and the token counts.
        chunks: pieces.map((piece, i) => sse({ candidates: [{ content: { role: 'model', parts: [{ text: piece }] }, index: 0, ...(i === pieces.length - 1 ? { finishReason: 'STOP' } : {}) }], ...(i === pieces.length - 1 ? { usageMetadata: { promptTokenCount: IN, candidatesTokenCount: OUT, totalTokenCount: IN + OUT } } : {}) }).replace(/\n\n$/, '\r\n\r\n')),
      };
    case 'ollama':
      return {
        contentType: 'application/x-ndjson',
        chunks: [
          ...pieces.map((content) => `${JSON.stringify({ model: 'm', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content }, done: false })}\n`),
          `${JSON.stringify({ model: 'm', created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: IN, eval_count: OUT })}\n`,
        ],
      };
  }
}

/** How each protocol reports a failure after its stream began (Anthropic's `error` event, Ollama's `error` line). */
function midStreamError(kind: AiProviderKind): string {
  switch (kind) {
    case 'anthropic':
      return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`;
    case 'ollama':
      return `${JSON.stringify({ error: 'model runner has unexpectedly stopped' })}\n`;
    default:
      return `data: ${JSON.stringify({ error: { message: 'stand-in failure', type: 'server_error' } })}\n\n`;
  }
}

const wantsStream = (path: string, body: unknown) => path.includes(':streamGenerateContent') || (typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true);

export async function startProviderStandIn(kind: AiProviderKind): Promise<ProviderStandIn> {
  const standIn: Omit<ProviderStandIn, 'url' | 'close'> = { kind, calls: [], script: [], abandoned: 0 };
  let served = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* recorded as text */
      }
      standIn.calls.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      const next = standIn.script[Math.min(served++, standIn.script.length - 1)] ?? '';
      res.on('close', () => {
        if (!res.writableFinished) standIn.abandoned++;
      });
      if (typeof next === 'object' && 'stall' in next) {
        res.writeHead(200, { 'content-type': wantsStream(req.url!, body) ? 'text/event-stream' : 'application/json' }).flushHeaders();
        return;
      }
      if (typeof next === 'object' && 'streamError' in next) {
        const { contentType, chunks } = streamed(kind, next.text, body, standIn.usage);
        res.writeHead(200, { 'content-type': contentType }).end(chunks.slice(0, kind === 'anthropic' ? 4 : kind === 'openai-compatible' ? 2 : 1).join('') + midStreamError(kind));
        return;
      }
      if (typeof next === 'object') {
        res.writeHead(next.status, { 'content-type': 'application/json' }).end(next.body ?? '{"error":"stand-in failure"}');
        return;
      }
      if (wantsStream(req.url!, body)) {
        const { contentType, chunks } = streamed(kind, next, body, standIn.usage);
        res.writeHead(200, { 'content-type': contentType });
        // Each piece in its own write, a turn of the event loop apart, so the client reads them as they come.
        // The chunk carrying the first piece of text: after the role chunk (OpenAI), after message_start, content_block_start and ping (Anthropic).
        const firstText = kind === 'openai-compatible' ? 1 : kind === 'anthropic' ? 3 : 0;
        const write = (i: number): void => {
          if (i >= chunks.length) return void res.end();
          res.write(chunks[i], () => {
            if (i === firstText && standIn.hold) void standIn.hold.then(() => write(i + 1));
            else setImmediate(() => write(i + 1));
          });
        };
        write(0);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(wrap(kind, next, standIn.usage)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    ...standIn,
    get calls() { return standIn.calls; },
    get script() { return standIn.script; },
    set script(value) { standIn.script = value; served = 0; },
    get abandoned() { return standIn.abandoned; },
    get hold() { return standIn.hold; },
    set hold(value) { standIn.hold = value; },
    get usage() { return standIn.usage; },
    set usage(value) { standIn.usage = value; },
    url,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
