import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { type KestraDouble, patternByte, startKestraDouble } from './kestra-double.js';
import { loadContract } from './openapi-contract.js';

let k: KestraDouble;
let auth: Record<string, string>;

beforeAll(async () => {
  k = await startKestraDouble();
  auth = { authorization: k.authorization };
});

afterAll(async () => {
  await k?.close();
});

const api = (p: string): string => `${k.url}/api/v1/main${p}`;

async function getJson<T = any>(url: string, headers: Record<string, string> = auth): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

async function postYaml(url: string, yaml: string, method = 'POST'): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method, headers: { ...auth, 'content-type': 'application/x-yaml' }, body: yaml });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

function form(fields: Record<string, string | Blob>): FormData {
  const fd = new FormData();
  for (const [k2, v] of Object.entries(fields)) fd.append(k2, v);
  return fd;
}

/** Read an SSE stream, collecting `data:` payloads, until `stop` says so or the server ends the stream. */
async function readSse(url: string, stop: (events: any[]) => boolean, headers: Record<string, string> = auth): Promise<{ events: any[]; ended: boolean; contentType: string | null }> {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: any[] = [];
  let buf = '';
  let ended = false;
  const timeout = setTimeout(() => ac.abort(), 10_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = frame
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (data) events.push(JSON.parse(data));
      }
      if (stop(events)) break;
    }
  } finally {
    clearTimeout(timeout);
    if (!ended) ac.abort();
  }
  return { events, ended, contentType: res.headers.get('content-type') };
}

const APPROVAL_FLOW = `id: approval
namespace: company.team
description: Log, pause for approval, log again
labels:
  team: data
inputs:
  - id: name
    type: STRING
    defaults: world
  - id: count
    type: INT
    required: true
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }} x{{ inputs.count }}"
  - id: wait_for_approval
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOL
      - id: comment
        type: STRING
        required: false
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "approved={{ outputs.wait_for_approval.onResume.approved }} by {{ outputs.wait_for_approval.onResume.comment }}"
`;

