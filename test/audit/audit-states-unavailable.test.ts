import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBehindUpstream, type Browser, type RunningPerch } from '../support/perch.js';

/**
 * The states before a change when Kestra cannot tell them (resource-states.ts over kestra-reader.ts).
 * Only Kestra's 404 is "nothing before"; an empty, failing, slow, oversized or unreadable answer is
 * recorded as unavailable with what went wrong, never as "nothing before". Either way the write
 * itself goes through unchanged: reading the states never fails the call.
 */
describe('audit log: states Kestra could not tell', () => {
  let perch: RunningPerch;
  let browser: Browser;
  let close: () => Promise<void>;
  /** KV values written through Perch, by key: read back as Kestra's state after. */
  const written = new Map<string, string>();
  const writes: string[] = [];

  /** Kestra's answer to Perch's read of a KV entry before it was written, by key. */
  const before: Record<string, (res: ServerResponse) => void> = {
    absent: (res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}'),
    present: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"type":"STRING","value":"old"}'),
    empty: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(),
    failing: (res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}'),
    slow: () => {}, // never answers: Perch's Kestra timeout ends the read
    oversized: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'STRING', value: 'x'.repeat(5 * 1024 * 1024) })),
    garbled: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'),
    shapeless: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":"ok"}'),
  };

  beforeAll(async () => {
    ({ perch, browser, close } = await startBehindUpstream((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://kestra');
        const kv = /^\/api\/v1\/main\/namespaces\/company\.ops\/kv\/([^/]+)$/.exec(url.pathname)?.[1];
        if (kv && req.method === 'PUT') {
          writes.push(kv);
          written.set(kv, body);
          return res.writeHead(200).end();
        }
        if (kv && req.method === 'GET') {
          const value = written.get(kv);
          if (value !== undefined) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'STRING', value }));
          return before[kv]!(res);
        }
        const flow = /^\/api\/v1\/main\/flows\/company\.ops\/([^/]+)$/.exec(url.pathname)?.[1];
        if (flow && req.method === 'PUT') {
          writes.push(flow);
          return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: flow, namespace: 'company.ops', revision: 2, source: body }));
        }
        // A flow without its source: not the state asked for.
        if (flow && req.method === 'GET') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: flow, namespace: 'company.ops', revision: 1 }));
        if (url.pathname === '/api/v1/main/triggers/set-disabled' && req.method === 'PUT') {
          writes.push('set-disabled');
          return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...JSON.parse(body), date: '2026-01-01T00:00:00Z' }));
        }
        // The triggers of a flow without their list: not the state asked for.
        if (url.pathname === '/api/v1/main/triggers/company.ops/timed' && req.method === 'GET') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"total":1}');
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      });
    }, 'PT1S'));
  });
  afterAll(() => close?.());

  const entryOf = async (resourceId: string) => {
    const row = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', resourceId).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    const diff = await browser.fetch('GET', `/api/v1/main/auditlogs/${row.id}/diff`);
    expect(diff.status, diff.text).toBe(200);
    return { details: JSON.parse(row.details) as Record<string, unknown>, diff: diff.json as { before: string | null; after: string | null } };
  };
  const kvState = (value: string) => `${JSON.stringify({ type: 'STRING', value }, null, 2)}\n`;
  /** Writes `key` through Perch: the write must reach Kestra and its answer the client, whatever the read before gave. */
  const putKv = async (key: string) => {
    const res = await browser.fetch('PUT', `/api/v1/main/namespaces/company.ops/kv/${key}`, { body: 'new', headers: { 'content-type': 'text/plain' } });
    expect(res.status, res.text).toBe(200);
    expect(writes).toContain(key);
    return entryOf(key);
  };

  it("Kestra's 404 is \"nothing before\"; a 200 is the state before", async () => {
    const absent = await putKv('absent');
    expect(absent.details).not.toHaveProperty('beforeUnavailable');
    expect(absent.diff).toMatchObject({ before: null, after: kvState('new') });
    const present = await putKv('present');
    expect(present.details).not.toHaveProperty('beforeUnavailable');
    expect(present.diff).toMatchObject({ before: kvState('old'), after: kvState('new') });
  });

  it.each([
    ['empty', "Kestra answered 200 with nothing when asked for KV entry company.ops/empty"],
    ['failing', 'Kestra answered 503 when asked for KV entry company.ops/failing'],
    ['slow', 'Kestra could not be asked for KV entry company.ops/slow (UND_ERR_HEADERS_TIMEOUT)'],
    ['oversized', `Kestra's answer for KV entry company.ops/oversized is over ${4 * 1024 * 1024} bytes`],
    ['garbled', "Kestra's answer for KV entry company.ops/garbled is not JSON"],
    ['shapeless', "Kestra's answer for KV entry company.ops/shapeless holds no type"],
  ])('KV entry "%s": its state before is unavailable, with what went wrong, and the write goes through', async (key, detail) => {
    const { details, diff } = await putKv(key);
    expect(details.beforeUnavailable).toBe(detail);
    expect(details).not.toHaveProperty('afterUnavailable');
    expect(diff).toMatchObject({ before: null, after: kvState('new') });
  });

  it('a flow or trigger answer that is not the resource is unavailable, not "nothing before"', async () => {
    const source = 'id: hello\nnamespace: company.ops\ntasks: []\n';
    const put = await browser.fetch('PUT', '/api/v1/main/flows/company.ops/hello', { body: source, headers: { 'content-type': 'application/x-yaml' } });
    expect(put.status, put.text).toBe(200);
    const flow = await entryOf('hello');
    expect(flow.details).toMatchObject({ beforeUnavailable: "Kestra's answer for flow company.ops/hello holds no source" });
    expect(flow.diff).toMatchObject({ before: null, after: source });

    const disable = await browser.fetch('PUT', '/api/v1/main/triggers/set-disabled', { json: { namespace: 'company.ops', flowId: 'timed', triggerId: 'nightly', disabled: true } });
    expect(disable.status, disable.text).toBe(200);
    expect(writes).toContain('set-disabled');
    const trigger = await entryOf('nightly');
    expect(trigger.details).toMatchObject({ beforeUnavailable: "Kestra's answer for the triggers of flow company.ops/timed (page 1) holds no results" });
    expect(JSON.parse(trigger.diff.after!)).toMatchObject({ triggerId: 'nightly', disabled: true });
    expect(trigger.diff.before).toBeNull();
  });
});
