import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBehindUpstream, type Browser, type RunningPerch } from '../support/perch.js';

/**
 * Kestra dying part-way through an answer Perch reads whole before sending it on (a flow write whose
 * answer the audit log keeps, a UI page the screens are injected into, a filtered list): the caller
 * must get a clean 502 or a cut connection, never a hang, and Perch must not be left with a
 * rejected promise nobody handles (Node's default for one is to end the process).
 */
describe('Kestra breaking off an answer Perch buffers', () => {
  let perch: RunningPerch;
  let browser: Browser;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ perch, browser, close } = await startBehindUpstream((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0]!;
        if (req.method === 'POST' && path === '/api/v1/main/flows') {
          // Headers and the start of the flow, then Kestra goes away.
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
          res.write('{"id":"hello","namespace":"company.team","revis');
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
        if (req.method === 'GET' && path.startsWith('/ui')) {
          res.writeHead(200, { 'content-type': 'text/html', 'content-length': '5000' });
          res.write('<!doctype html><html><head><title>Kestra</title>');
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
        // Perch's own reads (the flow's state before the write): no such flow yet.
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      });
    }));
    process.on('unhandledRejection', onRejection);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await close?.();
  });
  afterEach(() => {
    rejections.length = 0;
  });

  /** The status Perch answered with, or 'cut' for a closed connection, or 'hang' after 3 s. */
  const outcome = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const signal = AbortSignal.timeout(3000);
    try {
      const res = await request(`${perch.url}${path}`, {
        method: method as 'GET',
        body,
        signal,
        headers: { cookie: browser.cookieHeader()!, ...(method === 'GET' ? {} : { origin: perch.origin }), ...headers },
      });
      await res.body.arrayBuffer();
      return res.statusCode;
    } catch (error) {
      return signal.aborted ? 'hang' : 'cut';
    }
  };

  it('a flow write whose answer breaks off: 502 or a cut, no hang, no unhandled rejection', async () => {
    const yaml = 'id: hello\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n';
    const got = await outcome('POST', '/api/v1/main/flows', yaml, { 'content-type': 'application/x-yaml' });
    expect([502, 'cut']).toContain(got);
    await new Promise((r) => setTimeout(r, 100));
    expect(rejections).toEqual([]);
  });

  it('a UI page that breaks off: 502 or a cut, no hang, no unhandled rejection', async () => {
    const got = await outcome('GET', '/ui/main/flows', undefined, { accept: 'text/html' });
    expect([502, 'cut']).toContain(got);
    await new Promise((r) => setTimeout(r, 100));
    expect(rejections).toEqual([]);
  });
});
