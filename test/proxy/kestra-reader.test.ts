/**
 * Perch's own reads from Kestra (kestra-reader.ts): Perch's account sent, 404 read as "none", every
 * other failure an error that callers answer 502 with, never read as an answer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KestraReadError, KestraReader } from '../../backend/proxy/kestra-reader.js';

describe('KestraReader', () => {
  let server: Server;
  let origin: string;
  const seen: { method?: string; url?: string; authorization?: string; contentType?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
        const answers: Record<string, () => void> = {
          '/json': () => res.end('{"namespace":"company.team"}'),
          '/missing': () => res.writeHead(404).end('{"message":"not found"}'),
          '/empty': () => res.end(''),
          '/broken': () => res.writeHead(500).end('boom'),
          '/text': () => res.end('<html>'),
          '/large': () => res.end(`"${'x'.repeat(2000)}"`),
          '/cut': () => {
            res.writeHead(200, { 'content-length': '100' });
            res.write('{"a":');
            setTimeout(() => res.destroy(), 20);
          },
          '/validate': () => res.end('[]'),
          '/missing-large': () => res.writeHead(404).end('x'.repeat(300 * 1024)),
          '/broken-large': () => res.writeHead(500).end('x'.repeat(300 * 1024)),
          '/missing-cut': () => {
            res.writeHead(404, { 'content-length': '100' });
            res.write('{"message":');
            setTimeout(() => res.destroy(), 20);
          },
          '/slow': () => {
            res.writeHead(200);
            res.write('{"a":');
            setTimeout(() => res.end('1}'), 1500);
          },
          '/file': () => {
            res.write('first,');
            setTimeout(() => res.end('second'), 5);
          },
        };
        (answers[req.url!] ?? (() => res.writeHead(418).end()))();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const reader = (maxBytes?: number) => new KestraReader({ origin, authorization: 'Basic cGVyY2g6cGFzcw==', timeout: 2000 }, maxBytes);

  it('reads JSON with Perch\'s account; 404 is null and an empty answer undefined', async () => {
    const r = reader();
    try {
      expect(await r.json('/json', 'the thing')).toEqual({ namespace: 'company.team' });
      expect(seen.at(-1)).toMatchObject({ method: 'GET', authorization: 'Basic cGVyY2g6cGFzcw==' });
      expect(await r.json('/missing', 'the thing')).toBeNull();
      expect(await r.json('/empty', 'the thing')).toBeUndefined();
      expect(await r.json('/validate', 'a verdict', { yaml: 'id: x\n' })).toEqual([]);
      expect(seen.at(-1)).toMatchObject({ method: 'POST', contentType: 'application/x-yaml', body: 'id: x\n' });
    } finally {
      await r.close();
    }
  });

  it('takes a lower bound per call, never a higher one', async () => {
    const r = reader(3000);
    try {
      await expect(r.json('/large', 'a flow', { maxBytes: 1000 })).rejects.toThrow("Kestra's answer for a flow is over 1000 bytes");
      await expect(r.json('/large', 'a flow', { maxBytes: 1_000_000 })).resolves.toHaveLength(2000);
      expect(await r.json('/large', 'a flow')).toHaveLength(2000);
    } finally {
      await r.close();
    }
    const small = reader(1000);
    try {
      await expect(small.json('/large', 'a flow', { maxBytes: 1_000_000 })).rejects.toThrow("Kestra's answer for a flow is over 1000 bytes");
    } finally {
      await small.close();
    }
  });

  it('streams an answer of any type chunk by chunk; 404 is false, other failures KestraReadError', async () => {
    const r = reader(10); // the JSON bound does not apply: what the caller keeps is its bound
    try {
      const chunks: string[] = [];
      expect(await r.stream('/file', 'a file', (c) => chunks.push(c.toString()))).toBe(true);
      expect(chunks.join('')).toBe('first,second');
      expect(seen.at(-1)).toMatchObject({ method: 'GET', authorization: 'Basic cGVyY2g6cGFzcw==' });
      expect(await r.stream('/missing', 'a file', () => expect.unreachable())).toBe(false);
      await expect(r.stream('/broken', 'a file', () => {})).rejects.toThrow(new KestraReadError('Kestra answered 500 when asked for a file'));
      await expect(r.stream('/cut', 'a file', () => {})).rejects.toThrow(/^Kestra's answer for a file was cut \(/);
      await expect(r.stream('/file', 'a file', () => { throw new KestraReadError('enough'); })).rejects.toThrow('enough');
      // Still usable after those.
      expect(await r.stream('/file', 'a file', () => {})).toBe(true);
    } finally {
      await r.close();
    }
  });

  it('throws KestraReadError naming the thing for another status, a non-JSON, a too large or a cut answer, and an unreachable Kestra', async () => {
    const r = reader(1000);
    try {
      await expect(r.json('/broken', 'execution e1')).rejects.toThrow(new KestraReadError('Kestra answered 500 when asked for execution e1'));
      await expect(r.json('/text', 'execution e1')).rejects.toThrow("Kestra's answer for execution e1 is not JSON");
      await expect(r.json('/large', 'execution e1')).rejects.toThrow("Kestra's answer for execution e1 is over 1000 bytes");
      await expect(r.json('/cut', 'execution e1')).rejects.toBeInstanceOf(KestraReadError);
      // Still usable after those.
      expect(await r.json('/json', 'the thing')).toEqual({ namespace: 'company.team' });
    } finally {
      await r.close();
    }
    const closed = new KestraReader({ origin: 'http://127.0.0.1:9', authorization: undefined, timeout: 500 });
    try {
      await expect(closed.json('/json', 'execution e1')).rejects.toThrow(/^Kestra could not be asked for execution e1 \(/);
    } finally {
      await closed.close();
    }
  });

  it('reads past a large or cut answer of another status as that status, and stays usable', async () => {
    const r = reader();
    try {
      expect(await r.json('/missing-large', 'the thing')).toBeNull();
      await expect(r.json('/broken-large', 'the thing')).rejects.toThrow(new KestraReadError('Kestra answered 500 when asked for the thing'));
      expect(await r.json('/missing-cut', 'the thing')).toBeNull();
      expect(await r.json('/json', 'the thing')).toEqual({ namespace: 'company.team' });
    } finally {
      await r.close();
    }
  });

  it('bounds the wait for the body too: a body slower than the timeout is a cut answer', async () => {
    const r = new KestraReader({ origin, authorization: undefined, timeout: 300 });
    try {
      await expect(r.json('/slow', 'the thing')).rejects.toThrow(/^Kestra's answer for the thing was cut \(UND_ERR_BODY_TIMEOUT\)$/);
      expect(await r.json('/json', 'the thing')).toEqual({ namespace: 'company.team' });
    } finally {
      await r.close();
    }
  });

  it('fails a read on a closed reader as Kestra not asked, without throwing outside the promise', async () => {
    const r = reader();
    await r.close();
    await expect(r.json('/json', 'the thing')).rejects.toThrow(/^Kestra could not be asked for the thing \(/);
  });
});
