import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, startBehindKestra } from '../support/perch.js';

/**
 * Bodies that Perch reads to authorize a Kestra call (flow YAML, multipart uploads), made to break
 * it: sent by a signed-in person who holds no permission at all, since the body is read before the
 * permission is checked. Perch answers each with a JSON error and goes on serving everyone.
 */
describe('hostile bodies on the Kestra calls Perch reads', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let nobody: Browser;

  beforeAll(async () => {
    env = await startBehindKestra();
    await env.admin.fetch('POST', '/api/v1/users', { json: { email: 'nobody@example.com', password: 'no permissions at all' } });
    nobody = new Browser(env.perch);
    await nobody.login('nobody@example.com', 'no permissions at all');
  });
  afterAll(() => env?.close());

  const stillServing = async () => expect((await nobody.fetch('GET', '/perch/health')).status).toBe(200);

  it.each(['/api/v1/main/flows/validate', '/api/v1/main/flows/import', '/api/v1/main/flows/bulk'])('answers a multipart file part cut short with 400 (%s), and lives on', async (path) => {
    const res = await nobody.fetch('POST', path, {
      body: '--b\r\nContent-Disposition: form-data; name="fileUpload"; filename="a.yml"\r\n\r\nid: a',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
    });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/multipart body has no closing boundary/);
    await stillServing();
  });

  it('reads a flow with 64,000 keys in one pass (the parser’s own duplicate check compared every pair)', async () => {
    const keys = Array.from({ length: 64_000 }, (_, i) => `k${i}: v`).join('\n');
    const res = await nobody.fetch('POST', '/api/v1/main/flows/validate', { body: `id: a\nnamespace: company\n${keys}\n`, headers: { 'content-type': 'application/x-yaml' } });
    expect(res.status).toBe(403);
    await stillServing();
    // Duplicates are still found, however far apart.
    const twice = await nobody.fetch('POST', '/api/v1/main/flows/validate', { body: `id: a\nnamespace: company\n${keys}\nk0: again\n`, headers: { 'content-type': 'application/x-yaml' } });
    expect(twice.status).toBe(400);
    expect(twice.json.message).toMatch(/unique/);
  });

  /** Sends a request head and `bodyBytes` of body on a raw connection; resolves with what came back once the server closed it. */
  function rawExchange(head: string, bodyBytes: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const url = new URL(env.perch.url);
      const socket = connect(Number(url.port), url.hostname);
      let answer = '';
      socket.on('data', (data) => (answer += data.toString('latin1')));
      socket.on('error', () => {}); // the server may close while the body is still being written
      socket.on('close', () => resolve(answer));
      setTimeout(() => reject(new Error(`the connection stayed open; got: ${answer.slice(0, 200)}`)), 15_000).unref();
      socket.write(head);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        for (let sent = 0; sent < bodyBytes && !socket.destroyed; sent += chunk.length) if (!socket.write(chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent)))) return socket.once('drain', pump);
      };
      pump();
    });
  }

  it.each([
    ['announced by its Content-Length', 'Content-Length: 17825792', 64 * 1024],
    ['found while reading a chunked body', 'Transfer-Encoding: chunked', 0],
  ])('answers a body over 16 MB with 413 and closes that connection (%s)', async (_name, framing, bodyBytes) => {
    const head = `POST /api/v1/main/flows/bulk HTTP/1.1\r\nHost: ${new URL(env.perch.url).host}\r\nCookie: ${env.admin.cookieHeader()}\r\nOrigin: ${env.perch.origin}\r\nContent-Type: application/x-yaml\r\n${framing}\r\n\r\n`;
    // A chunked body: 17 chunks of 1 MiB, more than the limit, then no end.
    const chunked = framing.startsWith('Transfer') ? Array.from({ length: 17 }, () => `100000\r\n${'a'.repeat(0x100000)}\r\n`).join('') : '';
    const answer = await rawExchange(head + chunked, bodyBytes);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain('Request body over 16777216 bytes');
    await stillServing();
  });
});
