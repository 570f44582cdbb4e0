import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBehindKestra } from '../support/perch.js';

/**
 * A body Perch reads itself must arrive within `bodyTimeout`: sign-in is open to anyone, and a body
 * trickled byte by byte would otherwise hold its connection and memory for ever. Uploads streamed to
 * Kestra are not bounded by it.
 */
describe('slow request bodies', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    env = await startBehindKestra('PT2S', { bodyTimeout: 'PT1S' });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await env?.close();
  });

  /** Opens a raw connection and sends `head` and the start of a body; resolves once the server closes it (or after `waitMs`: 'open'). */
  async function trickle(head: string, bodyStart: string, waitMs: number, drip?: string): Promise<{ closed: boolean; answer: string; socket: Socket }> {
    const url = new URL(env.perch.url);
    const socket = connect(Number(url.port), url.hostname);
    sockets.push(socket);
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (data) => (answer += data.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(head + bodyStart);
    // A drip of bytes now and then: a timeout on idle sockets alone would not catch this.
    const dripping = drip ? setInterval(() => socket.write(drip), 200) : undefined;
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), waitMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    clearInterval(dripping);
    return { closed, answer, socket };
  }

  it('cuts a sign-in whose body trickles past the deadline', async () => {
    const host = new URL(env.perch.url).host;
    const { closed, answer } = await trickle(
      `POST /perch/api/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`,
      '{"username":"',
      6000,
      'a',
    );
    expect(closed).toBe(true);
    expect(answer).toBe('');
    // Perch goes on serving.
    expect((await env.admin.fetch('GET', '/perch/health')).status).toBe(200);
  });

  it('lets a body that arrives in time through, even slowly', async () => {
    const body = JSON.stringify({ username: 'nobody@example.com', password: 'not the password' });
    const host = new URL(env.perch.url).host;
    const url = new URL(env.perch.url);
    const socket = connect(Number(url.port), url.hostname);
    sockets.push(socket);
    let answer = '';
    socket.on('data', (data) => (answer += data.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /perch/api/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 500));
    socket.write(body.slice(10));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (answer.includes('\r\n\r\n')) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    // The connection is kept for the next request, past the deadline: the timer was stopped.
    await new Promise((r) => setTimeout(r, 1500));
    expect(socket.destroyed).toBe(false);
  });

  it('does not bound an upload streamed to Kestra', async () => {
    const { admin, perch } = env;
    const host = new URL(perch.url).host;
    const boundary = 'slowboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="fileContent"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const { closed } = await trickle(
      `POST /api/v1/main/namespaces/company.team/files?path=%2Fslow.bin HTTP/1.1\r\nHost: ${host}\r\nCookie: ${admin.cookieHeader()}\r\n` +
        `Origin: ${perch.origin}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n`,
      head,
      3000,
      'x',
    );
    expect(closed).toBe(false);
  });
});
