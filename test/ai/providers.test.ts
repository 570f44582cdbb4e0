/**
 * The providers' official clients (openai, @anthropic-ai/sdk, @google/genai, ollama) pointed at the
 * loopback stand-ins (issue 24, point 5): whole and streamed answers with their token counts, the key
 * in its documented header only, failures as one 502 naming the provider (401, 429, 5xx, unreachable,
 * mid-stream error), the 2 MB cap, the timeout, the caller's abort, and no redirection or extra
 * credential taken from the host's environment.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aiProviderConfigSchema, type AiProviderKind } from '../../lib/schemas/ai.js';
import { chat, MAX_ANSWER_BYTES, ProviderFailure } from '../../backend/ai/providers.js';
import { piecesOf, STAND_IN_USAGE, startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const KINDS: AiProviderKind[] = ['openai-compatible', 'anthropic', 'gemini', 'ollama'];
const KEY = 'sk-PROVIDER-KEY-5e7d21';
/** Where each protocol puts the key (the vendors' documented header). */
const KEY_HEADER: Record<AiProviderKind, [string, string]> = {
  'openai-compatible': ['authorization', `Bearer ${KEY}`],
  anthropic: ['x-api-key', KEY],
  gemini: ['x-goog-api-key', KEY],
  ollama: ['authorization', `Bearer ${KEY}`],
};
const PATH: Record<AiProviderKind, { whole: string; streamed: string }> = {
  'openai-compatible': { whole: '/v1/chat/completions', streamed: '/v1/chat/completions' },
  anthropic: { whole: '/v1/messages', streamed: '/v1/messages' },
  gemini: { whole: '/v1beta/models/m-test:generateContent', streamed: '/v1beta/models/m-test:streamGenerateContent?alt=sse' },
  ollama: { whole: '/api/chat', streamed: '/api/chat' },
};

const standIns = {} as Record<AiProviderKind, ProviderStandIn>;
beforeAll(async () => {
  for (const kind of KINDS) standIns[kind] = await startProviderStandIn(kind);
});
afterAll(async () => {
  for (const s of Object.values(standIns)) await s.close();
});

const provider = (kind: AiProviderKind, extra: Record<string, unknown> = {}) => aiProviderConfigSchema.parse({
  id: `p-${kind}`,
  kind,
  baseUrl: kind === 'openai-compatible' ? `${standIns[kind].url}/v1` : standIns[kind].url,
  model: 'm-test',
  apiKey: KEY,
  ...extra,
});
const turn = [{ role: 'user' as const, text: 'Write a flow' }];
const failureOf = (promise: Promise<unknown>) => promise.then(() => { throw new Error('no failure'); }, (error: unknown) => error as ProviderFailure);

