import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonBodyError, parseJsonBody, textField } from '../../backend/authz/json-body.js';
import { type Browser, finishedExecution, signedInWithRole, startBehindKestra } from '../support/perch.js';

/**
 * Kestra binds JSON bodies with Micronaut's ObjectMapper, which reads `["x"]` and `12` as the text "x" and
 * "12" where a String is expected, and a lone value as a list of one (docs/compatibility.md, "JSON bodies";
 * the Kestra double binds the render request that way). A body Perch reads to authorize is read in one
 * form: a field it reads as text must be text, and no object may repeat a key.
 */
describe('JSON bodies Perch reads to authorize', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let editor: Browser;
  let teamExecution: string;
  let financeExecution: string;
  const flowYaml = (namespace: string, id: string) =>
    `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 9 * * *"\n`;
  const direct = (method: string, path: string, body: string) =>
    fetch(`${env.kestra.url}${path}`, { method, body, headers: { authorization: env.kestra.authorization, 'content-type': 'application/json' } });
  const renders = () => env.kestra.requests.filter((r) => r.url.startsWith('/api/v1/main/expressions/render'));
  const NAMESPACE_EXPRESSION = '{{ flow.namespace }}';

  beforeAll(async () => {
    env = await startBehindKestra();
    env.kestra.addFlow(flowYaml('company.team', 'hello'));
    env.kestra.addFlow(flowYaml('company.finance', 'payroll'));
    env.kestra.addFlow(`${flowYaml('company.team', 'limited')}concurrency:\n  limit: 1\n  behavior: QUEUE\n`);
    env.kestra.addFlow(`${flowYaml('company.finance', 'limited')}concurrency:\n  limit: 1\n  behavior: QUEUE\n`);
    teamExecution = await finishedExecution(env.kestra, 'company.team', 'hello');
    financeExecution = await finishedExecution(env.kestra, 'company.finance', 'payroll');
    editor = await signedInWithRole(env.perch, env.admin, 'editor@example.com', 'editor', 'company.team');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('Kestra reads an execution id sent as a one-element list, or as a number, as the id itself', async () => {
    const res = await direct('POST', '/api/v1/main/expressions/render', JSON.stringify({ expressions: [NAMESPACE_EXPRESSION], executionId: [financeExecution] }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rendered: Record<string, string> }).rendered[NAMESPACE_EXPRESSION]).toBe('company.finance');
    const lone = await direct('POST', '/api/v1/main/expressions/render', JSON.stringify({ expressions: NAMESPACE_EXPRESSION, namespace: ['company.team'], flowId: 'hello' }));
    expect(lone.status).toBe(200);
    expect(((await lone.json()) as { rendered: Record<string, string> }).rendered[NAMESPACE_EXPRESSION]).toBe('company.team');
    const number = await direct('POST', '/api/v1/main/expressions/render', JSON.stringify({ expressions: [NAMESPACE_EXPRESSION], executionId: 12345 }));
    expect(number.status).toBe(404);
    expect(((await number.json()) as { message: string }).message).toContain("'12345'");
  });

  it('renders in the caller’s own execution and flow', async () => {
    env.kestra.clear();
    const byExecution = await editor.fetch('POST', '/api/v1/main/expressions/render', { json: { expressions: [NAMESPACE_EXPRESSION], executionId: teamExecution } });
    expect(byExecution.status, byExecution.text).toBe(200);
    expect(byExecution.json.rendered[NAMESPACE_EXPRESSION]).toBe('company.team');
    const byFlow = await editor.fetch('POST', '/api/v1/main/expressions/render', { json: { expressions: [NAMESPACE_EXPRESSION], namespace: 'company.team', flowId: 'hello', executionId: null } });
    expect(byFlow.status, byFlow.text).toBe(200);
    expect(byFlow.json.rendered[NAMESPACE_EXPRESSION]).toBe('company.team');
    expect(renders()).toHaveLength(2);
  });

  it('refuses a context field that is not text, which Kestra would read as another namespace’s execution', async () => {
    env.kestra.clear();
    for (const executionId of [[financeExecution], 12345, { id: financeExecution }]) {
      const res = await editor.fetch('POST', '/api/v1/main/expressions/render', { json: { expressions: [NAMESPACE_EXPRESSION], namespace: 'company.team', flowId: 'hello', executionId } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.message).toContain('`executionId` must be a string');
    }
    for (const field of ['namespace', 'flowId', 'flow']) {
      const res = await editor.fetch('POST', '/api/v1/main/expressions/render', { json: { expressions: [NAMESPACE_EXPRESSION], executionId: teamExecution, [field]: ['company.finance'] } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.message).toContain(`\`${field}\` must be a string`);
    }
    expect(renders()).toHaveLength(0);
  });

  it('refuses a body that repeats a key, whichever copy Kestra would keep', async () => {
    env.kestra.clear();
    const repeated = [
      '{"namespace":"company.finance","flowId":"payroll","triggerId":"daily","disabled":true,"namespace":"company.team"}',
      '{"namespace":"company.finance","flowId":"payroll","triggerId":"daily","disabled":true,"n\\u0061mespace":"company.team"}',
    ];
    for (const body of repeated) {
      const res = await editor.fetch('PUT', '/api/v1/main/triggers/set-disabled', { body, headers: { 'content-type': 'application/json' } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.message).toContain('repeats the key "namespace"');
    }
    const render = await editor.fetch('POST', '/api/v1/main/expressions/render', {
      body: `{"expressions":["${NAMESPACE_EXPRESSION}"],"executionId":"${financeExecution}","executionId":"${teamExecution}"}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(render.status, render.text).toBe(400);
    expect(env.kestra.requests.filter((r) => r.url.includes('/triggers/') || r.url.includes('/expressions/'))).toHaveLength(0);
    // The same change written once is Perch's to allow.
    const once = await editor.fetch('PUT', '/api/v1/main/triggers/set-disabled', { json: { namespace: 'company.team', flowId: 'hello', triggerId: 'daily', disabled: true } });
    expect(once.status, once.text).toBe(200);
  });

  it('a concurrency limit is written where the body says, so the body must name the path’s flow', async () => {
    const limit = (namespace: string, running: number) => ({ tenantId: 'main', namespace, flowId: 'limited', running });
    const runningOf = async (namespace: string) => {
      const res = await fetch(`${env.kestra.url}/api/v1/main/concurrency-limit/search`, { headers: { authorization: env.kestra.authorization } });
      return ((await res.json()) as { results: Array<{ namespace: string; running: number }> }).results.find((r) => r.namespace === namespace)?.running;
    };
    // Kestra reads the body, not the path: a PUT on the team's flow sets finance's counter.
    const directPut = await direct('PUT', '/api/v1/main/concurrency-limit/company.team/limited', JSON.stringify(limit('company.finance', 7)));
    expect(directPut.status).toBe(200);
    expect(await directPut.json()).toMatchObject({ namespace: 'company.finance', running: 7 });
    expect(await runningOf('company.finance')).toBe(7);
    expect(await runningOf('company.team')).toBe(0);

    env.kestra.clear();
    const attacks: unknown[] = [
      limit('company.finance', 0),
      { ...limit('company.team', 0), flowId: 'hello' },
      { namespace: 'company.team', flowId: 'limited', running: 0 },
      { ...limit('company.team', 0), tenantId: 'other' },
      { ...limit('company.team', 0), namespace: ['company.team'] },
    ];
    for (const json of attacks) {
      const res = await editor.fetch('PUT', '/api/v1/main/concurrency-limit/company.team/limited', { json });
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    const repeated = await editor.fetch('PUT', '/api/v1/main/concurrency-limit/company.team/limited', {
      body: '{"tenantId":"main","namespace":"company.finance","flowId":"limited","running":0,"namespace":"company.team"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(repeated.status, repeated.text).toBe(400);
    const wrongFlow = await editor.fetch('PUT', '/api/v1/main/concurrency-limit/company.team/limited', { json: limit('company.finance', 0) });
    expect(wrongFlow.status).toBe(422);
    expect(wrongFlow.json.message).toContain('"company.finance"');
    expect(env.kestra.requests.filter((r) => r.url.includes('/concurrency-limit/'))).toHaveLength(0);
    expect(await runningOf('company.finance')).toBe(7);

    // The body naming the path's own flow is the editor's to change.
    const own = await editor.fetch('PUT', '/api/v1/main/concurrency-limit/company.team/limited', { json: limit('company.team', 3) });
    expect(own.status, own.text).toBe(200);
    expect(await runningOf('company.team')).toBe(3);
  });

  it('refuses a bulk filter whose field is not text', async () => {
    env.kestra.clear();
    const res = await editor.fetch('DELETE', '/api/v1/main/triggers/delete/by-query', { json: { filters: [{ field: ['namespace'], operation: 'EQUALS', value: 'company.finance' }] } });
    expect(res.status, res.text).toBe(400);
    expect(env.kestra.requests.filter((r) => r.url.includes('/triggers/'))).toHaveLength(0);
  });
});

describe('parseJsonBody', () => {
  const repeats = (text: string) => {
    try {
      parseJsonBody(text, 'not JSON');
      return null;
    } catch (error) {
      expect(error).toBeInstanceOf(JsonBodyError);
      return (error as Error).message;
    }
  };

  it('finds a key repeated in any one object, however it is spelled or nested', () => {
    expect(repeats('{"a":1,"a":2}')).toContain('"a"');
    expect(repeats('{"a":1,"\\u0061":2}')).toContain('"a"');
    expect(repeats('[{"x":[1,2]},{"y":{"z":1,"w":{"v":1,"v":2}}}]')).toContain('"v"');
    expect(repeats('{"outer":{"a":1},"b":[{"c":1},{"c":2}],"outer":0}')).toContain('"outer"');
    expect(repeats(' { "a" : 1 , "a" : 1 } ')).toContain('"a"');
  });

  it('accepts keys that repeat only across objects, and strings that look like keys', () => {
    expect(repeats('[{"a":1},{"a":2}]')).toBeNull();
    expect(repeats('{"a":{"a":{"a":1}},"b":"a"}')).toBeNull();
    expect(repeats('{"a":"x\\",\\"a\\":\\"y","b":["a","a"],"c":"{\\"a\\":1,\\"a\\":2}"}')).toBeNull();
    expect(repeats('{"a\\\\":1,"a":2}')).toBeNull();
    const many = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ namespace: `n${i}`, id: `f${i}` })));
    expect(repeats(many)).toBeNull();
    expect(repeats(`${many.slice(0, -2)},"id":"again"}]`)).toContain('"id"');
  });

  it('refuses what is not JSON with the caller’s message', () => {
    expect(repeats('{"a":1,}')).toBe('not JSON');
    expect(repeats('')).toBe('not JSON');
  });

  it('reads a text field as text only', () => {
    expect(textField({ a: 'x' }, 'a')).toBe('x');
    expect(textField({ a: null }, 'a')).toBeUndefined();
    expect(textField({}, 'a')).toBeUndefined();
    expect(textField(['x'], 'a')).toBeUndefined();
    for (const value of [['x'], 1, true, { x: 1 }]) expect(() => textField({ a: value }, 'a')).toThrow(JsonBodyError);
  });
});
