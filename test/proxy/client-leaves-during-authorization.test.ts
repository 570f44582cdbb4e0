import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../../backend/auth/sessions.js';
import { startBehindUpstream, type Browser, type RunningPerch } from '../support/perch.js';

/**
 * A caller that goes away while Perch is still authorizing (here: asking Kestra which namespace an
 * execution belongs to) must leave nothing behind: no tracked stream in the session manager, no
 * request to Kestra left open (the SSE it asked for would otherwise be read by nobody, forever).
 */
describe('a caller that leaves before Perch forwards', () => {
  let perch: RunningPerch;
  let browser: Browser;
  const openFollows = new Set<IncomingMessage>();
  let follows = 0;

  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ perch, browser, close } = await startBehindUpstream((req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      if (/^\/api\/v1\/main\/executions\/[^/]+$/.test(url.split('?')[0]!)) {
        // The namespace lookup is slow: the caller gives up meanwhile.
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'e', namespace: 'company.team' })), 400);
        return;
      }
      if (url.includes('/follow') || url.includes('/file')) {
        follows++;
        openFollows.add(req);
        res.on('close', () => openFollows.delete(req));
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const tick = setInterval(() => res.write(`data: ${'x'.repeat(16 * 1024)}\n\n`), 10);
        res.on('close', () => clearInterval(tick));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }));
  });
  // Bounded (see startBehindUpstream): with the leak, a request Perch left paused held its shutdown forever.
  afterAll(() => close?.());

  const abandon = async (path: string) => {
    const socket = connect(new URL(perch.url).port ? Number(new URL(perch.url).port) : 80, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${browser.cookieHeader()}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.on('error', () => {});
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
  };

  it('leaves no tracked stream and no open Kestra request behind (direct path, SSE)', async () => {
    const hash = hashSessionId(browser.cookies.get('perch_session')!);
    const before = follows;
    await abandon('/api/v1/main/executions/exec1/follow');
    // Wait until Perch got its lookup answer and (wrongly or not) dispatched the follow.
    await new Promise((r) => setTimeout(r, 1200));
    // Either Perch never asked Kestra for the stream, or it hung up on it.
    if (follows > before) await expect.poll(() => openFollows.size, { timeout: 2000 }).toBe(0);
    expect(perch.perch.ctx.sessions.openStreams(hash)).toBe(0);
  });
});