describe('Kestra double: auth, cookies, CSRF, headers', () => {
  it('serves /configs/login without auth and /configs only with auth', async () => {
    const login = await getJson(`${k.url}/api/v1/configs/login`, {});
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ isBasicAuthInitialized: true });

    const anon = await fetch(`${k.url}/api/v1/configs`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Basic realm="Kestra"');

    const cfg = await getJson(`${k.url}/api/v1/configs`);
    expect(cfg.status).toBe(200);
    expect(cfg.body).toMatchObject({ edition: 'OSS', version: '2.0.0', isBasicAuthInitialized: true });
    expect(cfg.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(cfg.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('omits WWW-Authenticate when the Referer is the login page', async () => {
    const res = await fetch(`${k.url}/api/v1/configs`, { headers: { referer: `${k.url}/ui/main/login` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('reads the BASIC_AUTH cookie before the Authorization header', async () => {
    const good = Buffer.from(`${k.username}:${k.password}`).toString('base64');
    const bad = Buffer.from(`${k.username}:wrong`).toString('base64');
    expect((await fetch(api('/flows/search'), { headers: { cookie: `BASIC_AUTH=${good}` } })).status).toBe(200);
    expect((await fetch(api('/flows/search'), { headers: { cookie: `BASIC_AUTH=${bad}`, authorization: k.authorization } })).status).toBe(401);
    expect((await fetch(api('/flows/search'), { headers: { cookie: `other=1`, authorization: k.authorization } })).status).toBe(200);
    expect((await fetch(api('/flows/search'), { headers: { authorization: `Basic ${bad}` } })).status).toBe(401);
    expect((await fetch(api('/flows/search'))).status).toBe(401);
  });

  it('logs in with JSON credentials and sets the two cookies; logout needs the CSRF token and clears them', async () => {
    const badLogin = await fetch(`${k.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: k.username, password: 'nope' }) });
    expect(badLogin.status).toBe(401);

    const res = await fetch(`${k.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: k.username, password: k.password }) });
    expect(res.status).toBe(204);
    const setCookies = res.headers.getSetCookie();
    const b64 = Buffer.from(`${k.username}:${k.password}`).toString('base64');
    expect(setCookies).toContain(`BASIC_AUTH=${b64}; Path=/; HttpOnly; SameSite=Strict`);
    expect(setCookies).toContain('kestraBasicAuthenticated=true; Path=/');

    const cookie = `BASIC_AUTH=${b64}; kestraBasicAuthenticated=true`;
    expect((await fetch(api('/flows/search'), { headers: { cookie } })).status).toBe(200);

    // Mutating request with the session cookie and without a CSRF token → 403.
    expect((await fetch(`${k.url}/api/v1/logout`, { method: 'POST', headers: { cookie } })).status).toBe(403);
    // Header-authenticated clients are exempt.
    expect((await fetch(`${k.url}/api/v1/logout`, { method: 'POST', headers: auth })).status).toBe(204);

    // The UI page carries the token in a meta tag and in a cookie.
    const page = await fetch(`${k.url}/ui/main/flows`);
    const html = await page.text();
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(html)![1]!;
    const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith('__Host-csrfToken='))!.split(';')[0]!;
    const out = await fetch(`${k.url}/api/v1/logout`, { method: 'POST', headers: { cookie: `${cookie}; ${csrfCookie}`, 'x-csrf-token': token } });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie();
    expect(cleared.some((c) => c.startsWith('BASIC_AUTH=;') && c.includes('Max-Age=0'))).toBe(true);
    expect(cleared.some((c) => c.startsWith('kestraBasicAuthenticated=;') && c.includes('Max-Age=0'))).toBe(true);
  });

  it('answers unknown routes with 404 + X-Kestra-Edition: OSS', async () => {
    const res = await fetch(api('/no/such/route/here'), { headers: auth });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-kestra-edition')).toBe('OSS');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  it('records every request (raw target, raw headers, full body) before handling it', async () => {
    k.clear();
    const raw = '/api/v1/main/flows/search?filters%5Bnamespace%5D%5BPREFIX%5D=company&page=1';
    const { statusCode, body } = await request(`${k.url}${raw}`, { headers: { authorization: k.authorization, 'x-probe': 'A' } });
    await body.text();
    expect(statusCode).toBe(200);
    await fetch(`${k.url}/api/v1/main/flows`, { method: 'POST', headers: { 'content-type': 'application/x-yaml' }, body: 'id: x' }); // 401, still recorded
    expect(k.requests).toHaveLength(2);
    expect(k.requests[0]!.url).toBe(raw);
    expect(k.requests[0]!.rawHeaders).toContain('x-probe');
    expect(k.requests[1]!.method).toBe('POST');
    expect(k.requests[1]!.body.toString()).toBe('id: x');
  });
});

describe('Kestra double: flows', () => {
  it('creates, reads, updates, searches and lists revisions', async () => {
    const created = await postYaml(api('/flows'), APPROVAL_FLOW);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: 'approval', namespace: 'company.team', revision: 1, disabled: false, deleted: false, source: APPROVAL_FLOW });
    expect(created.body.tasks).toHaveLength(3);
    expect(created.body.inputs[0]).toMatchObject({ id: 'name', type: 'STRING' });

    expect((await postYaml(api('/flows'), APPROVAL_FLOW)).status).toBe(422); // already exists
    expect((await postYaml(api('/flows'), 'id: broken\nnamespace: company.team\ntasks: []\n')).status).toBe(422);
    expect((await postYaml(api('/flows'), 'namespace: company.team\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n')).status).toBe(422);
    expect((await postYaml(api('/flows'), 'id: bad\nnamespace: Company\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n')).status).toBe(422);
    expect((await postYaml(api('/flows'), 'id: [unclosed')).status).toBe(422);

    const got = await getJson(api('/flows/company.team/approval'));
    expect(got.status).toBe(200);
    expect(got.body.source).toBe(APPROVAL_FLOW);
    expect(got.body.labels).toEqual({ team: 'data' });

    const renamed = APPROVAL_FLOW.replace('id: approval', 'id: other');
    expect((await postYaml(api('/flows/company.team/approval'), renamed, 'PUT')).status).toBe(422);
    const updatedSource = APPROVAL_FLOW.replace('description: Log, pause', 'description: Updated; log, pause');
    const updated = await postYaml(api('/flows/company.team/approval'), updatedSource, 'PUT');
    expect(updated.status).toBe(200);
    expect(updated.body.revision).toBe(2);
    expect((await postYaml(api('/flows/company.team/missing'), updatedSource, 'PUT')).status).toBe(404);

    const revs = await getJson(api('/flows/company.team/approval/revisions'));
    expect(revs.body.map((r: any) => r.revision)).toEqual([1, 2]);

    await postYaml(api('/flows'), 'id: other\nnamespace: company.team.sub\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n');
    await postYaml(api('/flows'), 'id: outsider\nnamespace: marketing\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n');

    const prefix = await getJson(api('/flows/search?filters[namespace][PREFIX]=company.team&size=10&page=1'));
    expect(prefix.body.total).toBe(2);
    expect(prefix.body.results.map((f: any) => f.id).sort()).toEqual(['approval', 'other']);
    expect(prefix.body.results[0].source).toBeUndefined();
    const eq = await getJson(api('/flows/search?filters[namespace][EQUALS]=company.team'));
    expect(eq.body.results.map((f: any) => f.id)).toEqual(['approval']);
    const paged = await getJson(api('/flows/search?size=1&page=2'));
    expect(paged.body).toMatchObject({ total: 3 });
    expect(paged.body.results).toHaveLength(1);

    const ns = await getJson(api('/flows/distinct-namespaces'));
    expect(ns.body).toEqual(['company.team', 'company.team.sub', 'marketing']);

    const byNs = await getJson(api('/flows/marketing'));
    expect(byNs.body.map((f: any) => f.id)).toEqual(['outsider']);

    const del = await fetch(api('/flows/marketing/outsider'), { method: 'DELETE', headers: auth });
    expect(del.status).toBe(204);
    expect((await fetch(api('/flows/marketing/outsider'), { headers: auth })).status).toBe(404);
  });

  it('ignores the tenant value like OSS does (every tenant is main)', async () => {
    const other = await getJson(`${k.url}/api/v1/some-other-tenant/flows/company.team/approval`);
    expect(other.status).toBe(200);
    expect(other.body.id).toBe('approval');
    const search = await getJson(`${k.url}/api/v1/foo/flows/search?filters[namespace][EQUALS]=company.team`);
    expect(search.body.total).toBe(1);
  });
});

describe('Kestra double: executions, SSE, resume, logs', () => {
  it('runs Log + Pause, follows SSE until PAUSED, resumes with inputs and reaches SUCCESS', async () => {
    const res = await fetch(api('/executions/company.team/approval?labels=env:test'), { method: 'POST', headers: auth, body: form({ count: '3' }) });
    expect(res.status).toBe(200);
    const created = (await res.json()) as any;
    expect(created.state.current).toBe('CREATED');
    expect(created.inputs).toEqual({ name: 'world', count: 3 });
    expect(created.labels).toEqual(expect.arrayContaining([{ key: 'team', value: 'data' }, { key: 'env', value: 'test' }]));
    expect(created.url).toContain(`/ui/main/executions/company.team/approval/${created.id}`);
    const id: string = created.id;

    const sse = await readSse(api(`/executions/${id}/follow`), (ev) => ev.some((e) => e.state.current === 'PAUSED'));
    expect(sse.contentType).toContain('text/event-stream');
    const states = sse.events.map((e) => e.state.current);
    expect(states).toContain('RUNNING');
    expect(states[states.length - 1]).toBe('PAUSED');

    const paused = await getJson(api(`/executions/${id}`));
    expect(paused.body.state.current).toBe('PAUSED');
    expect(paused.body.tenantId).toBe('main');
    expect(paused.body.taskRunList.map((t: any) => [t.taskId, t.state.current])).toEqual([
      ['hello', 'SUCCESS'],
      ['wait_for_approval', 'PAUSED'],
    ]);

    const pausedSearch = await getJson(api('/executions/search?filters[state][EQUALS]=PAUSED&filters[namespace][PREFIX]=company'));
    expect(pausedSearch.body.results.map((e: any) => e.id)).toContain(id);

    // Missing required resume input → 422, still paused.
    const missing = await fetch(api(`/executions/${id}/actions/resume`), { method: 'POST', headers: auth, body: form({ comment: 'x' }) });
    expect(missing.status).toBe(422);

    // Follow while resuming: the stream ends by itself after the terminal state.
    const follow = readSse(api(`/executions/${id}/follow`), () => false);
    const resumed = await fetch(api(`/executions/${id}/actions/resume`), { method: 'POST', headers: auth, body: form({ approved: 'true', comment: 'alice' }) });
    expect(resumed.status).toBe(200);
    expect(((await resumed.json()) as any).state.current).toBe('RUNNING');
    const rest = await follow;
    expect(rest.ended).toBe(true);
    expect(rest.events[rest.events.length - 1].state.current).toBe('SUCCESS');

    const again = await fetch(api(`/executions/${id}/actions/resume`), { method: 'POST', headers: auth, body: form({ approved: 'true' }) });
    expect(again.status).toBe(409);

    const logs = await getJson(api(`/logs/${id}`));
    expect(logs.status).toBe(200);
    expect(logs.body.map((l: any) => l.message)).toEqual(['Hello world x3', 'approved=true by alice']);
    expect(logs.body[0]).toMatchObject({ namespace: 'company.team', flowId: 'approval', taskId: 'hello', executionId: id, level: 'INFO' });

    const logSse = await readSse(api(`/logs/${id}/follow`), () => false);
    expect(logSse.ended).toBe(true);
    expect(logSse.events.map((l) => l.message)).toEqual(['Hello world x3', 'approved=true by alice']);

    const done = await getJson(api('/executions/search?filters[namespace][EQUALS]=company.team&filters[state][IN]=SUCCESS,FAILED'));
    expect(done.body.results.map((e: any) => e.id)).toContain(id);
    const byFlow = await getJson(api('/executions?namespace=company.team&flowId=approval'));
    expect(byFlow.body.total).toBeGreaterThanOrEqual(1);
  });

  it('rejects missing required inputs and unknown flows', async () => {
    expect((await fetch(api('/executions/company.team/approval'), { method: 'POST', headers: auth })).status).toBe(422);
    expect((await fetch(api('/executions/company.team/nope'), { method: 'POST', headers: auth })).status).toBe(404);
    expect((await fetch(api('/executions/doesNotExist'), { headers: auth })).status).toBe(404);
  });

  it('streams log lines live while the execution runs', async () => {
    const res = await fetch(api('/executions/company.team/approval'), { method: 'POST', headers: auth, body: form({ count: '1', name: 'live' }) });
    const { id } = (await res.json()) as any;
    const live = await readSse(api(`/logs/${id}/follow`), (ev) => ev.length >= 1);
    expect(live.events[0].message).toBe('Hello live x1');
    await k.waitForExecution(id, ['PAUSED']);
    const killed = await fetch(api(`/executions/${id}/actions/kill`), { method: 'DELETE', headers: auth });
    expect(killed.status).toBe(200);
    expect(killed.headers.get('content-type')).toContain('text/json');
    expect((await k.waitForExecution(id)).state).toMatchObject({ current: 'KILLED' });
    expect((await fetch(api(`/executions/${id}/actions/kill`), { method: 'DELETE', headers: auth })).status).toBe(409);
  });

  it('runs a Subflow and waits for the child', async () => {
    k.addFlow('id: child\nnamespace: company.team\ninputs:\n  - id: who\n    type: STRING\ntasks:\n  - id: greet\n    type: io.kestra.plugin.core.log.Log\n    message: "child says hi to {{ inputs.who }}"\n');
    await postYaml(
      api('/flows'),
      'id: parent\nnamespace: company.team\ntasks:\n  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.team\n    flowId: child\n    inputs:\n      who: "{{ flow.id }}"\n  - id: end\n    type: io.kestra.plugin.core.log.Log\n    message: parent done\n',
    );
    const res = await fetch(api('/executions/company.team/parent?wait=true'), { method: 'POST', headers: auth });
    const parent = (await res.json()) as any;
    expect(parent.state.current).toBe('SUCCESS');
    const children = await getJson(api('/executions/search?filters[flowId][EQUALS]=child'));
    expect(children.body.total).toBe(1);
    const child = children.body.results[0];
    expect(child.state.current).toBe('SUCCESS');
    expect(child.trigger).toMatchObject({ id: 'call', type: 'io.kestra.plugin.core.flow.Subflow' });
    expect(child.inputs).toEqual({ who: 'parent' });
    const childLogs = await getJson(api(`/logs/${child.id}`));
    expect(childLogs.body[0].message).toBe('child says hi to parent');
  });

  it('fires webhooks without authentication', async () => {
    k.addFlow('id: hooked\nnamespace: company.team\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: x\ntriggers:\n  - id: wh\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: s3cr3t\n');
    const res = await fetch(api('/executions/webhook/company.team/hooked/s3cr3t'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.trigger.variables.body).toEqual({ a: 1 });
    expect((await fetch(api('/executions/webhook/company.team/hooked/wrong'), { method: 'POST' })).status).toBe(404);
  });
});

describe('Kestra double: trigger states', () => {
  it('lists, disables, enables, unlocks, restarts and deletes the trigger states of a flow, within the contract', async () => {
    k.addFlow('id: timed\nnamespace: company.trig\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: x\ntriggers:\n  - id: nightly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 2 * * *"\n  - id: off\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 3 * * *"\n    disabled: true\n');
    const list = await getJson(api('/triggers/company.trig/timed'));
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.results.map((t: any) => [t.triggerId, t.disabled, t.locked])).toEqual([['nightly', false, false], ['off', true, false]]);

    const set = (disabled: boolean) => fetch(api('/triggers/set-disabled'), { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'company.trig', flowId: 'timed', triggerId: 'nightly', disabled }) });
    const disabled = await set(true);
    expect(disabled.status).toBe(200);
    expect(await disabled.json()).toMatchObject({ namespace: 'company.trig', flowId: 'timed', triggerId: 'nightly', disabled: true });
    expect((await getJson(api('/triggers/company.trig/timed'))).body.results[0].disabled).toBe(true);
    expect(((await (await set(false)).json()) as any).disabled).toBe(false);

    const path = api('/triggers/company.trig/timed/nightly');
    expect((await fetch(`${path}/unlock`, { method: 'POST', headers: auth })).status).toBe(409);
    k.lockTrigger('company.trig', 'timed', 'nightly');
    const unlocked = await fetch(`${path}/unlock`, { method: 'POST', headers: auth });
    expect(unlocked.status).toBe(200);
    expect(((await unlocked.json()) as any).locked).toBe(false);
    expect((await fetch(`${path}/restart`, { method: 'POST', headers: auth })).status).toBe(200);

    await set(true);
    expect((await fetch(path, { method: 'DELETE', headers: auth })).status).toBe(204);
    // The state starts afresh from the YAML.
    expect((await getJson(api('/triggers/company.trig/timed'))).body.results[0].disabled).toBe(false);
    expect((await fetch(api('/triggers/company.trig/timed/nope/restart'), { method: 'POST', headers: auth })).status).toBe(404);
    expect((await fetch(api('/triggers/company.trig/missing'), { headers: auth })).status).toBe(404);
    expect(k.contractViolations).toEqual([]);
  });
});

describe('Kestra double: namespace files and KV', () => {
  it('round-trips a 1 MB namespace file and lists/deletes it', async () => {
    const data = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    const up = await fetch(api('/namespaces/company.team/files?path=/data/big.bin'), { method: 'POST', headers: auth, body: form({ fileContent: new Blob([data]) }) });
    expect(up.status).toBe(200);

    const down = await request(api('/namespaces/company.team/files?path=/data/big.bin'), { headers: auth });
    expect(down.statusCode).toBe(200);
    expect(down.headers['content-type']).toBe('application/octet-stream');
    expect(down.headers['content-length']).toBe(String(data.length));
    const got = Buffer.from(await down.body.arrayBuffer());
    expect(got.equals(data)).toBe(true);

    const root = await getJson(api('/namespaces/company.team/files/directory?path=/'));
    expect(root.body).toEqual([expect.objectContaining({ fileName: 'data', type: 'Directory' })]);
    const dir = await getJson(api('/namespaces/company.team/files/directory?path=/data'));
    expect(dir.body).toEqual([expect.objectContaining({ fileName: 'big.bin', type: 'File', size: data.length })]);

    expect((await fetch(api('/namespaces/company.team/files?path=/data/big.bin'), { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await fetch(api('/namespaces/company.team/files?path=/data/big.bin'), { headers: auth })).status).toBe(404);
  });

  it('imports a file written under /_flows/ as a flow, as Kestra 2.0 does (docs/compatibility.md)', async () => {
    const flow = (nsLine: string, id: string) => `id: ${id}\n${nsLine}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;
    const put = (path: string, text: string | Uint8Array, name = 'f.yml') =>
      fetch(api(`/namespaces/company.team/files?path=${encodeURIComponent(path)}`), { method: 'POST', headers: auth, body: form({ fileContent: new File([typeof text === 'string' ? text : new Uint8Array(text)], name) }) });
    // The first plain `namespace: ` line is rewritten to the URL's namespace…
    expect((await put('/_flows/a.yml', flow('namespace: company.finance', 'imported'))).status).toBe(200);
    expect((await getJson(api('/flows/company.team/imported'))).status).toBe(200);
    expect((await getJson(api('/flows/company.finance/imported'))).status).toBe(404);
    // …a quoted key is not: the flow lands where the YAML says.
    expect((await put('/_flows/b.yml', flow('"namespace": company.finance', 'elsewhere'))).status).toBe(200);
    expect((await getJson(api('/flows/company.finance/elsewhere'))).status).toBe(200);
    // ZIP entries go through the same import; a sub-folder of _flows/ is an error.
    const { zipSync, strToU8 } = await import('fflate');
    expect((await put('/ignored', zipSync({ '_flows/c.yml': strToU8(flow('namespace: x', 'zipped')) }), 'a.zip')).status).toBe(200);
    expect((await getJson(api('/flows/company.team/zipped'))).status).toBe(200);
    expect((await put('/_flows/deep/d.yml', flow('namespace: company.team', 'deep'))).status).toBe(400);
    // Everything else on the exact folder is refused; other spellings are ordinary files.
    expect((await fetch(api('/namespaces/company.team/files/directory?path=/_flows'), { method: 'POST', headers: auth })).status).toBe(400);
    expect((await fetch(api('/namespaces/company.team/files?from=/x&to=/_flows/x.yml'), { method: 'PUT', headers: auth })).status).toBe(400);
    expect((await put('_flows/e.yml', flow('namespace: company.team', 'relative'))).status).toBe(200);
    expect((await getJson(api('/flows/company.team/relative'))).status).toBe(404);
  });

  it('sets, gets, lists and deletes KV pairs', async () => {
    const put = (key: string, body: string, headers: Record<string, string> = {}) =>
      fetch(api(`/namespaces/company.team/kv/${key}`), { method: 'PUT', headers: { ...auth, 'content-type': 'text/plain', ...headers }, body });
    expect((await put('greeting', '"hello"', { description: 'a string' })).status).toBe(200);
    expect((await put('answer', '42')).status).toBe(200);
    expect((await put('conf', '{"a":[1,2]}', { ttl: 'PT1H' })).status).toBe(200);
    expect((await put('plain', 'just text')).status).toBe(200);
    await fetch(api('/namespaces/marketing/kv/elsewhere'), { method: 'PUT', headers: auth, body: 'true' });

    expect((await getJson(api('/namespaces/company.team/kv/greeting'))).body).toMatchObject({ type: 'STRING', value: 'hello' });
    expect((await getJson(api('/namespaces/company.team/kv/answer'))).body).toMatchObject({ type: 'NUMBER', value: 42 });
    expect((await getJson(api('/namespaces/company.team/kv/conf'))).body).toMatchObject({ type: 'JSON', value: { a: [1, 2] } });
    expect((await getJson(api('/namespaces/company.team/kv/plain'))).body).toMatchObject({ type: 'STRING', value: 'just text' });
    expect((await getJson(api('/namespaces/company.team/kv/missing'))).status).toBe(404);

    const list = await getJson(api('/kv?filters[namespace][EQUALS]=company.team'));
    expect(list.body.total).toBe(4);
    expect(list.body.results.map((e: any) => e.key)).toEqual(['answer', 'conf', 'greeting', 'plain']);
    expect(list.body.results.find((e: any) => e.key === 'greeting').description).toBe('a string');
    expect(list.body.results.find((e: any) => e.key === 'conf').expirationDate).toEqual(expect.any(String));

    const del = await fetch(api('/namespaces/company.team/kv/answer'), { method: 'DELETE', headers: auth });
    expect(await del.json()).toBe(true);
    expect((await getJson(api('/kv?filters[namespace][EQUALS]=company.team'))).body.total).toBe(3);
  });
});

describe('Kestra double: UI, helpers, delay', () => {
  it('serves the UI without auth, with the injection hook, CSRF meta and SPA fallback', async () => {
    const root = await fetch(`${k.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    for (const p of ['/ui/', '/ui/main/flows/edit/company.team/approval']) {
      const res = await fetch(`${k.url}${p}`);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('<meta name="html-head" content="replace">');
      expect(html).toMatch(/<meta name="csrf-token" content="[^"]+">/);
      expect(html).toContain('<div id="app-container"><div id="app"></div></div>');
      expect(html).toContain('<title>Kestra</title>');
    }
    const asset = await fetch(`${k.url}/ui/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${k.url}/ui/main/missing.png`)).status).toBe(404);
  });

  it('streams n bytes and a small JSON document (double-only helpers, behind auth)', async () => {
    expect((await fetch(api('/perch-double/json'))).status).toBe(401);
    const j = await getJson(api('/perch-double/json'));
    expect(j.status).toBe(200);
    expect(JSON.stringify(j.body).length).toBeGreaterThan(500);
    const n = 3 * 65536 + 17;
    const res = await request(api(`/perch-double/bytes?n=${n}`), { headers: auth });
    const buf = Buffer.from(await res.body.arrayBuffer());
    expect(buf.length).toBe(n);
    expect([0, 250, 251, 65536, n - 1].every((i) => buf[i] === patternByte(i))).toBe(true);
  });

  it('delays responses when asked', async () => {
    k.setDelay(200);
    const t0 = Date.now();
    await fetch(`${k.url}/api/v1/configs/login`);
    k.setDelay(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('sent no response that breaks the OpenAPI contract', () => {
    expect(k.contractViolations).toEqual([]);
  });
});

describe('OpenAPI contract validator', () => {
  it('indexes only the OSS operations of the spec', () => {
    const c = loadContract();
    expect(c.operations.length).toBe(202);
    expect(c.match('GET', '/api/v1/main/flows/search')?.op.operationId).toBe('searchFlows');
    expect(c.match('GET', '/api/v1/main/flows/a.b/c')?.op.operationId).toBe('getFlow');
    expect(c.match('GET', '/api/v1/main/executions/search')?.op.operationId).toBe('searchExecutions');
    expect(c.match('GET', '/api/v1/main/users')).toBeUndefined(); // EE-only
  });

  it('rejects a wrong Flow object', () => {
    const c = loadContract();
    const good = { id: 'ok', namespace: 'company.team', disabled: false, deleted: false, draft: false, tasks: [{ id: 't', type: 'io.kestra.plugin.core.log.Log' }] };
    expect(c.validateSchema('Flow', good).valid).toBe(true);
    const wrong = { id: 'bad id!', namespace: 'Company', disabled: 'no', tasks: [{ id: 't' }], revision: 0 };
    const { valid, errors } = c.validateSchema('Flow', wrong);
    expect(valid).toBe(false);
    const paths = errors.map((e) => `${e.instancePath} ${e.keyword}`);
    expect(paths).toEqual(expect.arrayContaining([' required', '/namespace pattern', '/disabled type', '/tasks/0 required', '/revision minimum']));
  });

  it('checks SSE events, content types and unlisted routes too', () => {
    const c = loadContract();
    const sse = c.check({ method: 'GET', pathname: '/api/v1/main/executions/abc/follow', status: 200, contentType: 'text/event-stream', sseEvent: { data: { id: 'abc' } } }, []);
    expect(sse?.operationId).toBe('followExecution');
    expect(sse?.errors?.some((e) => e.instancePath === '/data' && e.keyword === 'required')).toBe(true);
    expect(c.check({ method: 'GET', pathname: '/api/v1/main/flows/search', status: 200, contentType: 'text/html' }, [])?.message).toMatch(/content type/);
    expect(c.check({ method: 'GET', pathname: '/api/v1/main/perch-x/y', status: 200, contentType: 'application/json', body: {} }, [])?.message).toMatch(/neither an OSS operation/);
    expect(c.check({ method: 'GET', pathname: '/api/v1/main/flows/search', status: 200, contentType: 'application/json', body: { results: [], total: 0 } }, [])).toBeNull();
  });

  it('makes the double answer 500 and record the violation when a response breaks the contract', async () => {
    const d = await startKestraDouble();
    try {
      d.addFlow('id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n');
      d.setJsonTransform((body, info) => (info.pathname.endsWith('/flows/company.team/f') ? { ...(body as object), deleted: 'nope' } : body));
      const res = await fetch(`${d.url}/api/v1/main/flows/company.team/f`, { headers: { authorization: d.authorization } });
      expect(res.status).toBe(500);
      expect(d.contractViolations).toHaveLength(1);
      expect(d.contractViolations[0]).toMatchObject({ operationId: 'getFlow', status: 200 });
      expect(d.contractViolations[0]!.errors?.some((e) => e.instancePath === '/deleted')).toBe(true);
    } finally {
      await d.close();
    }
  });
});
