import { createServer, type Server } from 'node:http';
import type { AiProviderKind } from '../../lib/schemas/ai.js';

/**
 * A loopback server speaking one AI provider's HTTP protocol (OpenAI chat completions, Anthropic
 * messages, Gemini generateContent, Ollama /api/chat): it records each request and answers the next
 * scripted text in that protocol's JSON shape (or an HTTP error status).
 */
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
  /** Texts (or a status to fail with) answered in order; the last one repeats. */
  script: Array<string | { status: number; body?: string }>;
  close(): Promise<void>;
}

function wrap(kind: AiProviderKind, text: string): unknown {
  switch (kind) {
    case 'openai-compatible':
      return { id: 'chatcmpl-1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] };
    case 'anthropic':
      return { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text }], stop_reason: 'end_turn' };
    case 'gemini':
      return { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP' }] };
    case 'ollama':
      return { model: 'm', message: { role: 'assistant', content: text }, done: true };
  }
}

export async function startProviderStandIn(kind: AiProviderKind): Promise<ProviderStandIn> {
  const standIn: Omit<ProviderStandIn, 'url' | 'close'> = { kind, calls: [], script: [] };
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
      if (typeof next === 'object') {
        res.writeHead(next.status, { 'content-type': 'application/json' }).end(next.body ?? '{"error":"stand-in failure"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(wrap(kind, next)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    ...standIn,
    get calls() { return standIn.calls; },
    get script() { return standIn.script; },
    set script(value) { standIn.script = value; served = 0; },
    url,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
