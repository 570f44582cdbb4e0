/**
 * "Explain this failure" and "propose a fix" on a failed execution (issue 24, point 3): read as the
 * person may (COPILOT:USE, then the execution, its logs and its flow through the proxy's decisions;
 * a namespace-scoped person only in their namespaces), the failure sent bounded and with the tenant's
 * secrets redacted, the explanation whole or streamed, the fix through the check-and-retry loop, one
 * audit entry per request. An OpenAI-compatible stand-in is the model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedLogLines, MAX_LOG_CHARS, MAX_LOG_LINES } from '../../backend/ai/failure-context.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { startBehindKestra, type Browser, type RunningPerch } from '../support/perch.js';
import { piecesOf, startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const SECRET = 'hunter2-Pa55-word-91';
const failing = (namespace: string, id: string) =>
  `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: connect\n    type: io.kestra.plugin.core.log.Log\n    message: "connecting with ${SECRET} / ${Buffer.from(SECRET).toString('base64')}"\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n    errorMessage: "Connection refused: db.internal:5432"\n`;
const fixed = (namespace: string, id: string) => `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: connect\n    type: io.kestra.plugin.core.log.Log\n    message: connected\n`;
const fenced = (yaml: string) => `Fixed:\n\`\`\`yaml\n${yaml}\`\`\`\n`;
const ask = { conversationId: 'c0ffee00-0000-4000-8000-00000000e11a' };
const STREAM = { accept: 'text/event-stream' };

const eventsOf = (text: string) => text.split('\n\n').filter((b) => b.trim()).map((block) => {
  const lines = block.split('\n');
  return { event: lines.find((l) => l.startsWith('event: '))!.slice(7), data: JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6)) };
});

describe('AI copilot on a failed execution', () => {
  let model: ProviderStandIn;
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let perch: RunningPerch;
  let admin: Browser;
  let kestra: KestraDouble;
  const failedIn: Record<string, string> = {};
  let succeeded: string;

  const run = async (namespace: string, id: string, source: string, state: 'FAILED' | 'SUCCESS') => {
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
    const started = await admin.fetch('POST', `/api/v1/main/executions/${namespace}/${id}`);
    expect(started.status, started.text).toBe(200);
    await kestra.waitForExecution(started.json.id, [state]);
    return started.json.id as string;
  };
  const clear = () => {
    kestra.clear();
    model.calls.length = 0;
  };
  const auditEntries = () => perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'COPILOT').orderBy('seq').execute();
  const sentToModel = () => JSON.stringify(model.calls.map((c) => c.body));

  beforeAll(async () => {
    model = await startProviderStandIn('openai-compatible');
    env = await startBehindKestra('PT5S', { ai: { maxAttempts: 3, requestsPerMinute: 100, providers: [{ id: 'openai', kind: 'openai-compatible', baseUrl: `${model.url}/v1`, model: 'gpt-test', apiKey: 'sk-exec-help' }] } });
    ({ perch, admin, kestra } = env);
    const secret = await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'DB_PASSWORD', value: SECRET } });
    expect(secret.status, secret.text).toBe(200);
    failedIn['company.team'] = await run('company.team', 'nightly', failing('company.team', 'nightly'), 'FAILED');
    failedIn['finance.books'] = await run('finance.books', 'ledger', failing('finance.books', 'ledger'), 'FAILED');
    succeeded = await run('company.team', 'fine', fixed('company.team', 'fine'), 'SUCCESS');
  });
  afterAll(async () => {
    await env?.close();
    await model?.close();
  });

  it('explains a failure from the execution, its failed task, its logs and its flow, with the secrets redacted', async () => {
    clear();
    model.script = ['The task **boom** failed: the database refused the connection.'];
    const id = failedIn['company.team']!;
    const res = await admin.fetch('POST', `/api/v1/main/ai/executions/${id}/explain`, { json: ask });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/markdown/);
    expect(res.text).toBe('The task **boom** failed: the database refused the connection.');
    expect(model.calls).toHaveLength(1);
    const sent = sentToModel();
    expect(sent).toContain(`Execution ${id} of flow company.team.nightly`);
    expect(sent).toContain('- task boom');
    expect(sent).toContain('Connection refused: db.internal:5432');
    expect(sent).toContain('type: io.kestra.plugin.core.execution.Fail');
    expect(sent).toContain('Explain why this execution failed.');
    // The secret's value and its base64 form were replaced in the log line; the flow source itself carries the literal (it is the person's own text).
    expect(sent).toContain('connecting with [secret DB_PASSWORD redacted] / [secret DB_PASSWORD redacted]');
    const logPart = sent.slice(sent.indexOf('The failure:'));
    expect(logPart).not.toContain(SECRET);
    expect(logPart).not.toContain(Buffer.from(SECRET).toString('base64'));
    const entry = (await auditEntries()).at(-1)!;
    expect([entry.resource_id, entry.outcome, entry.namespace]).toEqual(['explainExecution', 'SUCCESS', 'company.team']);
    expect(JSON.parse(entry.details)).toMatchObject({ executionId: id, redactions: 2, logLines: 2, providerId: 'openai', attempts: 1, status: 200 });
    expect(entry.details).not.toContain(SECRET);
  });

  it('streams the explanation as it is written', async () => {
    clear();
    const answer = 'The Fail task stopped the run: the database at db.internal:5432 refused the connection.';
    model.script = [answer];
    const res = await admin.fetch('POST', `/api/v1/main/ai/executions/${failedIn['company.team']}/explain`, { headers: STREAM, json: { ...ask, userPrompt: 'Is it the network?' } });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = eventsOf(res.text);
    expect(events.filter((e) => e.event === 'delta').map((e) => e.data.text)).toEqual(piecesOf(answer));
    expect(events.at(-1)).toEqual({ event: 'result', data: { text: answer } });
    expect(model.calls[0]!.body.stream).toBe(true);
    expect(sentToModel()).toContain('Is it the network?');
  });

  it('proposes a fix through the check-and-retry loop: Kestra\'s validation errors go back to the model', async () => {
    clear();
    const invalid = 'id: nightly\nnamespace: company.team\ntasks: []\n';
    const good = fixed('company.team', 'nightly');
    model.script = [fenced(invalid), fenced(good)];
    const id = failedIn['company.team']!;
    const res = await admin.fetch('POST', `/api/v1/main/ai/executions/${id}/fix`, { json: ask });
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.text).toBe(good);
    expect(model.calls).toHaveLength(2);
    const second = model.calls[1]!.body.messages as Array<{ role: string; content: string }>;
    expect(second.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(second[0]!.content).toContain('The failure to fix:');
    expect(second[0]!.content).toContain('Connection refused: db.internal:5432');
    expect(second[0]!.content).toContain('io.kestra.plugin.core.log.Log:\n  message');
    expect(second[3]!.content).toContain("Kestra's validation: tasks: must not be empty");
    expect(kestra.requests.filter((r) => r.url === '/api/v1/main/flows/validate').map((r) => r.body.toString('utf8'))).toEqual([invalid, good]);
    // Nothing was saved: the person applies and saves through the proxy.
    expect(kestra.requests.some((r) => r.method !== 'GET' && r.url.startsWith('/api/v1/main/flows/company.team'))).toBe(false);
    const entry = (await auditEntries()).at(-1)!;
    expect([entry.resource_id, entry.outcome]).toEqual(['fixExecution', 'SUCCESS']);
    expect(JSON.parse(entry.details)).toMatchObject({ executionId: id, attempts: 2, suggestionChars: good.length });

    // Streamed: generateFlow's events; a fix that never passes ends with a 422 error event.
    clear();
    model.script = [fenced(invalid)];
    const refused = eventsOf((await admin.fetch('POST', `/api/v1/main/ai/executions/${id}/fix`, { headers: STREAM, json: ask })).text);
    expect(refused.filter((e) => e.event !== 'delta').map((e) => e.event)).toEqual(['attempt', 'problems', 'attempt', 'problems', 'attempt', 'problems', 'error']);
    expect(refused.at(-1)!.data).toMatchObject({ status: 422 });
    expect((await auditEntries()).at(-1)!.outcome).toBe('FAILURE');
  });

  it('lets a namespace-scoped person use it in their namespace only: 403 elsewhere, nothing sent to the provider', async () => {
    const me = await signedInPerson(perch, admin, 'exec-help');
    const copilot = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: `Copilot ${me.id}`, permissions: { COPILOT: ['USE'] } } });
    await bind(admin, { type: 'USER', externalId: me.id, roleId: copilot.json.id });
    await bind(admin, { type: 'USER', externalId: me.id, roleId: 'editor', namespaceId: 'company.team' });

    clear();
    model.script = ['Network.'];
    expect((await me.browser.fetch('POST', `/api/v1/main/ai/executions/${failedIn['company.team']}/explain`, { json: ask })).status).toBe(200);
    expect(model.calls).toHaveLength(1);

    clear();
    const other = failedIn['finance.books']!;
    for (const op of ['explain', 'fix']) {
      const res = await me.browser.fetch('POST', `/api/v1/main/ai/executions/${other}/${op}`, { json: ask });
      expect(res.status, res.text).toBe(403);
      expect(res.json.message).toContain(`Reading execution ${other}`);
    }
    expect(model.calls).toEqual([]);
    // Only the proxy's lookup of the execution's namespace reached Kestra: not the execution, its logs or its flow.
    expect(kestra.requests.filter((r) => r.url.startsWith('/api/v1/main/logs') || r.url.startsWith('/api/v1/main/flows'))).toEqual([]);
    const refusal = (await auditEntries()).at(-1)!;
    expect([refusal.resource_id, refusal.outcome, refusal.actor_id]).toEqual(['fixExecution', 'REFUSED', me.id]);

    // Without COPILOT:USE: refused before anything is read.
    const plain = await signedInPerson(perch, admin, 'exec-help-plain');
    await bind(admin, { type: 'USER', externalId: plain.id, roleId: 'editor', namespaceId: 'company.team' });
    clear();
    const res = await plain.browser.fetch('POST', `/api/v1/main/ai/executions/${failedIn['company.team']}/explain`, { json: ask });
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('COPILOT:USE');
    expect(kestra.requests).toEqual([]);
    expect(model.calls).toEqual([]);
  });

  it('reads a tenant with its own Kestra in that Kestra, not in Perch\'s configured one', async () => {
    const own = await startKestraDouble();
    try {
      const created = await admin.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'acme', isolation: { mode: 'INSTANCE', kestraUrl: own.url, username: own.username, password: own.password } } });
      expect(created.status, created.text).toBe(200);
      const alice = await signedInPerson(perch, admin, 'exec-help-acme');
      expect((await admin.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: alice.email } })).status).toBe(204);
      expect((await admin.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: alice.id, roleId: 'admin' } })).status).toBe(200);
      const acme = alice.browser;
      const saved = await acme.fetch('POST', '/api/v1/acme/flows', { body: failing('acme.ops', 'sync'), headers: { 'content-type': 'application/x-yaml' } });
      expect(saved.status, saved.text).toBe(200);
      const started = await acme.fetch('POST', '/api/v1/acme/executions/acme.ops/sync');
      expect(started.status, started.text).toBe(200);
      await own.waitForExecution(started.json.id, ['FAILED']);
      clear();
      own.clear();
      model.script = ['The task **boom** failed in acme.'];
      const res = await acme.fetch('POST', `/api/v1/acme/ai/executions/${started.json.id}/explain`, { json: ask });
      expect(res.status, res.text).toBe(200);
      expect(res.text).toBe('The task **boom** failed in acme.');
      expect(sentToModel()).toContain(`Execution ${started.json.id} of flow acme.ops.sync`);
      expect(own.requests.some((r) => r.url.includes(`/logs/${started.json.id}`))).toBe(true);
      // Perch's configured Kestra was not asked for any of it.
      expect(kestra.requests).toEqual([]);

      // An execution of Perch's configured Kestra is not acme's: acme's Kestra has none such, no model is asked.
      clear();
      own.clear();
      const elsewhere = await acme.fetch('POST', `/api/v1/acme/ai/executions/${failedIn['company.team']}/explain`, { json: ask });
      expect([403, 404], elsewhere.text).toContain(elsewhere.status);
      expect(model.calls).toEqual([]);
      expect(kestra.requests).toEqual([]);
      expect(own.requests.some((r) => r.url.includes(failedIn['company.team']!))).toBe(true);
    } finally {
      await admin.fetch('DELETE', '/api/v1/tenants/acme');
      await own.close();
    }
  });

  it('refuses an execution that did not fail (409) and an unknown one, asking no provider', async () => {
    clear();
    const res = await admin.fetch('POST', `/api/v1/main/ai/executions/${succeeded}/explain`, { json: ask });
    expect(res.status).toBe(409);
    expect(res.json.message).toContain('not FAILED');
    const unknown = await admin.fetch('POST', '/api/v1/main/ai/executions/nope404/fix', { json: ask });
    expect([403, 404]).toContain(unknown.status);
    expect(model.calls).toEqual([]);
  });
});

describe('the log lines sent to the model', () => {
  const none = { redact: (text: string) => text, replaced: 0 };
  it('keeps the last lines, each cut, within the whole cap', () => {
    const logs = Array.from({ length: 500 }, (_, i) => ({ timestamp: 't', level: 'INFO', taskId: 'a', message: `line ${i}` }));
    const { lines, leftOut } = boundedLogLines(logs, none);
    expect(lines).toHaveLength(MAX_LOG_LINES);
    expect(lines.at(-1)).toBe('t INFO [a] line 499');
    expect(leftOut).toBe(300);
    const long = Array.from({ length: 50 }, () => ({ level: 'ERROR', message: 'x'.repeat(10_000) }));
    const bounded = boundedLogLines(long, none);
    expect(bounded.lines.every((l) => l.length < 2_100)).toBe(true);
    expect(bounded.lines.join('\n').length).toBeLessThanOrEqual(MAX_LOG_CHARS);
  });
});
