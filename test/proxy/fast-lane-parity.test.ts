import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_MAP } from '../../backend/authz/policy-map.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, grantRole, logFlow, startPerch, type RunningPerch } from '../support/perch.js';


/**
 * Differential test of the fast lane: two Perches on one store in front of one Kestra, one with the
 * lane and one without, get the same reads (every GET of the policy map, inside and outside the
 * caller's namespaces, plus Perch's own routes and malformed targets) with the same credentials.
 * Every answer, and every call Kestra received for it, must be the same byte for byte.
 */
describe('the fast lane against the proxy route', () => {
  let kestra: KestraDouble;
  let dataDir: string;
  let withLane: RunningPerch;
  let withoutLane: RunningPerch;
  const credentials: Record<string, Record<string, string>> = {};
  const executions: Record<string, string> = {};

  beforeAll(async () => {
    kestra = await startKestraDouble();
    dataDir = await mkdtemp(path.join(tmpdir(), 'perch-lane-'));
    const config = { dataDir, kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT2S' } };
    withLane = await startPerch({ config });
    const admin = new Browser(withLane);
    await admin.login();
    for (const [ns, id] of [['company.team', 'hello'], ['company.finance', 'payroll']] as const) {
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow(ns, id), headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
      const run = await admin.fetch('POST', `/api/v1/main/executions/${ns}/${id}`, { body: '' });
      executions[ns] = run.json.id;
      await kestra.waitForExecution(run.json.id);
    }
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'viewer@example.com', password: 'a good long password' } });
    await grantRole(withLane.perch, created.json.id, 'viewer', 'company.team');
    const viewer = new Browser(withLane);
    await viewer.login('viewer@example.com', 'a good long password');
    const token = (await viewer.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'parity', maxAge: 'PT1H' } })).json.fullToken;
    credentials['owner session'] = { cookie: admin.cookieHeader()! };
    credentials['viewer session'] = { cookie: viewer.cookieHeader()! };
    credentials['viewer token'] = { authorization: `Bearer ${token}` };
    credentials['unknown session'] = { cookie: `perch_session=${'B'.repeat(43)}` };
    credentials['unknown token'] = { authorization: `Bearer ${token.slice(0, -4)}AAAA`, cookie: viewer.cookieHeader()! };
    credentials.nobody = {};
    // The second Perch reads the same store: the same people, bindings, sessions and tokens.
    withoutLane = await startPerch({ config, withAdmin: false, fastLane: false });
  });
  afterAll(async () => {
    await withoutLane?.close();
    await withLane?.close();
    await kestra?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Every GET of the policy map but the streams, filled for a namespace inside and one outside the viewer's. */
  const targets = (): string[] => {
    const out = new Set<string>();
    for (const row of POLICY_MAP) {
      if (row.method !== 'GET' || ('sse' in row && row.sse)) continue;
      for (const ns of ['company.team', 'company.finance']) {
        const id = ns === 'company.team' ? 'hello' : 'payroll';
        out.add(
          row.path.replace(/\{(\w+)\}/g, (_, name: string) =>
            name === 'tenant' ? 'main' : name === 'namespace' ? ns : name === 'id' || name === 'flowId' ? id : name === 'executionId' ? executions[ns]! : name === 'taskId' ? 'say' : 'x',
          ),
        );
      }
    }
    for (const extra of [
      '/api/v1/main/flows/search?page=1&size=25',
      '/api/v1/main/flows/search?filters[namespace][PREFIX]=company',
      '/api/v1/main/executions/search?filters[namespace][EQUALS]=company.finance',
      '/api/v1/other/flows/company.team/hello',
      '/api/v1/main/flows/company.team/a%2Fb',
      '/api/v1/main//flows/company.team/hello',
      '/api/v1/main/flows/company.team/hello;x=1',
      '/api/v1/me',
      '/api/v1/users',
      '/api/v1/main/roles/search',
      '/api/v1/main/nothing-here',
    ]) out.add(extra);
    return [...out];
  };

  /** What a caller and Kestra saw of one call: the answer, and the calls Kestra got (Perch's own lookups included). */
  const observe = async (perch: RunningPerch, method: string, target: string, headers: Record<string, string>) => {
    kestra.clear();
    const res = await request(`${perch.url}${target}`, { method: method as 'GET', headers });
    // The double makes up some times at each call (a namespace's root folder): those are masked.
    const body = (await res.body.text()).replace(/\b\d{13}\b/g, '<epoch ms>').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<instant>');
    const seen = kestra.requests.map((r) => `${r.method} ${r.url} ${r.headers.authorization ?? '-'} ${r.headers.cookie ?? '-'}`);
    const header = (name: string) => String(res.headers[name] ?? '-');
    return { status: res.statusCode, body, type: header('content-type'), cache: header('cache-control'), location: header('location'), prompt: header('www-authenticate'), seen };
  };

  it('gives every read the same answer and the same calls to Kestra, with or without the lane', async () => {
    const lane = withLane.perch.fastLane;
    const before = { ...lane };
    let compared = 0;
    for (const target of targets()) {
      for (const method of ['GET', 'HEAD']) {
        for (const [who, headers] of Object.entries(credentials)) {
          const a = await observe(withLane, method, target, headers);
          const b = await observe(withoutLane, method, target, headers);
          expect({ who, method, target, ...a }).toEqual({ who, method, target, ...b });
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
    // The comparison is only worth something if the lane carried a good share of it, and gave some back.
    expect(lane.forwarded - before.forwarded).toBeGreaterThan(150);
    expect(lane.handedOver - before.handedOver).toBeGreaterThan(150);
    expect(withoutLane.perch.fastLane).toEqual({ forwarded: 0, handedOver: 0 });
    expect(kestra.contractViolations).toEqual([]);
  });
});
