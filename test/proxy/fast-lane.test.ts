import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFastLane, type FastLaneParts } from '../../backend/proxy/fast-lane.js';
import type { PerchContext } from '../../backend/context.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, grantRole, logFlow, startBehindUpstream, startPerch, type RunningPerch } from '../support/perch.js';


/**
 * The fast lane (backend/proxy/fast-lane.ts) forwards a signed-in browser's Kestra reads before
 * Fastify sees them. It may only ever say yes: every other answer (a refusal, a Perch route, a
 * filtered list, a token) must still come from Fastify, exactly as without the lane.
 */
describe('the proxy’s fast lane', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let viewer: Browser;
  const counts = () => ({ ...perch.perch.fastLane });

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT2S' } } });
    admin = new Browser(perch);
    await admin.login();
    for (const [ns, id] of [['company.team', 'hello'], ['company.finance', 'payroll']]) {
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow(ns!, id!), headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
    }
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'viewer@example.com', password: 'a good long password' } });
    await grantRole(perch.perch, created.json.id, 'viewer', 'company.team');
    viewer = new Browser(perch);
    await viewer.login('viewer@example.com', 'a good long password');
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
    expect(kestra.contractViolations).toEqual([]);
  });

  it('forwards a signed-in read the caller may make, with Perch’s Kestra account', async () => {
    const before = counts();
    kestra.clear();
    const res = await viewer.fetch('GET', '/api/v1/main/flows/company.team/hello');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: 'hello', namespace: 'company.team' });
    expect(counts().forwarded).toBe(before.forwarded + 1);
    expect(kestra.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${kestra.username}:${kestra.password}`).toString('base64')}`);
    expect(kestra.requests[0]!.headers.cookie).toBeUndefined();
    // HEAD takes the lane too, and carries no body.
    const head = await viewer.fetch('HEAD', '/api/v1/main/flows/company.team/hello');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(counts().forwarded).toBe(before.forwarded + 2);
  });

  it('forwards a narrowed search with the query Perch narrowed, not the caller’s', async () => {
    kestra.clear();
    const mine = await viewer.fetch('GET', '/api/v1/main/flows/search?page=1&size=25');
    expect(mine.status).toBe(200);
    expect(kestra.requests[0]!.url).toBe('/api/v1/main/flows/search?page=1&size=25&filters[namespace][PREFIX]=company.team');
    expect(mine.json.results.map((f: { namespace: string }) => f.namespace)).toEqual(['company.team']);
  });

  it('leaves refusals to Fastify: same JSON 403, Kestra never asked', async () => {
    const before = counts();
    kestra.clear();
    const other = await viewer.fetch('GET', '/api/v1/main/flows/company.finance/payroll');
    expect(other.status).toBe(403);
    expect(other.headers['content-type']).toMatch(/^application\/json/);
    expect(other.json.message).toMatch(/FLOW VIEW in company\.finance/);
    expect(kestra.requests).toHaveLength(0);
    expect(counts()).toEqual({ forwarded: before.forwarded, handedOver: before.handedOver + 1 });
  });

  it('leaves Perch’s own routes to Fastify, whatever the cookie', async () => {
    const before = counts();
    kestra.clear();
    const me = await viewer.fetch('GET', '/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.json.profile.email).toBe('viewer@example.com');
    expect((await admin.fetch('GET', '/api/v1/users')).json.results.length).toBeGreaterThanOrEqual(2);
    expect((await admin.fetch('GET', '/api/v1/main/roles/search')).json.results.map((r: { id: string }) => r.id)).toContain('admin');
    // HEAD of a Perch GET route is Perch's too.
    expect((await admin.fetch('HEAD', '/api/v1/me')).status).toBe(200);
    expect(kestra.requests).toHaveLength(0);
    expect(counts().forwarded).toBe(before.forwarded);
  });

  it('leaves unknown sessions, bad API tokens and non-canonical targets to Fastify', async () => {
    const before = counts();
    kestra.clear();
    const stranger = await request(`${perch.url}/api/v1/main/flows/company.team/hello`, { headers: { cookie: `perch_session=${'A'.repeat(43)}` } });
    expect(stranger.statusCode).toBe(401);
    expect(await stranger.body.json()).toMatchObject({ message: 'Sign in to Perch first' });
    // A token that fails is refused even beside a good cookie: no falling back to the session.
    const badToken = await request(`${perch.url}/api/v1/main/flows/company.team/hello`, { headers: { authorization: 'Bearer not-a-token', cookie: viewer.cookieHeader()! } });
    expect(badToken.statusCode).toBe(401);
    await badToken.body.dump();
    expect((await viewer.fetch('GET', '/api/v1/main/flows/company.team/a%2Fb')).status).toBe(400);
    expect((await viewer.fetch('GET', '/api/v1/main//flows/company.team/hello')).status).toBe(400);
    expect(kestra.requests).toHaveLength(0);
    expect(counts()).toEqual({ forwarded: before.forwarded, handedOver: before.handedOver + 4 });
  });

  it('forwards an API token’s read, with Perch’s Kestra account instead of the token', async () => {
    const minted = await viewer.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'lane', maxAge: 'PT1H' } });
    const before = counts();
    kestra.clear();
    const byToken = await request(`${perch.url}/api/v1/main/flows/company.team/hello`, { headers: { authorization: `Bearer ${minted.json.fullToken}` } });
    expect(byToken.statusCode).toBe(200);
    expect(await byToken.body.json()).toMatchObject({ id: 'hello' });
    expect(kestra.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${kestra.username}:${kestra.password}`).toString('base64')}`);
    // The token has the viewer's reach, no more: its refusal is Fastify's.
    const refused = await request(`${perch.url}/api/v1/main/flows/company.finance/payroll`, { headers: { authorization: `Bearer ${minted.json.fullToken}` } });
    expect(refused.statusCode).toBe(403);
    await refused.body.dump();
    expect(counts()).toEqual({ forwarded: before.forwarded + 1, handedOver: before.handedOver + 1 });
  });

  it('ties a stream it forwarded to the session: logging out cuts it', async () => {
    const yaml = 'id: waits\nnamespace: company.team\ntasks:\n  - id: stop\n    type: io.kestra.plugin.core.flow.Pause\n';
    await admin.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    const run = await admin.fetch('POST', '/api/v1/main/executions/company.team/waits', { body: '' });
    const reader = new Browser(perch);
    await reader.login('viewer@example.com', 'a good long password');
    const before = counts();
    const sse = await request(`${perch.url}/api/v1/main/executions/${run.json.id}/follow`, { headers: { cookie: reader.cookieHeader()!, accept: 'text/event-stream' } });
    expect(sse.statusCode).toBe(200);
    expect(counts().forwarded).toBe(before.forwarded + 1);
    const ended = new Promise<string>((resolve) => {
      sse.body.on('data', () => {});
      sse.body.on('end', () => resolve('ended'));
      sse.body.on('error', () => resolve('ended'));
    });
    expect((await reader.fetch('POST', '/perch/api/logout')).status).toBe(204);
    expect(await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 2000))])).toBe('ended');
  });
});

