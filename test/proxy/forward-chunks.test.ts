import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectForwarder, type DirectForwarder } from '../../backend/proxy/forward.js';

/**
 * How the read hot path (backend/proxy/forward.ts) hands a download's chunks to the caller's socket:
 * the forwarder on its own between a bare upstream and a bare node:http server, so each `res.write`
 * can be watched.
 */
describe('the read hot path, chunk by chunk', () => {
  const big = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  let upstream: Server;
  let front: Server;
  let forwarder: DirectForwarder;
  let frontUrl: string;
  /** The length of every chunk the forwarder wrote, per answer. */
  const written: number[] = [];

  const listen = async (server: Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
      res.end(big);
    });
    const origin = await listen(upstream);
    forwarder = createDirectForwarder({
      origin,
      host: new URL(origin).host,
      authorization: undefined,
      headersTimeout: 5000,
      ownedRequestHeaders: [],
      log: pino({ level: 'silent' }),
      observe: { kestraAnswered() {}, kestraFailed() {} },
      onFailure: (res: ServerResponse) => res.writeHead(502).end(),
    });
    front = createServer((req, res) => {
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => {
        written.push(chunk.length);
        return write(chunk);
      }) as typeof res.write;
      forwarder.forward({ req, res, signedIn: false }, '/big.bin', '');
    });
    frontUrl = await listen(front);
  });
  afterAll(async () => {
    front.closeAllConnections();
    upstream.closeAllConnections();
    await forwarder.close();
    await new Promise((r) => front.close(r));
    await new Promise((r) => upstream.close(r));
  });

  it('writes every byte of a download and never an empty chunk, though Kestra is paused for the caller', async () => {
    const res = await request(frontUrl);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(big.length));
    const bytes = Buffer.from(await res.body.arrayBuffer());
    expect(bytes.equals(big)).toBe(true);
    // Chunks of 64 KB against the socket's 16 KB high-water mark: Kestra was held back after each.
    expect(written.length).toBeGreaterThan(16);
    expect(written.filter((n) => n === 0)).toEqual([]);
    expect(written.reduce((a, b) => a + b, 0)).toBe(big.length);
  });
});
