/**
 * The AI copilot's generateFlow and getProviders (issue 24, points 1, 2, 4, 5): each provider's official
 * client speaking its HTTP protocol to a loopback stand-in (shape and key header checked), grounding (plugin types,
 * current flow, namespace), the check-and-retry loop (Kestra's validation, Perch's flow-save rights),
 * COPILOT:USE, the per-person limit, one audit entry per request, and no key in answers, logs or audit.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiProviderKind } from '../../lib/schemas/ai.js';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { startBehindKestra, startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { piecesOf, STAND_IN_USAGE, startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const KEYS = { 'openai-compatible': 'sk-openai-KEY-7f3a91', anthropic: 'sk-ant-KEY-2b8c44', gemini: 'AIza-gemini-KEY-9d1e05', ollama: 'ollama-KEY-c6a210' } as const;
const IDS: Record<AiProviderKind, string> = { 'openai-compatible': 'openai', anthropic: 'claude', gemini: 'gemini', ollama: 'local' };
const KINDS = Object.keys(KEYS) as AiProviderKind[];

const flow = (namespace: string, id: string, message = 'hi') => `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
const fenced = (yaml: string) => `Here is the flow:\n\`\`\`yaml\n${yaml}\`\`\`\n`;
/** Each request its own conversation: these tests are about one request (test/ai/conversation-memory.test.ts: follow-ups). */
let conversations = 0;
const prompt = (extra: Record<string, unknown> = {}) => ({ conversationId: `c0ffee00-0000-4000-8000-${String(++conversations).padStart(12, '0')}`, userPrompt: 'Say hello in French', ...extra });

/** The EE spec's operation (the repository's derived contract): its path, and Ajv errors of a body against one of its schemas. */
function eeOperation(operationId: string) {
  const derived = loadDerivedContract();
  const op = derived.operations.find((o) => o.operationId === operationId)!;
  const errorsOf = (schema: unknown, body: unknown) => {
    const validate = contractAjv(convertComponents(derived.schemas)).compile(convertSchema(schema, 'root') as object);
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  };
  return { op, errorsOf };
}

/** Everything a provider saw in its text parts: system prompt and turns. */
function textOf(body: any): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.stringify(body);
}

