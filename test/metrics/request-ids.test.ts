import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerchConfigInput } from '../../backend/config/config.js';
import { Browser, logFlow, startBehindKestra, startBehindUpstream, startPerch } from '../support/perch.js';

/**
 * Request ids (issue 19, point 5): every request has one, on every JSON log line it causes, in the
 * x-request-id header of its answer and of the call Perch makes to Kestra, in both lanes (the fast
 * lane runs before Fastify). A caller's own x-request-id is taken only from a trusted proxy.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Kestra double with one flow, and a Perch in front of it with its owner signed in. */
async function withFlow(config: Omit<PerchConfigInput, 'kestra'>, logStream?: NodeJS.WritableStream) {
  const started = await startBehindKestra('PT2S', config, {}, { logStream });
  expect((await started.admin.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'hello'), headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
  return started;
}

/** A log stream that keeps every JSON line. */
function logLines(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

describe('request ids with the Kestra double', () => {
  let setup: Awaited<ReturnType<typeof withFlow>>;
  let kestra: Awaited<ReturnType<typeof withFlow>>['kestra'];
  let admin: Browser;
  const log = logLines();

  beforeAll(async () => {
    // Debug logging: Fastify writes a line as each request comes in and as it is answered (the fast lane is off then).
    setup = await withFlow({ logLevel: 'debug' }, log.stream);
    ({ kestra, admin } = setup);
  });
  afterAll(() => setup?.close());

  it('puts one id on every log line of a request, on its answer and on the call to Kestra', async () => {
    kestra.clear();
    const res = await admin.fetch('GET', '/api/v1/main/flows/company.team/hello');
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(kestra.requests[0]!.headers['x-request-id']).toBe(id);
    const mine = log.lines.filter((line) => line.reqId === id);
    expect(mine.map((line) => line.msg)).toEqual(['incoming request', 'request completed']);
    // No line of the request went out without its id.
    const unlabelled = log.lines.filter((line) => !line.reqId && JSON.stringify(line).includes('/api/v1/main/flows/company.team/hello'));
    expect(unlabelled).toEqual([]);
  });

  it('does not take a caller’s own x-request-id: a new one is made, and Kestra gets Perch’s', async () => {
    kestra.clear();
    const res = await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'other'), headers: { 'content-type': 'application/x-yaml', 'x-request-id': 'caller-chosen-id' } });
    expect(res.status).toBe(200);
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(kestra.requests[0]!.headers['x-request-id']).toBe(id);
    expect(JSON.stringify(log.lines)).not.toContain('caller-chosen-id');
  });
});

describe('request ids in the fast lane', () => {
  let setup: Awaited<ReturnType<typeof withFlow>>;

  beforeAll(async () => {
    setup = await withFlow({});
  });
  afterAll(() => setup?.close());

  it('answers with its own id and sends it to Kestra, whatever id the caller sent', async () => {
    const { kestra, perch, admin } = setup;
    kestra.clear();
    const forwarded = perch.perch.fastLane.forwarded;
    const res = await admin.fetch('GET', '/api/v1/main/flows/company.team/hello', { headers: { 'x-request-id': 'caller-chosen-id' } });
    expect(res.status).toBe(200);
    expect(perch.perch.fastLane.forwarded).toBe(forwarded + 1);
    const id = res.headers['x-request-id'] as string;
    expect(id).toMatch(UUID);
    expect(kestra.requests[0]!.headers['x-request-id']).toBe(id);
  });
});

describe.each([
  ['the fast lane', true],
  ['Fastify', false],
])('the log lines of a failing call in %s', (_name, fastLane) => {
  it('carry the id the answer carries', async () => {
    const log = logLines();
    // Kestra is unreachable (nothing listens on port 9): the forwarder logs a warning.
    const perch = await startPerch({ fastLane, logStream: log.stream, config: { logLevel: 'warn' } });
    try {
      const admin = new Browser(perch);
      await admin.login();
      const res = await admin.fetch('GET', '/api/v1/main/flows/company.team/hello');
      expect(res.status).toBe(502);
      expect(perch.perch.fastLane.forwarded).toBe(fastLane ? 1 : 0);
      const id = res.headers['x-request-id'] as string;
      expect(id).toMatch(UUID);
      const warned = log.lines.filter((line) => line.msg === 'Kestra did not answer');
      expect(warned).toHaveLength(1);
      expect(warned[0]!.reqId).toBe(id);
    } finally {
      await perch.close();
    }
  });
});

describe('request ids from a trusted proxy', () => {
  let setup: Awaited<ReturnType<typeof withFlow>>;
  let kestra: Awaited<ReturnType<typeof withFlow>>['kestra'];
  let admin: Browser;

  beforeAll(async () => {
    // The test's own address is the trusted proxy's.
    setup = await withFlow({ trustedProxies: ['127.0.0.1'] });
    ({ kestra, admin } = setup);
  });
  afterAll(() => setup?.close());

  it.each([
    ['the fast lane', 'GET', '/api/v1/main/flows/company.team/hello'],
    ['Fastify', 'GET', '/api/v1/me'],
  ])('keeps the proxy’s id in %s', async (_lane, method, path) => {
    kestra.clear();
    const res = await admin.fetch(method, path, { headers: { 'x-request-id': 'edge-7f3a:42' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('edge-7f3a:42');
    if (path.includes('flows')) expect(kestra.requests[0]!.headers['x-request-id']).toBe('edge-7f3a:42');
  });

  it.each([['with a space'], ['x'.repeat(65)], ['quote"inside'], ['{"msg":"forged"}']])('replaces an id that could break a log line or the audit log’s column: %j', async (sent) => {
    const res = await admin.fetch('GET', '/api/v1/me', { headers: { 'x-request-id': sent } });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });
});

describe('an id Kestra sends back', () => {
  it('does not replace Perch’s on the answer, and Kestra’s repeated headers stay repeated', async () => {
    const behind = await startBehindUpstream((_req, res) => {
      res.writeHead(200, ['content-type', 'application/json', 'x-request-id', 'kestra-own', 'x-kestra', 'one', 'x-kestra', 'two']);
      res.end('{}');
    });
    try {
      const res = await behind.browser.fetch('GET', '/api/v1/main/flows/company.team/hello');
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect([res.headers['x-kestra']].flat()).toEqual(['one', 'two']);
    } finally {
      await behind.close();
    }
  });
});
