import { Agent, request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBehindKestra } from '../support/perch.js';

/** The status of an answer, or 'hang' when it did not come before the request's own timeout. */
const statusOrHang = (pending: Promise<Dispatcher.ResponseData>) =>
  pending.then(
    async (res) => {
      await res.body.dump();
      return res.statusCode;
    },
    () => 'hang' as const,
  );

/**
 * Open SSE streams (/follow) hold their connection to Kestra for as long as they last. However many
 * a caller (or a busy team: every execution page follows) keeps open, the other reads must still be
 * answered — at worst with a 503/504 — and never wait forever in a queue.
 */
describe('many open SSE streams', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  const clients = new Agent({ connections: null, pipelining: 0 });

  beforeAll(async () => {
    env = await startBehindKestra();
  });
  afterAll(async () => {
    await env?.close();
    await clients.destroy().catch(() => {});
  });

  it('do not starve ordinary reads', async () => {
    const { admin, perch } = env;
    const yaml = 'id: waits\nnamespace: company.team\ntasks:\n  - id: stop\n    type: io.kestra.plugin.core.flow.Pause\n';
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
    const run = await admin.fetch('POST', '/api/v1/main/executions/company.team/waits', { body: '' });
    expect(run.status).toBe(200);

    const STREAMS = 130;
    const opening = Array.from({ length: STREAMS }, () =>
      request(`${perch.url}/api/v1/main/executions/${run.json.id}/follow`, {
        dispatcher: clients,
        headers: { cookie: admin.cookieHeader()!, accept: 'text/event-stream' },
        signal: AbortSignal.timeout(15_000),
      }).then((res) => {
        res.body.on('data', () => {}).on('error', () => {});
        return res;
      }),
    );
    for (const p of opening) p.catch(() => {});
    const streams = await Promise.all(opening.slice(0, 128));
    // The first 128 streams are open; two more are on their way (they may wait, that is fine).
    expect(streams.every((s) => s.statusCode === 200)).toBe(true);

    const started = Date.now();
    const answer = await statusOrHang(request(`${perch.url}/api/v1/main/flows/search`, { dispatcher: clients, headers: { cookie: admin.cookieHeader()! }, signal: AbortSignal.timeout(6000) }));
    expect(answer, `after ${Date.now() - started} ms`).not.toBe('hang');
    for (const s of streams) s.body.destroy();
  });
});

/** Uploads that trickle in (a slow link, or on purpose) hold their connection to Kestra too. */
describe('many slow uploads', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  const sockets: import('node:net').Socket[] = [];

  beforeAll(async () => {
    env = await startBehindKestra();
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await env?.close();
  });

  it('do not starve other writes', async () => {
    const { admin, perch } = env;
    const { connect } = await import('node:net');
    const port = Number(new URL(perch.url).port);
    const boundary = 'slowboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="fileContent"; filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    for (let i = 0; i < 130; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      sockets.push(socket);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(
        `POST /api/v1/main/namespaces/company.team/files?path=%2Fslow${i}.bin HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${admin.cookieHeader()}\r\n` +
          `Origin: ${perch.origin}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${head}first bytes`,
      );
    }
    // Let Perch forward them all (each reads the file's state first, then streams the body on).
    await new Promise((r) => setTimeout(r, 2000));

    const yaml = 'id: quick\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n';
    const answer = await statusOrHang(
      request(`${perch.url}/api/v1/main/flows`, {
        method: 'POST',
        body: yaml,
        headers: { cookie: admin.cookieHeader()!, origin: perch.origin, 'content-type': 'application/x-yaml' },
        signal: AbortSignal.timeout(6000),
      }),
    );
    expect(answer).not.toBe('hang');
  });
});