describe.each(KINDS)('%s through its official client', (kind) => {
  afterEach(() => {
    standIns[kind].calls.length = 0;
  });

  it('answers a whole turn with its token counts, the key only in its documented header', async () => {
    standIns[kind].script = ['id: hello'];
    const answer = await chat(provider(kind), KEY, 'You write Kestra flows.', turn);
    expect(answer).toEqual({ text: 'id: hello', usage: STAND_IN_USAGE });
    const [call] = standIns[kind].calls;
    expect(call!.path).toBe(PATH[kind].whole);
    const [header, value] = KEY_HEADER[kind];
    expect(call!.headers[header]).toBe(value);
    // Nowhere else: not in the URL, the body, or another header.
    expect(call!.path).not.toContain(KEY);
    expect(JSON.stringify(call!.body)).not.toContain(KEY);
    expect(Object.entries(call!.headers).filter(([name, v]) => name !== header && String(v).includes(KEY))).toEqual([]);
    expect(JSON.stringify(call!.body)).toContain('You write Kestra flows.');
  });

  it('streams a turn piece by piece, with its token counts', async () => {
    standIns[kind].script = ['id: hello\nnamespace: company.team\n'];
    const pieces: string[] = [];
    const answer = await chat(provider(kind), KEY, 'system', turn, { onText: (text) => pieces.push(text) });
    expect(pieces).toEqual(piecesOf('id: hello\nnamespace: company.team\n'));
    expect(answer).toEqual({ text: pieces.join(''), usage: STAND_IN_USAGE });
    expect(standIns[kind].calls[0]!.path).toBe(PATH[kind].streamed);
  });

  it.each([401, 429, 500, 503])('fails with 502 naming the provider when it answers HTTP %i, asking once, never quoting its answer', async (status) => {
    standIns[kind].script = [{ status, body: JSON.stringify({ error: { message: `bad key ${KEY}`, type: 'error' } }) }];
    for (const onText of [undefined, () => {}]) {
      const failure = await failureOf(chat(provider(kind), KEY, 's', turn, { onText }));
      expect(failure).toBeInstanceOf(ProviderFailure);
      expect(failure.status).toBe(502);
      expect(failure.message).toBe(`AI provider p-${kind} (${kind}) failed: it answered HTTP ${status}`);
    }
    // The clients' own retries are off: the generation loop bounds the asks.
    expect(standIns[kind].calls).toHaveLength(2);
  });

  it(`reads at most ${MAX_ANSWER_BYTES} bytes of an answer, whole or streamed`, async () => {
    standIns[kind].script = ['x'.repeat(MAX_ANSWER_BYTES + 1024)];
    for (const onText of [undefined, () => {}]) {
      const failure = await failureOf(chat(provider(kind), KEY, 's', turn, { onText }));
      expect(failure.message).toBe(`AI provider p-${kind} (${kind}) failed: its answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    }
  });

  it('gives up after timeoutSeconds, and when the caller abandons the request', async () => {
    standIns[kind].script = [{ stall: true }];
    const before = standIns[kind].abandoned;
    const late = await failureOf(chat(provider(kind, { timeoutSeconds: 1 }), KEY, 's', turn, { onText: () => {} }));
    expect(late.message).toBe(`AI provider p-${kind} (${kind}) failed: it did not answer within 1 s`);
    const abort = new AbortController();
    const pending = failureOf(chat(provider(kind), KEY, 's', turn, { signal: abort.signal }));
    await expect.poll(() => standIns[kind].calls.length).toBe(2);
    abort.abort();
    expect((await pending).message).toBe(`AI provider p-${kind} (${kind}) failed: the request was abandoned`);
    // Both connections were closed by Perch, not left hanging.
    await expect.poll(() => standIns[kind].abandoned - before).toBe(2);
  });
});

describe('official clients: failures and the environment', () => {
  it('names the provider when it cannot be reached', async () => {
    const closed = await startProviderStandIn('anthropic');
    await closed.close();
    const p = aiProviderConfigSchema.parse({ id: 'gone', kind: 'anthropic', baseUrl: closed.url, model: 'm', apiKey: KEY });
    expect((await failureOf(chat(p, KEY, 's', turn))).message).toBe('AI provider gone (anthropic) failed: it could not be reached (ECONNREFUSED)');
  });

  it('fails naming the provider on an error reported mid-stream, after text had come', async () => {
    for (const kind of ['openai-compatible', 'anthropic', 'ollama'] as const) {
      standIns[kind].script = [{ text: 'id: hello\nnamespace: company.team\n', streamError: true }];
      const pieces: string[] = [];
      const failure = await failureOf(chat(provider(kind), KEY, 's', turn, { onText: (text) => pieces.push(text) }));
      expect(failure.message, kind).toBe(`AI provider p-${kind} (${kind}) failed: it reported an error while streaming`);
      expect(pieces.length, kind).toBeGreaterThan(0);
    }
  });

  it('sends no Authorization header at all without a key (a plain vLLM or Ollama)', async () => {
    for (const kind of ['openai-compatible', 'ollama'] as const) {
      standIns[kind].calls.length = 0;
      standIns[kind].script = ['id: hello'];
      await chat(provider(kind), undefined, 's', turn);
      expect(standIns[kind].calls[0]!.headers.authorization, kind).toBeUndefined();
    }
  });

  it('fails when the answer holds no text', async () => {
    standIns.gemini.script = [''];
    expect((await failureOf(chat(provider('gemini'), KEY, 's', turn))).message).toBe('AI provider p-gemini (gemini) failed: its answer holds no text');
  });

  it('takes no address, key or mode from the environment: the configured provider is the one asked, with its key alone', async () => {
    const decoy = await startProviderStandIn('openai-compatible');
    const env = {
      OPENAI_BASE_URL: `${decoy.url}/v1`, OPENAI_API_KEY: 'env-openai', OPENAI_ORG_ID: 'env-org', OPENAI_PROJECT_ID: 'env-project',
      ANTHROPIC_BASE_URL: decoy.url, ANTHROPIC_API_KEY: 'env-anthropic', ANTHROPIC_AUTH_TOKEN: 'env-token',
      GOOGLE_GENAI_USE_VERTEXAI: 'true', GOOGLE_API_KEY: 'env-google', GEMINI_API_KEY: 'env-gemini',
      OLLAMA_HOST: decoy.url,
    };
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    try {
      for (const kind of KINDS) {
        standIns[kind].calls.length = 0;
        standIns[kind].script = ['id: hello'];
        await chat(provider(kind), KEY, 's', turn);
        const [call] = standIns[kind].calls;
        const headers = JSON.stringify(call!.headers);
        for (const value of ['env-openai', 'env-org', 'env-project', 'env-anthropic', 'env-token', 'env-google', 'env-gemini']) expect(headers, kind).not.toContain(value);
        expect(call!.headers[KEY_HEADER[kind][0]], kind).toBe(KEY_HEADER[kind][1]);
      }
      expect(decoy.calls).toEqual([]);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await decoy.close();
    }
  });
});
