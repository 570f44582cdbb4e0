import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFailures } from '../../backend/audit/auth-failures.js';
import { generateToken } from '../../backend/tokens/token-format.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { fileUpload } from '../support/multipart.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, startPerch, type RunningPerch } from '../support/perch.js';

/** The trusted reverse proxy: connections from this loopback address may say whom they forward for. */
const PROXY = '127.0.0.2';
const PAT_PASSWORD = 'pat has a long password';
const LOU_PASSWORD = 'lou has a long password';
/** Accounts of their own per test: the lock (4 failures) must not carry over from one test to the next. */
const PEOPLE = ['pat', 'lou', 'bea', 'sam', 'tom'] as const;

/**
 * Every failed authentication leaves a trace (issue 16, point 6): password sign-in, Basic, Bearer,
 * lockout, each counted per account and client address per minute; the client address honours
 * forwarding headers from the trusted proxy only, in the audit log and in the sign-in brakes alike.
 * Each test calls from a loopback address of its own, so the per-address budget (3 a minute) and the
 * entries it looks for are its own.
 */
describe('failed authentications leave a trace', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  const logLines: string[] = [];
  /** Every password and token a test sends: none may appear in the audit log or the logs. */
  const secrets = new Set<string>([ADMIN_PASSWORD, PAT_PASSWORD, LOU_PASSWORD]);
  const passwordOf = (name: string) => (name === 'lou' ? LOU_PASSWORD : PAT_PASSWORD);
  const agents = new Map<string, Agent>();
  const ids: Record<string, string> = {};

  /** One call from the given loopback address (undici binds the socket there). */
  async function from(local: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer; json?: unknown } = {}) {
    let agent = agents.get(local);
    if (!agent) agents.set(local, (agent = new Agent({ localAddress: local })));
    const headers = { ...init.headers };
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    const res = await request(`${perch.url}${path}`, { method: method as 'GET', headers, body, dispatcher: agent });
    return { status: res.statusCode, text: await res.body.text() };
  }
  const signIn = (local: string, username: string, password: string, headers: Record<string, string> = {}) => {
    secrets.add(password);
    return from(local, 'POST', '/perch/api/login', { json: { username, password }, headers });
  };
  const basic = (email: string, password: string) => {
    secrets.add(password);
    const credentials = Buffer.from(`${email}:${password}`).toString('base64');
    secrets.add(credentials);
    return `Basic ${credentials}`;
  };
  const bearer = (token: string) => {
    secrets.add(token);
    return `Bearer ${token}`;
  };

  /** The failure entries written so far from `ip`, after writing what the trail still counts. */
  async function failuresFrom(ip: string) {
    await authFailures(perch.perch.ctx).flush();
    const rows = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('action', 'in', ['LOGIN_FAILURE', 'ACCOUNT_LOCKED']).where('ip', '=', ip).orderBy('seq').execute();
    return rows.map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
  }
  const summary = (rows: Awaited<ReturnType<typeof failuresFrom>>) =>
    rows.map((r) => [r.action, r.actor_type, r.actor_email, r.details.authMethod, r.details.reason, r.details.count]);

  async function mintToken(path: string): Promise<{ id: string; fullToken: string }> {
    const res = await admin.fetch('POST', path, { json: { name: `t${Object.keys(ids).length}-${Math.random().toString(36).slice(2, 8)}` } });
    expect(res.status, res.text).toBe(200);
    secrets.add(res.json.fullToken);
    return res.json;
  }

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({
      config: {
        logLevel: 'info',
        trustedProxies: [PROXY],
        login: { maxFailures: 4, perIpPerMinute: 3 },
        auth: { basic: { enabled: true } },
        kestra: { url: kestra.url, username: kestra.username, password: kestra.password },
      },
      logStream: new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    });
    admin = new Browser(perch);
    await admin.login();
    for (const name of PEOPLE) {
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: `${name}@example.com`, password: passwordOf(name) } });
      expect(created.status, created.text).toBe(201);
      ids[name] = created.json.id;
    }
  });
  afterAll(async () => {
    for (const agent of agents.values()) await agent.close();
    await perch?.close();
    await kestra?.close();
  });

  it('password sign-in (form, JSON, Kestra’s login route): one entry per account and address counting every failure; past the address’s budget, one for the address', async () => {
    const ip = '127.0.0.11';
    secrets.add('wrong for pat 1').add('wrong for pat 2').add('wrong for pat 3');
    const form = await from(ip, 'POST', '/perch/login', {
      body: `username=pat%40example.com&password=${encodeURIComponent('wrong for pat 1')}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(401);
    expect((await from(ip, 'POST', '/perch/api/login', { json: { username: 'pat@example.com', password: 'wrong for pat 2' } })).status).toBe(401);
    expect((await from(ip, 'POST', '/api/v1/login', { json: { username: 'pat@example.com', password: 'wrong for pat 3' } })).status).toBe(401);
    // Over the budget: refused before any check, whatever the account.
    expect((await signIn(ip, 'pat@example.com', 'wrong for pat 4')).status).toBe(429);
    expect((await signIn(ip, 'someone@example.com', 'wrong for someone')).status).toBe(429);

    const rows = await failuresFrom(ip);
    expect(summary(rows)).toEqual([
      ['LOGIN_FAILURE', 'USER', 'pat@example.com', 'password', 'wrong password', 3],
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'password', 'too many attempts from this address', 2],
    ]);
    expect(rows[0]).toMatchObject({ tenant_id: '_instance', resource_type: 'USER', resource_id: ids.pat, outcome: 'FAILURE' });
  });

  it('a lockout: the failures that led to it, the lock, and the attempts it then refuses', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn('127.0.0.12', 'lou@example.com', `lou guess ${i}`)).status).toBe(401);
    expect((await signIn('127.0.0.13', 'lou@example.com', 'lou guess 3')).status).toBe(401);
    // Locked: even the right password is refused, unchecked.
    for (let i = 0; i < 2; i++) expect((await signIn('127.0.0.14', 'lou@example.com', LOU_PASSWORD)).status).toBe(429);

    expect(summary(await failuresFrom('127.0.0.12'))).toEqual([['LOGIN_FAILURE', 'USER', 'lou@example.com', 'password', 'wrong password', 3]]);
    const locking = await failuresFrom('127.0.0.13');
    expect(summary(locking)).toEqual([
      ['LOGIN_FAILURE', 'USER', 'lou@example.com', 'password', 'wrong password', 1],
      ['ACCOUNT_LOCKED', 'USER', 'lou@example.com', 'password', 'too many failed sign-ins', 1],
    ]);
    expect(locking[1]).toMatchObject({ resource_id: ids.lou });
    expect(Date.parse(String(locking[1]!.details.lockedUntil))).toBeGreaterThan(Date.now());
    expect(summary(await failuresFrom('127.0.0.14'))).toEqual([['LOGIN_FAILURE', 'ANONYMOUS', 'lou@example.com', 'password', 'account locked', 2]]);
  });

  it('Basic credentials: wrong passwords and malformed credentials, nothing reaching Kestra', async () => {
    const ip = '127.0.0.15';
    kestra.clear();
    for (let i = 0; i < 2; i++) {
      const res = await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: basic('bea@example.com', `basic guess ${i}`) } });
      expect(res.status).toBe(401);
    }
    expect((await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: 'Basic !!not-base64!!' } })).status).toBe(401);
    expect(kestra.requests).toEqual([]);
    expect(summary(await failuresFrom(ip))).toEqual([
      ['LOGIN_FAILURE', 'USER', 'bea@example.com', 'basic', 'wrong password', 2],
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'basic', 'malformed Basic credentials', 1],
    ]);
  });

  it('a flood of unknown Bearer tokens on the proxy path: one entry counting them all, no write per request, nothing reaching Kestra', async () => {
    const ip = '127.0.0.16';
    kestra.clear();
    const unknown = generateToken();
    const auditRows = async () => (await perch.perch.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n;
    const before = await auditRows();
    // Reads (the fast lane's kind of call) and writes (Fastify's route).
    for (let i = 0; i < 25; i++) expect((await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: bearer(unknown) } })).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await from(ip, 'DELETE', '/api/v1/main/flows/company.team/f', { headers: { authorization: bearer(unknown) } })).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: 'Bearer not-a-perch-token' } })).status).toBe(401);
    expect(kestra.requests).toEqual([]);
    // Counted in memory: the store has not been written for any of them yet.
    await perch.perch.ctx.audit.flush();
    expect(await auditRows()).toEqual(before);
    expect(authFailures(perch.perch.ctx).pending).toBeGreaterThanOrEqual(32);

    expect(summary(await failuresFrom(ip))).toEqual([
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'token', 'The API token is unknown or was revoked', 30],
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'token', 'The API token is malformed', 2],
    ]);
  });

  it('expired and revoked API tokens, a person’s and a service account’s, naming the account when Perch knows it', async () => {
    const ip = '127.0.0.17';
    const expired = await mintToken('/api/v1/me/api-tokens');
    await perch.perch.ctx.db.updateTable('api_tokens').set({ expires_at: Date.now() - 1000 }).where('id', '=', expired.id).execute();
    for (let i = 0; i < 2; i++) expect((await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: bearer(expired.fullToken) } })).status).toBe(401);

    const revoked = await mintToken('/api/v1/me/api-tokens');
    expect((await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: bearer(revoked.fullToken) } })).status).toBe(200);
    expect((await admin.fetch('DELETE', `/api/v1/me/api-tokens/${revoked.id}`)).status).toBeLessThan(300);
    for (let i = 0; i < 2; i++) expect((await from(ip, 'GET', '/api/v1/main/flows/search', { headers: { authorization: bearer(revoked.fullToken) } })).status).toBe(401);

    const robot = await admin.fetch('POST', '/api/v1/service-accounts', { json: { name: 'robot', tenants: ['main'] } });
    expect(robot.status, robot.text).toBe(200);
    const robotToken = await mintToken(`/api/v1/service-accounts/${robot.json.id}/api-tokens`);
    await perch.perch.ctx.db.updateTable('api_tokens').set({ expires_at: Date.now() - 1000 }).where('id', '=', robotToken.id).execute();
    expect((await from(ip, 'POST', '/api/v1/main/executions/company.team/f', { headers: { authorization: bearer(robotToken.fullToken) } })).status).toBe(401);

    const rows = await failuresFrom(ip);
    expect(summary(rows)).toEqual([
      ['LOGIN_FAILURE', 'USER', ADMIN_EMAIL, 'token', 'The API token has expired', 2],
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'token', 'The API token is unknown or was revoked', 2],
      ['LOGIN_FAILURE', 'SERVICE_ACCOUNT', rows[2]?.actor_email, 'token', 'The API token has expired', 1],
    ]);
    expect(rows[2]).toMatchObject({ actor_id: robot.json.id, resource_id: robot.json.id });
  });

  it('ignores X-Forwarded-For and Forwarded from a peer that is not a trusted proxy: the entries and the address budget use the socket address', async () => {
    const ip = '127.0.0.3';
    for (let i = 0; i < 3; i++) {
      const res = await signIn(ip, 'sam@example.com', `spoofing guess ${i}`, { 'x-forwarded-for': `203.0.113.${i}`, forwarded: `for=203.0.113.${50 + i}` });
      expect(res.status).toBe(401);
    }
    // A fresh made-up address each time changes nothing: the socket's address is over its budget.
    expect((await signIn(ip, 'sam@example.com', 'spoofing guess 3', { 'x-forwarded-for': '203.0.113.99' })).status).toBe(429);
    expect(summary(await failuresFrom(ip))).toEqual([
      ['LOGIN_FAILURE', 'USER', 'sam@example.com', 'password', 'wrong password', 3],
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'password', 'too many attempts from this address', 1],
    ]);
    const spoofed = await perch.perch.ctx.db.selectFrom('audit_log').select('ip').where('ip', 'like', '203.0.113.%').execute();
    expect(spoofed).toEqual([]);
  });

  it('honours X-Forwarded-For from the trusted proxy: the right-most address not a proxy is the client, for entries, budget and sessions', async () => {
    // What the client wrote (6.6.6.6) sits left of what the proxy appended.
    for (let i = 0; i < 3; i++) {
      expect((await signIn(PROXY, 'tom@example.com', `proxied guess ${i}`, { 'x-forwarded-for': `6.6.6.${i}, 198.51.100.7` })).status).toBe(401);
    }
    expect((await signIn(PROXY, 'tom@example.com', 'proxied guess 3', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(429);
    // Another client behind the same proxy has a budget of its own.
    expect((await signIn(PROXY, 'nobody@example.com', 'proxied guess 4', { 'x-forwarded-for': '198.51.100.8' })).status).toBe(401);
    expect((await signIn(PROXY, ADMIN_EMAIL, ADMIN_PASSWORD, { 'x-forwarded-for': '198.51.100.9' })).status).toBe(204);

    expect(summary(await failuresFrom('198.51.100.7'))).toEqual([
      ['LOGIN_FAILURE', 'USER', 'tom@example.com', 'password', 'wrong password', 3],
      ['LOGIN_FAILURE', 'ANONYMOUS', null, 'password', 'too many attempts from this address', 1],
    ]);
    expect(summary(await failuresFrom('198.51.100.8'))).toEqual([['LOGIN_FAILURE', 'ANONYMOUS', 'nobody@example.com', 'password', 'unknown email', 1]]);
    expect(await failuresFrom(PROXY)).toEqual([]);
    const signedIn = await perch.perch.ctx.db.selectFrom('audit_log').select('ip').where('action', '=', 'LOGIN').where('ip', '=', '198.51.100.9').execute();
    expect(signedIn).toHaveLength(1);
    const session = await perch.perch.ctx.db.selectFrom('sessions').select('ip').where('ip', '=', '198.51.100.9').executeTakeFirst();
    expect(session).toBeDefined();
    expect(await perch.perch.ctx.db.selectFrom('audit_log').select('ip').where('ip', 'like', '6.6.6.%').execute()).toEqual([]);
  });

  it('KV and namespace-file writes record the client address, directly and behind the trusted proxy', async () => {
    const cookie = admin.cookieHeader()!;
    const write = (local: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer }) =>
      from(local, method, path, { ...init, headers: { ...init.headers, cookie, origin: perch.origin } });
    const upload = fileUpload('hello', 'a.txt', 'fileContent');
    const cases: Array<[string, Record<string, string>, string]> = [
      ['127.0.0.1', {}, '127.0.0.1'],
      [PROXY, { 'x-forwarded-for': '198.51.100.20' }, '198.51.100.20'],
    ];
    for (const [local, headers, expected] of cases) {
      const key = `greeting${expected.replace(/\./g, '')}`;
      expect((await write(local, 'PUT', `/api/v1/main/namespaces/company.ops/kv/${key}`, { body: '"hi"', headers: { ...headers, 'content-type': 'text/plain' } })).status).toBe(200);
      expect((await write(local, 'DELETE', `/api/v1/main/namespaces/company.ops/kv/${key}`, { headers })).status).toBe(200);
      const file = `/${key}.txt`;
      const uploaded = await write(local, 'POST', `/api/v1/main/namespaces/company.ops/files?path=${encodeURIComponent(file)}`, { body: upload.body, headers: { ...headers, ...upload.headers } });
      expect(uploaded.status, uploaded.text).toBe(200);
      expect((await write(local, 'DELETE', `/api/v1/main/namespaces/company.ops/files?path=${encodeURIComponent(file)}`, { headers })).status).toBeLessThan(300);
      const rows = await perch.perch.ctx.db.selectFrom('audit_log').select(['resource_type', 'ip']).where('tenant_id', '=', 'main').where('resource_type', 'in', ['KVSTORE', 'NAMESPACE'])
        .where('resource_id', 'like', `%${key}%`).orderBy('seq').execute();
      expect(rows.map((r) => [r.resource_type, r.ip])).toEqual([['KVSTORE', expected], ['KVSTORE', expected], ['NAMESPACE', expected], ['NAMESPACE', expected]]);
    }
  });

  it('keeps every password and token out of the audit log and the logs', async () => {
    await authFailures(perch.perch.ctx).flush();
    const everything = JSON.stringify([
      await perch.perch.ctx.db.selectFrom('audit_log').selectAll().execute(),
      await perch.perch.ctx.db.selectFrom('audit_states').selectAll().execute(),
    ]);
    const logs = logLines.join('');
    // The checks are not empty: the refusals were logged, and recorded.
    expect(logs).toContain('login.failed');
    expect(everything).toContain('LOGIN_FAILURE');
    expect(secrets.size).toBeGreaterThan(20);
    for (const secret of secrets) {
      expect(everything.includes(secret), `audit log holds ${secret}`).toBe(false);
      expect(logs.includes(secret), `logs hold ${secret}`).toBe(false);
    }
  });
});