describe('AI copilot: generateFlow', () => {
  const standIns = {} as Record<AiProviderKind, ProviderStandIn>;
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let perch: RunningPerch;
  let admin: Browser;
  let kestra: KestraDouble;
  let keyDir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    for (const kind of KINDS) standIns[kind] = await startProviderStandIn(kind);
    keyDir = await mkdtemp(path.join(tmpdir(), 'perch-ai-'));
    await writeFile(path.join(keyDir, 'anthropic.key'), `${KEYS.anthropic}\n`);
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    env = await startBehindKestra('PT5S', {
      logLevel: 'trace',
      ai: {
        maxAttempts: 3,
        requestsPerMinute: 100,
        providers: [
          { id: 'openai', kind: 'openai-compatible', baseUrl: `${standIns['openai-compatible'].url}/v1`, model: 'gpt-test', apiKey: KEYS['openai-compatible'], isDefault: true },
          { id: 'claude', kind: 'anthropic', baseUrl: standIns.anthropic.url, model: 'claude-test', apiKeyFile: path.join(keyDir, 'anthropic.key'), displayName: 'Claude' },
          { id: 'gemini', kind: 'gemini', baseUrl: standIns.gemini.url, model: 'gemini-test', apiKey: KEYS.gemini },
          { id: 'local', kind: 'ollama', baseUrl: standIns.ollama.url, model: 'llama-test', apiKey: KEYS.ollama },
        ],
      },
    }, {}, { logStream });
    ({ perch, admin, kestra } = env);
  });
  afterAll(async () => {
    await env?.close();
    for (const s of Object.values(standIns)) await s.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  const clear = () => {
    kestra.clear();
    for (const s of Object.values(standIns)) s.calls.length = 0;
  };
  const auditEntries = () => perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'COPILOT').orderBy('seq').execute();

  it('serves EE\'s generateFlow and getProviders at the spec\'s paths, in its shapes', async () => {
    const generate = eeOperation('generateFlow');
    expect([generate.op.method, generate.op.path]).toEqual(['POST', '/api/v1/{tenant}/ai/generate/flow']);
    expect(Object.keys(generate.op.responses['200']!)).toEqual(['application/yaml']);
    // The request body this file sends conforms to AiController.FlowGenerationPrompt.
    const requestSchema = (generate.op as unknown as { requestBody: { content: Record<string, unknown> } }).requestBody.content['application/json'];
    expect(generate.errorsOf(requestSchema, prompt({ providerId: 'openai', namespace: 'company.team', yaml: flow('company.team', 'hello') }))).toEqual([]);
    const providers = eeOperation('getProviders');
    expect([providers.op.method, providers.op.path]).toEqual(['GET', '/api/v1/{tenant}/ai/providers']);
    const res = await admin.fetch('GET', '/api/v1/main/ai/providers');
    expect(providers.errorsOf(providers.op.responses['200']!['application/json'], res.json)).toEqual([]);
  });

  it('lists the providers in EE shape, without any key', async () => {
    const res = await admin.fetch('GET', '/api/v1/main/ai/providers');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual([
      { id: 'openai', displayName: 'openai', isDefault: true },
      { id: 'claude', displayName: 'Claude', isDefault: false },
      { id: 'gemini', displayName: 'gemini', isDefault: false },
      { id: 'local', displayName: 'local', isDefault: false },
    ]);
  });

  for (const kind of KINDS) {
    it(`speaks ${kind}'s protocol, grounded in the flow, namespace and Kestra's plugin types, and answers checked YAML`, async () => {
      clear();
      const standIn = standIns[kind];
      const suggestion = flow('company.team', 'hello', 'bonjour');
      standIn.script = [fenced(suggestion)];
      const res = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: IDS[kind], namespace: 'company.team', yaml: flow('company.team', 'hello') }) });
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/yaml/);
      expect(res.text).toBe(suggestion);

      expect(standIn.calls).toHaveLength(1);
      const [call] = standIn.calls;
      expect(call!.method).toBe('POST');
      expect(call!.headers['content-type']).toMatch(/^application\/json/);
      const key = KEYS[kind];
      const body = call!.body;
      switch (kind) {
        case 'openai-compatible':
          expect(call!.path).toBe('/v1/chat/completions');
          expect(call!.headers.authorization).toBe(`Bearer ${key}`);
          expect(body).toMatchObject({ model: 'gpt-test', messages: [{ role: 'system' }, { role: 'user', content: 'Say hello in French' }] });
          break;
        case 'anthropic':
          expect(call!.path).toBe('/v1/messages');
          expect(call!.headers['x-api-key']).toBe(key);
          expect(call!.headers['anthropic-version']).toBe('2023-06-01');
          expect(body).toMatchObject({ model: 'claude-test', max_tokens: 8192, system: expect.any(String), messages: [{ role: 'user', content: 'Say hello in French' }] });
          break;
        case 'gemini':
          expect(call!.path).toBe('/v1beta/models/gemini-test:generateContent');
          expect(call!.headers['x-goog-api-key']).toBe(key);
          expect(body).toMatchObject({ systemInstruction: { parts: [{ text: expect.any(String) }] }, contents: [{ role: 'user', parts: [{ text: 'Say hello in French' }] }] });
          break;
        case 'ollama':
          expect(call!.path).toBe('/api/chat');
          expect(call!.headers.authorization).toBe(`Bearer ${key}`);
          expect(body).toMatchObject({ model: 'llama-test', stream: false, messages: [{ role: 'system' }, { role: 'user', content: 'Say hello in French' }] });
          break;
      }
      // The key is in the header only, never in the URL or body.
      expect(call!.path).not.toContain(key);
      expect(textOf(body)).not.toContain(key);
      // Grounding: the plugin types Kestra reports, the namespace, the current flow.
      const sent = textOf(body);
      expect(sent).toContain('io.kestra.plugin.core.trigger.Schedule');
      expect(sent).toContain('namespace company.team');
      expect(sent).toContain('message: hi');
      // …and the properties of the plugin type the flow uses, as Kestra documents them (getPluginDocumentation).
      const inBody = (text: string) => JSON.stringify(text).slice(1, -1);
      expect(sent).toContain(inBody('io.kestra.plugin.core.log.Log:\n  message (string | array, required) — One or more message(s)'));
      expect(sent).toContain(inBody('level (one of ERROR, WARN, INFO, DEBUG, TRACE, default "INFO")'));
      // Checked by Kestra's validation (the double saw exactly the suggestion).
      const validations = kestra.requests.filter((r) => r.url === '/api/v1/main/flows/validate');
      expect(validations.map((r) => r.body.toString('utf8'))).toEqual([suggestion]);
      expect(kestra.contractViolations).toEqual([]);
    });
  }

  it('puts the properties of the plugin types the request names in the prompt, asking Kestra once per type', async () => {
    clear();
    const model = standIns['openai-compatible'];
    model.script = [fenced(flow('company.team', 'hello', 'hi'))];
    const ask = (userPrompt: string) => admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt({ userPrompt }) });
    expect((await ask('Add a Request task to call https://example.com, then a io.kestra.plugin.core.kv.Set')).status).toBe(200);
    const system = (model.calls[0]!.body.messages as Array<{ content: string }>)[0]!.content;
    expect(system).toContain('io.kestra.plugin.core.http.Request:\n  uri (string, required) — The fully-qualified URI');
    expect(system).toContain('method (one of GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, default "GET")');
    // Kestra could not document kv.Set (the double has no schema for it): left out, the generation goes on.
    expect(system).not.toContain('io.kestra.plugin.core.kv.Set:');
    // No flow in the editor and no name of Log in the request: Log's properties are not sent.
    expect(system).not.toContain('io.kestra.plugin.core.log.Log:');
    const documentation = () => kestra.requests.filter((r) => r.url.startsWith('/api/v1/plugins/io.')).map((r) => r.url);
    expect(documentation().sort()).toEqual(['/api/v1/plugins/io.kestra.plugin.core.http.Request', '/api/v1/plugins/io.kestra.plugin.core.kv.Set']);
    // Asked again about Request: its documentation is kept, Kestra is not asked again.
    expect((await ask('Make the Request a POST')).status).toBe(200);
    expect(documentation().sort()).toEqual(['/api/v1/plugins/io.kestra.plugin.core.http.Request', '/api/v1/plugins/io.kestra.plugin.core.kv.Set']);
    expect((model.calls[1]!.body.messages as Array<{ content: string }>)[0]!.content).toContain('io.kestra.plugin.core.http.Request:');
  });

  it('sends Kestra\'s validation errors back to the model, and answers its corrected flow', async () => {
    clear();
    const invalid = 'id: hello\nnamespace: company.team\ntasks: []\n';
    const valid = flow('company.team', 'hello', 'salut');
    standIns['openai-compatible'].script = [fenced(invalid), fenced(valid)];
    const res = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe(valid);
    const calls = standIns['openai-compatible'].calls;
    expect(calls).toHaveLength(2);
    const second = calls[1]!.body.messages as Array<{ role: string; content: string }>;
    expect(second.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(second[2]!.content).toContain('tasks: []');
    expect(second[3]!.content).toContain("Kestra's validation: tasks: must not be empty");
    const entry = (await auditEntries()).at(-1)!;
    // The tokens the provider counted, over both attempts (its client reads them from each answer).
    expect(JSON.parse(entry.details)).toMatchObject({ attempts: 2, providerId: 'openai', model: 'gpt-test', usage: { input: 2 * STAND_IN_USAGE.inputTokens, output: 2 * STAND_IN_USAGE.outputTokens } });
    expect(entry.outcome).toBe('SUCCESS');
  });

  it('sends back a flow the person could not save (Perch\'s flow-write checks), and refuses (422) after maxAttempts', async () => {
    const me = await signedInPerson(perch, admin, 'copilot-user');
    const copilot = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: `Copilot ${me.id}`, permissions: { COPILOT: ['USE'] } } });
    await bind(admin, { type: 'USER', externalId: me.id, roleId: copilot.json.id });
    await bind(admin, { type: 'USER', externalId: me.id, roleId: 'editor', namespaceId: 'company.team' });

    // First a flow in a namespace this person may not write, then one reading another namespace's KV, then a good one.
    clear();
    const elsewhere = flow('finance.secret', 'hello');
    const reaching = `${flow('company.team', 'hello').trimEnd()}\n  - id: peek\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ kv('pay', namespace='finance.secret') }}"\n`;
    const good = flow('company.team', 'hello', 'ok');
    standIns.gemini.script = [fenced(elsewhere), fenced(reaching), fenced(good)];
    const res = await me.browser.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'gemini' }) });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe(good);
    const turns = standIns.gemini.calls.map((c) => c.body.contents as Array<{ role: string; parts: Array<{ text: string }> }>);
    expect(turns).toHaveLength(3);
    expect(turns[1]!.at(-1)!.parts[0]!.text).toContain('could not save this flow (403)');
    expect(turns[1]!.at(-1)!.parts[0]!.text).toContain('FLOW CREATE in finance.secret');
    expect(turns[2]!.at(-1)!.parts[0]!.text).toContain('KVSTORE');
    // Only the suggestion that passed Perch's checks went to Kestra's validation.
    expect(kestra.requests.filter((r) => r.url === '/api/v1/main/flows/validate').map((r) => r.body.toString('utf8'))).toEqual([good]);

    clear();
    standIns.gemini.script = [fenced(elsewhere)];
    const refused = await me.browser.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'gemini' }) });
    expect(refused.status).toBe(422);
    expect(refused.json.message).toContain('after 3 attempt(s)');
    expect(refused.json.message).toContain('FLOW CREATE in finance.secret');
    expect(standIns.gemini.calls).toHaveLength(3);
    const entry = (await auditEntries()).at(-1)!;
    expect([entry.outcome, entry.actor_id, JSON.parse(entry.details).attempts]).toEqual(['FAILURE', me.id, 3]);
  });

  it('refuses (403) a person without COPILOT:USE: nothing reaches a provider or Kestra; the refusal is audited', async () => {
    const me = await signedInPerson(perch, admin, 'no-copilot');
    await bind(admin, { type: 'USER', externalId: me.id, roleId: 'developer', namespaceId: 'company.team' });
    clear();
    const res = await me.browser.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('COPILOT:USE');
    expect((await me.browser.fetch('GET', '/api/v1/main/ai/providers')).status).toBe(403);
    for (const s of Object.values(standIns)) expect(s.calls).toEqual([]);
    expect(kestra.requests).toEqual([]);
    const entry = (await auditEntries()).at(-1)!;
    expect([entry.outcome, entry.actor_id]).toEqual(['REFUSED', me.id]);
  });

  it('answers 502 naming the provider when it fails, 404 for an unknown provider', async () => {
    clear();
    standIns.anthropic.script = [{ status: 401, body: `{"error":{"message":"invalid x-api-key ${KEYS.anthropic}"}}` }];
    const res = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'claude' }) });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ message: 'AI provider claude (anthropic) failed: it answered HTTP 401', providerId: 'claude' });
    const failed = (await auditEntries()).at(-1)!;
    expect([failed.outcome, JSON.parse(failed.details)]).toEqual(['FAILURE', expect.objectContaining({ providerId: 'claude', model: 'claude-test', attempts: 1, status: 502 })]);
    const unknown = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'nope' }) });
    expect([unknown.status, unknown.json.message]).toEqual([404, 'AI provider nope not found']);
  });

  /** The server-sent events of a streamed answer, in order. */
  const eventsOf = (text: string) => text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const lines = block.split('\n');
    return { event: lines.find((l) => l.startsWith('event: '))!.slice(7), data: JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)) };
  });
  const STREAM = { accept: 'text/event-stream' };

  for (const kind of KINDS) {
    it(`streams ${kind}'s answer in its streaming protocol, then sends the checked YAML`, async () => {
      clear();
      const standIn = standIns[kind];
      const suggestion = flow('company.team', 'hello', 'hola');
      const answer = fenced(suggestion);
      standIn.script = [answer];
      const res = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { headers: STREAM, json: prompt({ providerId: IDS[kind], namespace: 'company.team', yaml: flow('company.team', 'hello') }) });
      expect(res.status, res.text).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = eventsOf(res.text);
      const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string);
      // The stand-in sent the text in three pieces; each reached the browser as its own event.
      expect(deltas).toEqual(piecesOf(answer));
      expect(events[0]).toEqual({ event: 'attempt', data: { attempt: 1 } });
      expect(events.at(-1)).toEqual({ event: 'result', data: { yaml: suggestion } });
      const [call] = standIn.calls;
      if (kind === 'gemini') expect(call!.path).toBe('/v1beta/models/gemini-test:streamGenerateContent?alt=sse');
      else expect(call!.body.stream).toBe(true);
      expect(call!.path).not.toContain(KEYS[kind]);
      // The streamed suggestion was checked by Kestra before it was offered.
      expect(kestra.requests.filter((r) => r.url === '/api/v1/main/flows/validate').map((r) => r.body.toString('utf8'))).toEqual([suggestion]);
      expect(JSON.parse((await auditEntries()).at(-1)!.details)).toMatchObject({ status: 200, providerId: IDS[kind], suggestionChars: suggestion.length, usage: { input: STAND_IN_USAGE.inputTokens, output: STAND_IN_USAGE.outputTokens } });
    });
  }

  it('streams the problems and the next attempt when a streamed answer fails the checks, and never offers an unchecked flow', async () => {
    clear();
    const invalid = 'id: hello\nnamespace: company.team\ntasks: []\n';
    const valid = flow('company.team', 'hello', 'ciao');
    standIns.ollama.script = [fenced(invalid), fenced(valid)];
    const res = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { headers: STREAM, json: prompt({ providerId: 'local' }) });
    const events = eventsOf(res.text);
    expect(events.filter((e) => e.event !== 'delta').map((e) => e.event)).toEqual(['attempt', 'problems', 'attempt', 'result']);
    expect(events.find((e) => e.event === 'problems')!.data.problems.join(' ')).toContain('tasks: must not be empty');
    expect(events.at(-1)!.data).toEqual({ yaml: valid });

    // Never passing: the stream ends with the 422 refusal as an event, no result.
    clear();
    standIns.ollama.script = [fenced(invalid)];
    const refused = eventsOf((await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { headers: STREAM, json: prompt({ providerId: 'local' }) })).text);
    expect(refused.some((e) => e.event === 'result')).toBe(false);
    expect(refused.at(-1)).toMatchObject({ event: 'error', data: { status: 422, message: expect.stringContaining('after 3 attempt(s)') } });
    expect((await auditEntries()).at(-1)!.outcome).toBe('FAILURE');

    // A provider failing mid-request: an error event naming it. A refusal before the stream keeps its status.
    clear();
    standIns.anthropic.script = [{ status: 500 }];
    const failed = eventsOf((await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { headers: STREAM, json: prompt({ providerId: 'claude' }) })).text);
    expect(failed.at(-1)).toEqual({ event: 'error', data: { status: 502, message: 'AI provider claude (anthropic) failed: it answered HTTP 500' } });
    const unknown = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { headers: STREAM, json: prompt({ providerId: 'nope' }) });
    expect(unknown.status).toBe(404);

    // A provider reporting an error after its stream began (Anthropic's error event, Ollama's error line,
    // an OpenAI-compatible error chunk): the generation fails naming it, with no result.
    for (const [kind, id] of [['anthropic', 'claude'], ['ollama', 'local'], ['openai-compatible', 'openai']] as const) {
      clear();
      standIns[kind].script = [{ text: fenced(flow('company.team', 'hello', 'hej')), streamError: true }];
      const broken = eventsOf((await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { headers: STREAM, json: prompt({ providerId: id }) })).text);
      expect(broken.some((e) => e.event === 'result'), kind).toBe(false);
      expect(broken.at(-1), kind).toEqual({ event: 'error', data: { status: 502, message: `AI provider ${id} (${kind}) failed: it reported an error while streaming` } });
    }
  });

  it('ends the provider\'s call when the person goes away mid-stream, and audits it as abandoned', async () => {
    clear();
    const standIn = standIns.anthropic;
    standIn.script = [fenced(flow('company.team', 'hello', 'adieu'))];
    let release!: () => void;
    standIn.hold = new Promise<void>((resolve) => { release = resolve; });
    const before = standIn.abandoned;
    try {
      const res = await request(`${perch.url}/api/v1/main/ai/generate/flow`, {
        method: 'POST',
        headers: { cookie: admin.cookieHeader()!, origin: perch.origin, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify(prompt({ providerId: 'claude' })),
      });
      expect(res.statusCode).toBe(200);
      // Read until the first piece of the model's text has arrived, then go away.
      let seen = '';
      for await (const chunk of res.body) {
        seen += chunk.toString();
        if (seen.includes('event: delta')) break;
      }
      res.body.destroy();
      await expect.poll(() => standIn.abandoned - before).toBe(1);
      await expect.poll(async () => JSON.parse((await auditEntries()).at(-1)!.details).reason).toBe('AI provider claude (anthropic) failed: the request was abandoned');
      expect(kestra.requests.filter((r) => r.url === '/api/v1/main/flows/validate')).toEqual([]);
    } finally {
      release();
      standIn.hold = undefined;
    }
  });

  it('keeps no key in answers, logs or audit entries, and no prompt text unless auditPrompts', async () => {
    const entries = await auditEntries();
    expect(entries.length).toBeGreaterThanOrEqual(8);
    const everything = [JSON.stringify(entries), logs.join('')];
    expect(logs.join('')).toContain('/ai/generate/flow');
    for (const key of Object.values(KEYS)) for (const text of everything) expect(text).not.toContain(key);
    for (const e of entries) {
      expect(JSON.parse(e.details).prompt).toBeUndefined();
      expect(e.details).not.toContain('Say hello in French');
    }
  });
});

