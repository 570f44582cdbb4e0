import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectForwarder } from '../../backend/proxy/forward.js';

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
};

/**
 * The forwarder alone between `upstream` and a bare node:http server whose every `res.write` is shown
 * to `watch` (the chunk and the response): what the caller's socket was given.
 */
async function forwardingFront(upstream: Server, watch: (chunk: Buffer, res: ServerResponse) => void) {
  const origin = `http://127.0.0.1:${await listen(upstream)}`;
  const forwarder = createDirectForwarder({
    origin,
    host: new URL(origin).host,
    authorization: undefined,
    headersTimeout: 5000,
    ownedRequestHeaders: [],
    log: pino({ level: 'silent' }),
    observe: { kestraAnswered() {}, kestraFailed() {} },
    onFailure: (res: ServerResponse) => res.writeHead(502).end(),
  });
  const front = createServer((req, res) => {
    const write = res.write.bind(res) as (chunk: Buffer) => boolean;
    res.write = ((chunk: Buffer) => {
      const ok = write(chunk);
      watch(chunk, res);
      return ok;
    }) as typeof res.write;
    forwarder.forward({ req, res, signedIn: false }, '/big.bin', '');
  });
  const port = await listen(front);
  const close = async () => {
    front.closeAllConnections();
    upstream.closeAllConnections();
    await forwarder.close();
    await new Promise((r) => front.close(r));
    await new Promise((r) => upstream.close(r));
  };
  return { port, close };
}

/**
 * How the read hot path (backend/proxy/forward.ts) hands a download's chunks to the caller's socket:
 * the forwarder on its own between a bare upstream and a bare node:http server, so each `res.write`
 * can be watched.
 */
describe('the read hot path, chunk by chunk', () => {
  const big = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  let frontUrl: string;
  let close: () => Promise<void>;
  /** The length of every chunk the forwarder wrote, per answer. */
  const written: number[] = [];

  beforeAll(async () => {
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
      res.end(big);
    });
    const front = await forwardingFront(upstream, (chunk) => written.push(chunk.length));
    frontUrl = `http://127.0.0.1:${front.port}`;
    close = front.close;
  });
  afterAll(() => close());

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

/**
 * A caller that stops reading must stop Kestra too: Perch holds at most a bounded amount of the answer
 * (its socket's buffer) and pauses Kestra, instead of reading a large download into memory.
 */
describe('the read hot path, for a caller that does not read', () => {
  const TOTAL = 64 * 1024 * 1024;
  /** Two of undici's 64 KB reads from Kestra: the one Perch could not pass on, and the one before it. */
  const HELD_BOUND = 128 * 1024;
  const piece = Buffer.alloc(64 * 1024, 7);
  let frontPort: number;
  let close: () => Promise<void>;
  /** Bytes Kestra's socket accepted (it writes only when the socket drains). */
  let offered = 0;
  /** The most of the answer Perch ever held in its own buffers (the caller's socket's writableLength). */
  let mostHeld = 0;

  beforeAll(async () => {
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
      const pump = () => {
        while (offered < TOTAL) {
          offered += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const front = await forwardingFront(upstream, (_chunk, res) => (mostHeld = Math.max(mostHeld, res.writableLength)));
    frontPort = front.port;
    close = front.close;
  });
  afterAll(() => close());

  it('pauses Kestra and holds a bounded part of the answer', async () => {
    const caller = connect(frontPort, '127.0.0.1');
    caller.write('GET /big.bin HTTP/1.1\r\nHost: perch\r\n\r\n');
    // The caller reads nothing after the first bytes (the kernel's buffers fill, then Perch's).
    await new Promise((r) => caller.once('data', r));
    caller.pause();
    // Wait until Kestra's side stops moving: every buffer on the way is full.
    let last = -1;
    for (let i = 0; i < 100 && offered !== last; i++) {
      last = offered;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(offered).toBe(last);
    // The loopback's socket buffers take a few MB; the rest of the 64 MB stays at Kestra.
    expect(offered).toBeLessThan(TOTAL / 2);
    expect(mostHeld).toBeLessThanOrEqual(HELD_BOUND);
    caller.destroy();
  });
});