describe('the fast lane when Kestra fails', () => {
  it('answers as the proxy route does: the same 502 with or without the lane', async () => {
    const env = await startBehindUpstream((req) => req.socket.destroy());
    try {
      const laneBefore = { ...env.perch.perch.fastLane };
      const viaLane = await env.browser.fetch('GET', '/api/v1/main/flows/search');
      expect(env.perch.perch.fastLane.forwarded).toBe(laneBefore.forwarded + 1);
      // An Authorization scheme Perch does not read leaves the call to Fastify, which uses the session.
      const viaRoute = await request(`${env.perch.url}/api/v1/main/flows/search`, { headers: { authorization: 'Negotiate abc', cookie: env.browser.cookieHeader()! } });
      expect(env.perch.perch.fastLane.forwarded).toBe(laneBefore.forwarded + 1);
      expect(viaLane.status).toBe(502);
      expect(viaRoute.statusCode).toBe(502);
      expect(viaLane.headers['content-type']).toBe(viaRoute.headers['content-type']);
      expect(viaLane.headers['cache-control']).toBe('no-store');
      expect(viaRoute.headers['cache-control']).toBe('no-store');
      expect(viaLane.json).toEqual(await viaRoute.body.json());
      expect(viaLane.json.message).toMatch(/^Kestra is unreachable at /);
    } finally {
      await env.close();
    }
  });

  it('turns Kestra’s 401 to Perch’s account into the proxy route’s 502', async () => {
    const env = await startBehindUpstream((_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="kestra"' }).end());
    try {
      const res = await env.browser.fetch('GET', '/api/v1/main/flows/search');
      expect(res.status).toBe(502);
      expect(res.json.message).toMatch(/Kestra refused Perch's credentials/);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(env.perch.perch.fastLane.forwarded).toBe(1);
    } finally {
      await env.close();
    }
  });
});

describe('the fast lane under debug logging', () => {
  it('stays off, so Fastify writes every request’s log lines', async () => {
    const kestra = await startKestraDouble();
    const perch = await startPerch({ config: { logLevel: 'debug', kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    try {
      const browser = new Browser(perch);
      await browser.login();
      expect((await browser.fetch('GET', '/api/v1/main/flows/search')).status).toBe(200);
      expect(perch.perch.fastLane).toEqual({ forwarded: 0, handedOver: 0 });
    } finally {
      await perch.close();
      await kestra.close();
    }
  });
});

describe('the fast lane when one of its checks fails', () => {
  const errors: unknown[] = [];
  const ctx = {
    config: { logLevel: 'warn' },
    firstAdmin: { known: true },
    log: { error: (o: unknown) => errors.push(o) },
    sessions: { resolve: () => Promise.reject(new Error('the store is down')) },
  } as unknown as PerchContext;
  const parts = (overrides: Partial<FastLaneParts>): FastLaneParts => ({
    ctx,
    ownRoutes: { serves: () => false } as unknown as FastLaneParts['ownRoutes'],
    sessionToken: () => 'a-session-token',
    eligible: () => true,
    authorize: () => Promise.reject(new Error('not reached')),
    forwardRead: () => {
      throw new Error('not reached');
    },
    closing: () => false,
    ...overrides,
  });
  const req = { method: 'GET', url: '/api/v1/main/flows/search', headers: { cookie: 'perch_session=x' }, rawHeaders: ['Host', 'perch', 'Cookie', 'perch_session=x'] } as unknown as IncomingMessage;
  const res = {} as ServerResponse;

  it('hands the request to Fastify once when a check throws, instead of throwing on the request event', () => {
    const lane = createFastLane(parts({ sessionToken: () => { throw new Error('unreadable cookie'); } }));
    const handed: IncomingMessage[] = [];
    expect(() => lane.take(req, res, (r) => handed.push(r))).not.toThrow();
    expect(handed).toEqual([req]);
    expect(lane.counts).toEqual({ forwarded: 0, handedOver: 1 });
    expect(errors).toHaveLength(1);
  });

  it('hands the request to Fastify once when the session cannot be read', async () => {
    const lane = createFastLane(parts({}));
    const handed: IncomingMessage[] = [];
    lane.take(req, res, (r) => handed.push(r));
    await new Promise((r) => setTimeout(r, 10));
    expect(handed).toEqual([req]);
    expect(lane.counts).toEqual({ forwarded: 0, handedOver: 1 });
  });
});