describe('AI copilot: configuration and limits', () => {
  it('answers 503 JSON when no provider is configured', async () => {
    const { perch, admin } = await startSignedIn();
    try {
      const res = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() });
      expect(res.status).toBe(503);
      expect(res.json.message).toContain('No AI provider is configured');
      expect((await admin.fetch('GET', '/api/v1/main/ai/providers')).json).toEqual([]);
    } finally {
      await perch.close();
    }
  });

  it('limits requests per person per minute (429), keeps the prompt in the audit entry with auditPrompts, leaves other EE AI operations at 501', async () => {
    const standIn = await startProviderStandIn('ollama');
    standIn.script = [fenced(flow('company.team', 'hello'))];
    const env = await startBehindKestra('PT5S', {
      ai: { requestsPerMinute: 2, auditPrompts: true, providers: [{ id: 'local', kind: 'ollama', baseUrl: standIn.url, model: 'llama-test' }] },
    });
    try {
      for (let i = 0; i < 2; i++) expect((await env.admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() })).status).toBe(200);
      // No key configured: no Authorization header at all.
      expect(standIn.calls[0]!.headers.authorization).toBeUndefined();
      const third = await env.admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() });
      expect(third.status).toBe(429);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect(standIn.calls).toHaveLength(2);
      const entries = await env.perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'COPILOT').orderBy('seq').execute();
      expect(entries.map((e) => e.outcome)).toEqual(['SUCCESS', 'SUCCESS', 'FAILURE']);
      expect(JSON.parse(entries[0]!.details)).toMatchObject({ prompt: 'Say hello in French', providerKind: 'ollama', model: 'llama-test', promptChars: 19, attempts: 1 });
      const tests = await env.admin.fetch('POST', '/api/v1/main/ai/generate/test', { json: prompt() });
      expect(tests.status).toBe(501);
      expect(tests.json.message).toContain('generateTestSuite');
    } finally {
      await env.close();
      await standIn.close();
    }
  });
});
