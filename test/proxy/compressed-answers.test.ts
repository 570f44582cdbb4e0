import { gunzipSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, signedInWithRole, startBehindKestra } from '../support/perch.js';

/**
 * Kestra's server compresses text answers of 1 KiB or more for a caller that accepts it, and browsers and
 * SDKs always do (docs/compatibility.md, "Compressed answers"; the Kestra double imitates it). An answer
 * Perch reads before passing it on, a list it filters or a change whose state after it keeps for the audit
 * log, must reach it uncompressed; an answer it only forwards keeps Kestra's compression.
 */
describe('compressed answers from Kestra', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let viewer: Browser;
  const BROWSER_ENCODINGS = 'gzip, deflate, br, zstd';
  const flowYaml = (namespace: string, id: string, message: string) =>
    `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: "${message}"\n`;

  let editor: Browser;

  beforeAll(async () => {
    env = await startBehindKestra();
    for (const [namespace, count] of [['company.team', 6], ['company.finance', 2]] as const) {
      for (let i = 0; i < count; i++) {
        const created = await env.admin.fetch('POST', '/api/v1/main/flows', { body: flowYaml(namespace, `flow-${i}`, 'x'.repeat(120)), headers: { 'content-type': 'application/x-yaml' } });
        expect(created.status).toBe(200);
      }
    }
    viewer = await signedInWithRole(env.perch, env.admin, 'viewer@example.com', 'viewer', 'company.team');
    editor = await signedInWithRole(env.perch, env.admin, 'developer@example.com', 'developer', 'company.team');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('filters a narrowed list that Kestra would have compressed, asking Kestra for it uncompressed', async () => {
    env.kestra.clear();
    const page = await viewer.fetch('GET', '/api/v1/main/flows/search?page=1&size=25', { headers: { 'accept-encoding': BROWSER_ENCODINGS } });
    expect(page.status).toBe(200);
    expect(page.headers['content-encoding']).toBeUndefined();
    expect(page.json.total).toBe(6);
    expect(page.json.results.map((f: { namespace: string }) => f.namespace)).toEqual(Array(6).fill('company.team'));
    const searches = env.kestra.requests.filter((r) => r.url.startsWith('/api/v1/main/flows/search'));
    expect(searches).toHaveLength(1);
    expect(searches[0]!.headers['accept-encoding']).toBeUndefined();
  });

  it('forwards a read it does not rewrite with Kestra’s compression', async () => {
    const res = await request(`${env.perch.url}/api/v1/main/flows/search?page=1&size=25`, { headers: { cookie: env.admin.cookieHeader()!, 'accept-encoding': BROWSER_ENCODINGS } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    const body = JSON.parse(gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString('utf8'));
    expect(body.total).toBe(8);
  });

  it('keeps a change’s state after from Kestra’s answer when the caller accepts compression', async () => {
    env.kestra.clear();
    const updated = await env.admin.fetch('PUT', '/api/v1/main/flows/company.team/flow-0', {
      body: flowYaml('company.team', 'flow-0', 'y'.repeat(1500)),
      headers: { 'content-type': 'application/x-yaml', 'accept-encoding': BROWSER_ENCODINGS },
    });
    expect(updated.status).toBe(200);
    expect(updated.json.tasks[0].message).toBe('y'.repeat(1500));
    // The state after came from the answer: no read of the flow after the write (as there is when the
    // answer cannot be read).
    const calls = env.kestra.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`);
    const put = calls.indexOf('PUT /api/v1/main/flows/company.team/flow-0');
    expect(put).toBeGreaterThanOrEqual(0);
    expect(calls.slice(put + 1).filter((c) => c.startsWith('GET /api/v1/main/flows/company.team/flow-0'))).toEqual([]);
    expect(env.kestra.requests[put]!.headers['accept-encoding']).toBeUndefined();
  });

  it('refuses a compressed request body, which Kestra would inflate after Perch checked the compressed bytes', async () => {
    const outside = flowYaml('company.finance', 'sneaky', 'hi');
    // Kestra's server does inflate it: sent to the double directly, the compressed flow is stored.
    const direct = await request(`${env.kestra.url}/api/v1/main/flows`, { method: 'POST', headers: { authorization: env.kestra.authorization, 'content-type': 'application/x-yaml', 'content-encoding': 'gzip' }, body: gzipSync(flowYaml('company.finance', 'direct', 'hi')) });
    expect(direct.statusCode).toBe(200);
    expect((await direct.body.json() as { namespace: string }).namespace).toBe('company.finance');

    env.kestra.clear();
    for (const [method, path, body, type] of [
      ['POST', '/api/v1/main/flows', outside, 'application/x-yaml'],
      ['PUT', '/api/v1/main/namespaces/company.team/kv/greeting', '"hello"', 'application/json'],
      ['GET', '/api/v1/main/flows/search?page=1&size=25', undefined, undefined],
    ] as const) {
      for (const encoding of ['gzip', 'deflate', 'GZIP']) {
        const headers: Record<string, string> = { 'content-encoding': encoding, ...(type ? { 'content-type': type } : {}) };
        const refused = await editor.fetch(method, path, { ...(body !== undefined ? { body: gzipSync(body) } : {}), headers });
        expect({ method, path, encoding, status: refused.status }).toEqual({ method, path, encoding, status: 415 });
        expect(refused.json.message).toMatch(/compressed request body/);
      }
    }
    expect(env.kestra.requests).toEqual([]);

    // Uncompressed, or marked identity, the same write goes through.
    const plain = await editor.fetch('PUT', '/api/v1/main/namespaces/company.team/kv/greeting', { body: '"hello"', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' } });
    expect(plain.status).toBeLessThan(300);
  });
});
