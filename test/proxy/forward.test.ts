import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBehindUpstream, type Browser, type RunningPerch } from '../support/perch.js';

/**
 * The read hot path (backend/proxy/forward.ts): Kestra GETs and HEADs skip reply-from. These cases
 * need an upstream that misbehaves on purpose, so a bare node:http server stands in for Kestra.
 */
describe('the read hot path of the proxy', () => {
  let perch: RunningPerch;
  let browser: Browser;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: IncomingMessage[] = [];
  const closed: string[] = [];

  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ perch, browser, close } = await startBehindUpstream((req, res) => {
      seen.push(req);
      res.on('close', () => closed.push(req.url ?? ''));
      answer(req, res);
    }, 'PT2S'));
  });
  afterAll(() => close?.());
  beforeEach(() => {
    seen.length = 0;
    closed.length = 0;
  });

  it('passes Kestra’s answer on, without hop-by-hop headers, cookies or credential prompts', async () => {
    answer = (_req, res) => {
      res.writeHead(200, [
        'Content-Type', 'application/json',
        'Connection', 'keep-alive, X-Hop',
        'X-Hop', 'only for the next hop',
        'Keep-Alive', 'timeout=5',
        'Set-Cookie', 'JWT=kestra; Path=/',
        'WWW-Authenticate', 'Basic realm="kestra"',
        'X-Kestra', 'kept',
        'X-Kestra', 'twice',
      ]);
      res.end('{"results":[],"total":0}');
    };
    const res = await browser.fetch('GET', '/api/v1/main/flows/search?page=1&size=10');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ results: [], total: 0 });
    expect([res.headers['x-kestra']].flat()).toEqual(['kept', 'twice']);
    for (const name of ['x-hop', 'set-cookie', 'www-authenticate']) expect(res.headers[name]).toBeUndefined();
    // Perch's own server speaks for its connection to the caller, not Kestra's.
    expect(res.headers['keep-alive']).not.toBe('timeout=5');
    expect(seen[0]!.url).toBe('/api/v1/main/flows/search?page=1&size=10');
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('perch@kestra.test:kestra-secret').toString('base64')}`);
    expect(seen[0]!.headers.cookie).toBeUndefined();
  });

  it('forwards HEAD as HEAD', async () => {
    answer = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '24' });
      res.end(req.method === 'HEAD' ? undefined : '{"results":[],"total":0}');
    };
    const res = await request(`${perch.url}/api/v1/main/flows/search`, { method: 'HEAD', headers: { cookie: browser.cookieHeader()! } });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('24');
    expect(seen[0]!.method).toBe('HEAD');
  });

  it('stops reading from Kestra when the caller goes away mid-stream', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(1024, 1)), 5);
      res.on('close', () => clearInterval(timer));
    };
    const res = await request(`${perch.url}/api/v1/main/namespaces/company.team/files?path=%2Fendless.bin`, { headers: { cookie: browser.cookieHeader()! } });
    expect(res.statusCode).toBe(200);
    await new Promise<void>((resolve) => res.body.once('data', () => resolve()));
    res.body.destroy();
    await expect.poll(() => closed.length, { timeout: 3000 }).toBe(1);
  });

  it('holds Kestra back while a slow caller catches up, losing no byte', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
      res.end(big);
    };
    const res = await request(`${perch.url}/api/v1/main/namespaces/company.team/files?path=%2Fbig.bin`, { headers: { cookie: browser.cookieHeader()! } });
    expect(res.statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 300)); // Perch's socket buffers fill meanwhile
    const bytes = Buffer.from(await res.body.arrayBuffer());
    expect(bytes.length).toBe(big.length);
    expect(bytes.equals(big)).toBe(true);
  });

  it('answers 502 when Kestra breaks off before its headers', async () => {
    answer = (req) => req.socket.destroy();
    const res = await browser.fetch('GET', '/api/v1/main/flows/search');
    expect(res.status).toBe(502);
    expect(res.json.message).toMatch(/Kestra is unreachable/);
  });
});
