import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { hashSessionId } from '../../backend/auth/sessions.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, grantRole, startPerch, type RunningPerch } from '../support/perch.js';
import { freePort } from '../support/postgres.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('the reverse proxy in front of Kestra', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let browser: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT2S' } } });
    browser = new Browser(perch);
    await browser.login();
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });
  beforeEach(() => kestra.clear());

  it('forwards the checked target byte for byte, with Perch’s Kestra credentials and none of the caller’s', async () => {
    const target = '/api/v1/main/flows/search?filters[namespace][PREFIX]=company.team&page=1&size=25&q=a%20b';
    const res = await browser.fetch('GET', target, {
      headers: {
        authorization: basic('mallory@example.com', 'Guess1234'),
        cookie: `${browser.cookieHeader()}; BASIC_AUTH=${Buffer.from('mallory@example.com:Guess1234').toString('base64')}; JWT=forged`,
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-user': 'admin',
        'x-real-ip': '10.0.0.1',
        'x-original-url': '/api/v1/main/secrets',
      },
    });
    expect(res.status).toBe(200);
    expect(kestra.requests).toHaveLength(1);
    const seen = kestra.requests[0]!;
    expect(seen.url).toBe(target);
    expect(seen.headers.authorization).toBe(basic(kestra.username, kestra.password));
    expect(seen.headers.cookie).toBeUndefined();
    for (const name of ['x-forwarded-for', 'x-forwarded-user', 'x-real-ip', 'x-original-url']) expect(seen.headers[name]).toBeUndefined();
    expect(kestra.contractViolations).toEqual([]);
  });

  it('does not let a Connection header strip what Perch adds', async () => {
    const res = await browser.fetch('GET', '/api/v1/main/flows/search', { headers: { connection: 'keep-alive, Authorization, Cookie, X-Forwarded-For, Host' } });
    expect(res.status).toBe(200);
    expect(kestra.requests[0]!.headers.authorization).toBe(basic(kestra.username, kestra.password));
  });

  it('creates a flow, runs it and reads it back through Perch', async () => {
    const yaml = 'id: hello\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n';
    const created = await browser.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    expect(created.status).toBe(200);
    expect(kestra.requests[0]!.body.toString()).toBe(yaml);
    const flow = await browser.fetch('GET', '/api/v1/main/flows/company.team/hello');
    expect(flow.json).toMatchObject({ id: 'hello', namespace: 'company.team' });
    expect(kestra.contractViolations).toEqual([]);
  });

  it('streams a large upload and download without changing a byte', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const boundary = 'perchboundary42';
    const multipart = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="fileContent"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      big,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const up = await browser.fetch('POST', '/api/v1/main/namespaces/company.team/files?path=%2Fbig.bin', {
      body: multipart,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(up.status).toBeLessThan(300);
    // Perch reads the file's state first (the audit log's before/after): the upload is the one POST.
    expect(kestra.requests.filter((r) => r.method === 'POST').map((r) => r.body.equals(multipart))).toEqual([true]);

    const down = await request(`${perch.url}/api/v1/main/namespaces/company.team/files?path=%2Fbig.bin`, { headers: { cookie: browser.cookieHeader()! } });
    expect(down.statusCode).toBe(200);
    const bytes = Buffer.from(await down.body.arrayBuffer());
    expect(bytes.equals(big)).toBe(true);
  });

  it('keeps Kestra’s own cookies and Basic-auth prompts away from the browser', async () => {
    const res = await browser.fetch('POST', '/api/v1/main/flows/validate', { body: 'x', headers: { 'content-type': 'application/x-yaml' } });
    expect(res.headers['www-authenticate']).toBeUndefined();
    const ui = await browser.fetch('GET', '/ui/main/flows');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('<div id="app">');
    expect([ui.headers['set-cookie'] ?? []].flat().join()).not.toMatch(/BASIC_AUTH=|JWT=/);
  });

  it('puts the stock UI’s login flag back when the browser lost it', async () => {
    const lost = new Browser(perch);
    lost.cookies.set('perch_session', browser.cookies.get('perch_session')!);
    const ui = await lost.fetch('GET', '/ui/main/flows');
    expect([ui.headers['set-cookie']].flat().join()).toMatch(/kestraBasicAuthenticated=true; Path=\//);
  });

  it('keeps an SSE stream open, and closes it the moment the session logs out', async () => {
    const yaml = 'id: waits\nnamespace: company.team\ntasks:\n  - id: stop\n    type: io.kestra.plugin.core.flow.Pause\n';
    await browser.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    const run = await browser.fetch('POST', '/api/v1/main/executions/company.team/waits', { body: '' });
    expect(run.status).toBe(200);
    const follower = new Browser(perch);
    await follower.login();
    const sse = await request(`${perch.url}/api/v1/main/executions/${run.json.id}/follow`, {
      headers: { cookie: follower.cookieHeader()!, accept: 'text/event-stream' },
    });
    expect(sse.statusCode).toBe(200);
    expect(sse.headers['content-type']).toMatch(/text\/event-stream/);
    const chunks: string[] = [];
    const ended = new Promise<string>((resolve) => {
      sse.body.on('data', (c: Buffer) => chunks.push(c.toString()));
      sse.body.on('end', () => resolve('end'));
      sse.body.on('error', () => resolve('error'));
      sse.body.on('close', () => resolve('close'));
    });
    await expect.poll(() => chunks.join(''), { timeout: 5000 }).toMatch(/PAUSED/);
    expect(perch.perch.ctx.sessions.openStreams(hashSessionId(follower.cookies.get('perch_session')!))).toBe(1);
    await follower.fetch('POST', '/api/v1/logout');
    await expect(Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 3000))])).resolves.not.toBe('still open');
    expect((await follower.fetch('GET', '/api/v1/main/flows/search')).status).toBe(401);
  });

  it('closes the SSE streams of a user the moment an owner disables them', async () => {
    const created = await browser.fetch('POST', '/api/v1/users', { json: { email: 'streamer@example.com', password: 'watching executions' } });
    const yaml = 'id: long\nnamespace: company.team\ntasks:\n  - id: stop\n    type: io.kestra.plugin.core.flow.Pause\n';
    await browser.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    const run = await browser.fetch('POST', '/api/v1/main/executions/company.team/long', { body: '' });
    await grantRole(perch.perch, created.json.id, 'viewer', 'company.team');
    const streamer = new Browser(perch);
    await streamer.login('streamer@example.com', 'watching executions');
    const sse = await request(`${perch.url}/api/v1/main/executions/${run.json.id}/follow`, { headers: { cookie: streamer.cookieHeader()! } });
    expect(sse.statusCode).toBe(200);
    const ended = new Promise<string>((resolve) => {
      sse.body.on('data', () => {});
      sse.body.on('end', () => resolve('end'));
      sse.body.on('error', () => resolve('error'));
    });
    await expect.poll(() => perch.perch.ctx.sessions.openStreams(hashSessionId(streamer.cookies.get('perch_session')!))).toBe(1);
    expect((await browser.fetch('PATCH', `/api/v1/users/${created.json.id}`, { json: { disabled: true } })).status).toBe(200);
    await expect(Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 3000))])).resolves.not.toBe('still open');
  });

  it('answers unknown Perch routes with a JSON 404 once signed in', async () => {
    const res = await browser.fetch('GET', '/perch/no-such-page');
    expect(res.status).toBe(404);
    expect(res.json.message).toMatch(/No such route/);
  });

  it('answers 502 with a clear message when Kestra refuses Perch’s credentials', async () => {
    const wrong = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: 'not-the-password' } } });
    try {
      const b = new Browser(wrong);
      await b.login();
      const res = await b.fetch('GET', '/api/v1/main/flows/search');
      expect(res.status).toBe(502);
      expect(res.json.message).toMatch(/Kestra refused Perch's credentials/);
      expect(res.headers['www-authenticate']).toBeUndefined();
    } finally {
      await wrong.close();
    }
  });

  it('answers 502 when Kestra is down and 504 when it is too slow, never hanging', async () => {
    const down = await startPerch({ config: { kestra: { url: `http://127.0.0.1:${await freePort()}`, username: 'a@b.c', password: 'x' } } });
    try {
      const b = new Browser(down);
      await b.login();
      const res = await b.fetch('GET', '/api/v1/main/flows/search');
      expect(res.status).toBe(502);
      expect(res.json.message).toMatch(/Kestra is unreachable/);
    } finally {
      await down.close();
    }

    // An upstream that accepts the connection and never answers.
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slow = await startPerch({ config: { kestra: { url: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, username: 'a@b.c', password: 'x', timeout: 'PT0.5S' } } });
    try {
      const b = new Browser(slow);
      await b.login();
      const res = await b.fetch('GET', '/api/v1/main/flows/search');
      expect(res.status).toBe(504);
      expect(res.json.message).toMatch(/did not answer within 500 ms/);
    } finally {
      await slow.close();
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('requires a session for the API and the UI, and never reaches Kestra without one', async () => {
    const anonymous = new Browser(perch);
    expect((await anonymous.fetch('GET', '/api/v1/main/flows/search')).status).toBe(401);
    expect((await anonymous.fetch('GET', '/api/v1/main/flows/search', { headers: { authorization: basic(kestra.username, kestra.password) } })).status).toBe(401);
    expect((await anonymous.fetch('GET', '/ui/assets/index.js')).status).toBe(401);
    expect(kestra.requests).toHaveLength(0);
  });

  it('redirects / to the UI', async () => {
    const res = await browser.fetch('GET', '/');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/ui/');
  });
});
