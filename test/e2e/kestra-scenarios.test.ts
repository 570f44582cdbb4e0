import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';

/**
 * What a Kestra team does on day one, end to end through Perch. The upstream is the Kestra API
 * double (a real Kestra OSS server cannot be obtained on these machines: see
 * docs/compatibility.md); every answer it gives is checked against Kestra's OpenAPI schemas.
 */

interface SseStream { events: () => string; closed: Promise<string>; }

async function follow(perch: RunningPerch, browser: Browser, path: string): Promise<SseStream> {
  const res = await request(`${perch.url}${path}`, { headers: { cookie: browser.cookieHeader()!, accept: 'text/event-stream' } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/text\/event-stream/);
  let text = '';
  const closed = new Promise<string>((resolve) => {
    res.body.on('data', (chunk: Buffer) => (text += chunk.toString()));
    res.body.on('end', () => resolve('end'));
    res.body.on('error', () => resolve('error'));
  });
  return { events: () => text, closed };
}

async function executionState(browser: Browser, id: string): Promise<string> {
  const res = await browser.fetch('GET', `/api/v1/main/executions/${id}`);
  expect(res.status).toBe(200);
  return res.json.state.current;
}

describe('a Kestra team’s first day, through Perch', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let browser: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    browser = new Browser(perch);
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
    expect(kestra.contractViolations).toEqual([]);
  });

  it('signs in at Perch and lands in the stock Kestra UI, never on Kestra’s login page', async () => {
    const first = await browser.fetch('GET', '/ui/');
    expect(first.status).toBe(302);
    expect(first.headers.location).toMatch(/^\/perch\/login\?from=/);
    await browser.login();
    expect(browser.cookies.get('kestraBasicAuthenticated')).toBe('true');
    const ui = await browser.fetch('GET', '/ui/main/flows');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('<div id="app">');
    const kestraLogin = await browser.fetch('GET', '/ui/main/login');
    expect(kestraLogin.status).toBe(302);
    expect(kestraLogin.headers.location).toMatch(/^\/perch\/login/);
  });

  it('creates flows with log, pause and subflow tasks, runs them and follows them over SSE to SUCCESS', async () => {
    const child = 'id: child\nnamespace: company.team\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: from the child\n';
    const parent = [
      'id: parent',
      'namespace: company.team',
      'tasks:',
      '  - id: greet',
      '    type: io.kestra.plugin.core.log.Log',
      '    message: hello from Perch',
      '  - id: call',
      '    type: io.kestra.plugin.core.flow.Subflow',
      '    namespace: company.team',
      '    flowId: child',
      '    wait: true',
      '',
    ].join('\n');
    for (const yaml of [child, parent]) {
      const res = await browser.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
      expect(res.status).toBe(200);
    }
    const run = await browser.fetch('POST', '/api/v1/main/executions/company.team/parent', { body: '' });
    expect(run.status).toBe(200);
    const stream = await follow(perch, browser, `/api/v1/main/executions/${run.json.id}/follow`);
    await expect.poll(stream.events, { timeout: 10_000 }).toMatch(/"current":"SUCCESS"/);
    await expect(stream.closed).resolves.toBe('end'); // Kestra ends the stream once the execution is done
    expect(await executionState(browser, run.json.id)).toBe('SUCCESS');

    const logs = await browser.fetch('GET', `/api/v1/main/logs/${run.json.id}`);
    expect(logs.status).toBe(200);
    expect(logs.json.map((l: { message: string }) => l.message)).toContain('hello from Perch');
  });

  it('resumes a paused execution with inputs', async () => {
    const yaml = [
      'id: approval',
      'namespace: company.team',
      'tasks:',
      '  - id: wait',
      '    type: io.kestra.plugin.core.flow.Pause',
      '    onResume:',
      '      - id: approved',
      '        type: BOOL',
      '  - id: after',
      '    type: io.kestra.plugin.core.log.Log',
      '    message: resumed',
      '',
    ].join('\n');
    expect((await browser.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
    const run = await browser.fetch('POST', '/api/v1/main/executions/company.team/approval', { body: '' });
    await expect.poll(() => executionState(browser, run.json.id), { timeout: 10_000 }).toBe('PAUSED');
    const boundary = 'resumeboundary';
    const form = `--${boundary}\r\nContent-Disposition: form-data; name="approved"\r\n\r\ntrue\r\n--${boundary}--\r\n`;
    const resumed = await browser.fetch('POST', `/api/v1/main/executions/${run.json.id}/actions/resume`, {
      body: form,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(resumed.status).toBeLessThan(300);
    await expect.poll(() => executionState(browser, run.json.id), { timeout: 10_000 }).toBe('SUCCESS');
  });

  it('uploads and downloads a namespace file, and sets and reads a KV entry', async () => {
    const content = 'name,score\nada,10\n';
    const boundary = 'filesboundary';
    const upload = await browser.fetch('POST', '/api/v1/main/namespaces/company.team/files?path=%2Fdata%2Fscores.csv', {
      body: `--${boundary}\r\nContent-Disposition: form-data; name="fileContent"; filename="scores.csv"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n--${boundary}--\r\n`,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(upload.status).toBeLessThan(300);
    const download = await browser.fetch('GET', '/api/v1/main/namespaces/company.team/files?path=%2Fdata%2Fscores.csv');
    expect(download.status).toBe(200);
    expect(download.text).toBe(content);

    const put = await browser.fetch('PUT', '/api/v1/main/namespaces/company.team/kv/threshold', { body: '42', headers: { 'content-type': 'application/json' } });
    expect(put.status).toBeLessThan(300);
    const got = await browser.fetch('GET', '/api/v1/main/namespaces/company.team/kv/threshold');
    expect(got.json).toMatchObject({ type: 'NUMBER', value: 42 });
  });

  it('logs out: the open SSE stream closes and the API refuses the old session', async () => {
    const yaml = 'id: forever\nnamespace: company.team\ntasks:\n  - id: hold\n    type: io.kestra.plugin.core.flow.Pause\n';
    await browser.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    const run = await browser.fetch('POST', '/api/v1/main/executions/company.team/forever', { body: '' });
    const stream = await follow(perch, browser, `/api/v1/main/executions/${run.json.id}/follow`);
    await expect.poll(stream.events, { timeout: 10_000 }).toMatch(/PAUSED/);
    const oldCookie = browser.cookieHeader()!;
    expect((await browser.fetch('POST', '/api/v1/logout')).status).toBe(204);
    await expect(Promise.race([stream.closed, new Promise((r) => setTimeout(() => r('still open'), 3000))])).resolves.not.toBe('still open');
    const replay = await request(`${perch.url}/api/v1/main/flows/search`, { headers: { cookie: oldCookie } });
    expect(replay.statusCode).toBe(401);
    await replay.body.dump();
  });
});
