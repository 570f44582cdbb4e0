import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFailures } from '../../backend/audit/auth-failures.js';
import { loadConfig, parseConfig } from '../../backend/config/config.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { ADMIN_EMAIL, Browser, exchange, grantRole, logFlow, startBehindUpstream, startPerch, type RunningPerch } from '../support/perch.js';

/**
 * `/perch/metrics` (issue 19, point 5): Prometheus's text format, for the holder of the metrics token
 * only, with counters that move when Perch refuses, forwards and audits, and no label that names a
 * person, a path or a namespace.
 */

const TOKEN = 'metrics-token-0123456789abcdef0123456789';
const SCRAPE = { authorization: `Bearer ${TOKEN}` };

/** The samples of a scrape: `name{labels}` → value, exactly as printed. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

describe('/perch/metrics', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let viewer: Browser;
  let viewerId: string;

  const scrape = async () => {
    const res = await exchange(`${perch.url}/perch/metrics`, 'GET', { headers: SCRAPE });
    expect(res.status).toBe(200);
    return samples(res.text);
  };
  /** What a sample moved by while `act` ran. */
  const moved = async (act: () => Promise<unknown>, ...names: string[]) => {
    const before = await scrape();
    await act();
    const after = await scrape();
    return names.map((name) => (after.get(name) ?? NaN) - (before.get(name) ?? 0));
  };

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { metrics: { token: TOKEN }, kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT2S' } } });
    admin = new Browser(perch);
    await admin.login();
    for (const [ns, id] of [['company.team', 'hello'], ['company.finance', 'payroll']]) {
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow(ns!, id!), headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200);
    }
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'viewer@example.com', password: 'a good long password' } });
    viewerId = created.json.id;
    await grantRole(perch.perch, viewerId, 'viewer', 'company.team');
    viewer = new Browser(perch);
    await viewer.login('viewer@example.com', 'a good long password');
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });

  it('refuses a scrape without the metrics token, with a wrong one, and with a signed-in owner’s session', async () => {
    const none = await exchange(`${perch.url}/perch/metrics`, 'GET');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(none.json.message).toMatch(/metrics token/);
    expect(none.text).not.toContain('perch_http_requests_total');
    const wrong = await exchange(`${perch.url}/perch/metrics`, 'GET', { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const owner = await admin.fetch('GET', '/perch/metrics');
    expect(owner.status).toBe(401);
    expect(owner.text).not.toContain('perch_http_requests_total');
    // Each refusal is a failed authentication in the audit log (aggregated), never with the token tried.
    await authFailures(perch.perch.ctx).flush();
    const rows = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('action', '=', 'LOGIN_FAILURE').execute();
    const reasons = rows.map((row) => JSON.parse(row.details) as { reason: string; count: number }).filter((d) => /metrics token/.test(d.reason));
    expect(reasons.map((d) => [d.reason, d.count]).sort()).toEqual([['no metrics token', 2], ['wrong metrics token', 1]]);
    expect(JSON.stringify(rows)).not.toContain(TOKEN);
  });

  it('is scraped before the first administrator exists, like the health checks', async () => {
    const fresh = await startPerch({ withAdmin: false, config: { metrics: { token: TOKEN } } });
    try {
      expect((await exchange(`${fresh.url}/api/v1/me`, 'GET')).status).toBe(503);
      const res = await exchange(`${fresh.url}/perch/metrics`, 'GET', { headers: SCRAPE });
      expect(res.status).toBe(200);
      expect(samples(res.text).get('perch_sessions_active')).toBe(0);
      expect((await exchange(`${fresh.url}/perch/metrics`, 'GET')).status).toBe(401);
    } finally {
      await fresh.close();
    }
  });

  it('is off (403) when no metrics token is configured', async () => {
    const bare = await startPerch();
    try {
      const res = await exchange(`${bare.url}/perch/metrics`, 'GET', { headers: SCRAPE });
      expect(res.status).toBe(403);
      expect(res.json.message).toMatch(/metrics\.token/);
    } finally {
      await bare.close();
    }
  });

  it('answers Prometheus’s text format with Perch’s metrics and the process’s', async () => {
    const res = await exchange(`${perch.url}/perch/metrics`, 'GET', { headers: SCRAPE });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of ['perch_http_requests_total', 'perch_authz_decisions_total', 'perch_kestra_response_seconds', 'perch_kestra_errors_total', 'perch_audit_commit_seconds', 'perch_audit_backlog', 'perch_sessions_active', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    // Two signed-in people: the owner and the viewer.
    expect(samples(res.text).get('perch_sessions_active')).toBe(2);
    expect(samples(res.text).get('perch_audit_backlog')).toBe(0);
  });

  it('names no person, path, namespace or id in any label', async () => {
    const res = await exchange(`${perch.url}/perch/metrics`, 'GET', { headers: SCRAPE });
    for (const secret of [ADMIN_EMAIL, 'viewer@example.com', viewerId, 'company.team', '/api/v1', 'hello', TOKEN]) expect(res.text).not.toContain(secret);
    const labels = new Set([...res.text.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]));
    // Bounded labels only (prom-client's default metrics add a few of their own, all fixed; `state`: a worker group target's running / unreachable / unknown).
    for (const label of labels) expect(['route', 'lane', 'status', 'decision', 'reason', 'kind', 'le', 'space', 'type', 'kind', 'version', 'major', 'minor', 'patch', 'state']).toContain(label);
  });

  it('counts a refused Kestra call as a denial, by reason, and Kestra never hears of it', async () => {
    kestra.clear();
    const [forbidden, granted, answered4xx] = await moved(
      async () => expect((await viewer.fetch('GET', '/api/v1/main/flows/company.finance/payroll')).status).toBe(403),
      'perch_authz_decisions_total{decision="denied",reason="forbidden"}',
      'perch_authz_decisions_total{decision="allowed",reason="granted"}',
      'perch_http_requests_total{route="kestra_api",lane="fastify",status="4xx"}',
    );
    expect([forbidden, granted, answered4xx]).toEqual([1, 0, 1]);
    expect(kestra.requests).toHaveLength(0);
    const [unauthenticated] = await moved(
      async () => expect((await exchange(`${perch.url}/api/v1/main/flows/company.team/hello`, 'GET')).status).toBe(401),
      'perch_authz_decisions_total{decision="denied",reason="unauthenticated"}',
    );
    expect(unauthenticated).toBe(1);
  });

  it('counts a refusal of Perch’s own API as a denial, and Perch’s API answers by class', async () => {
    const [forbidden, perchApi4xx] = await moved(
      async () => expect((await viewer.fetch('GET', '/api/v1/main/roles/search')).status).toBe(403),
      'perch_authz_decisions_total{decision="denied",reason="forbidden"}',
      'perch_http_requests_total{route="perch_api",lane="fastify",status="4xx"}',
    );
    expect([forbidden, perchApi4xx]).toEqual([1, 1]);
  });

  it('counts a read forwarded by the fast lane: an allowed decision, Kestra’s latency, a fast-lane 2xx', async () => {
    const lane = perch.perch.fastLane.forwarded;
    const [granted, latency, fast2xx] = await moved(
      async () => expect((await viewer.fetch('GET', '/api/v1/main/flows/company.team/hello')).status).toBe(200),
      'perch_authz_decisions_total{decision="allowed",reason="granted"}',
      'perch_kestra_response_seconds_count',
      'perch_http_requests_total{route="kestra_api",lane="fast",status="2xx"}',
    );
    expect([granted, latency, fast2xx]).toEqual([1, 1, 1]);
    expect(perch.perch.fastLane.forwarded).toBe(lane + 1);
    // A narrowed search is allowed as narrowed.
    const [narrowed] = await moved(
      async () => expect((await viewer.fetch('GET', '/api/v1/main/flows/search?page=1&size=25')).status).toBe(200),
      'perch_authz_decisions_total{decision="allowed",reason="narrowed"}',
    );
    expect(narrowed).toBe(1);
  });

  it('counts a write through Fastify: Kestra’s latency, an audit commit, Perch’s own API and probes by class', async () => {
    const [latency, commits, fastify2xx] = await moved(
      async () => expect((await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'another'), headers: { 'content-type': 'application/x-yaml' } })).status).toBe(200),
      'perch_kestra_response_seconds_count',
      'perch_audit_commit_seconds_count',
      'perch_http_requests_total{route="kestra_api",lane="fastify",status="2xx"}',
    );
    expect(latency).toBe(1);
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(fastify2xx).toBe(1);
    const [perchApi, probe] = await moved(
      async () => {
        expect((await admin.fetch('GET', '/api/v1/me')).status).toBe(200);
        expect((await exchange(`${perch.url}/perch/health/live`, 'GET')).status).toBe(200);
      },
      'perch_http_requests_total{route="perch_api",lane="fastify",status="2xx"}',
      'perch_http_requests_total{route="probe",lane="fastify",status="2xx"}',
    );
    expect(perchApi).toBe(1);
    // The health probe, and the first scrape (counted as its head leaves, before the second one reads).
    expect(probe).toBe(2);
  });
});

describe('Kestra errors in the metrics', () => {
  it('counts an unreachable Kestra by kind', async () => {
    const perch = await startPerch({ config: { metrics: { token: TOKEN } } });
    try {
      const admin = new Browser(perch);
      await admin.login();
      const scrape = async () => samples((await exchange(`${perch.url}/perch/metrics`, 'GET', { headers: SCRAPE })).text);
      const before = (await scrape()).get('perch_kestra_errors_total{kind="unreachable"}')!;
      expect((await admin.fetch('GET', '/api/v1/main/flows/company.team/hello')).status).toBe(502);
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'x'), headers: { 'content-type': 'application/x-yaml' } })).status).toBe(502);
      expect((await scrape()).get('perch_kestra_errors_total{kind="unreachable"}')).toBe(before + 2);
    } finally {
      await perch.close();
    }
  });

  it('counts a Kestra that refuses Perch’s account, one too slow, and one that breaks off, on both forwarders', async () => {
    let mode: 'refusing' | 'slow' | 'breaking' = 'refusing';
    const behind = await startBehindUpstream((req, res) => {
      req.resume();
      if (mode === 'refusing') return void res.writeHead(401).end();
      if (mode === 'breaking') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":');
        return void setImmediate(() => res.destroy());
      }
      // slow: never answers.
    }, 'PT0.3S');
    try {
      const kinds = ['credentials_refused', 'timeout', 'broken_off'] as const;
      // This Perch has no metrics token: its metrics are read as the route would write them.
      const read = async () => {
        const text = await behind.perch.perch.ctx.metrics.scrape();
        return kinds.map((kind) => samples(text).get(`perch_kestra_errors_total{kind="${kind}"}`)!);
      };
      const before = await read();
      for (const next of ['refusing', 'slow', 'breaking'] as const) {
        mode = next;
        // A read goes by the direct forwarder, a write by reply-from; a broken-off answer may be a cut connection.
        const viaDirect = await behind.browser.fetch('GET', '/api/v1/main/flows/company.team/a').catch(() => null);
        const viaReplyFrom = await behind.browser.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'a'), headers: { 'content-type': 'application/x-yaml' } }).catch(() => null);
        if (mode === 'refusing') expect([viaDirect?.status, viaReplyFrom?.status]).toEqual([502, 502]);
        if (mode === 'slow') expect([viaDirect?.status, viaReplyFrom?.status]).toEqual([504, 504]);
      }
      expect((await read()).map((n, i) => n - before[i]!)).toEqual([2, 2, 2]);
    } finally {
      await behind.close();
    }
  });
});

describe('metrics.token', () => {
  it('is read from PERCH_METRICS_TOKEN or its _FILE, and refused when short or with spaces', async () => {
    expect((await loadConfig({ env: { PERCH_METRICS_TOKEN: TOKEN } })).metrics.token).toBe(TOKEN);
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-metrics-'));
    try {
      await writeFile(path.join(dir, 'token'), `${TOKEN}\n`);
      expect((await loadConfig({ env: { PERCH_METRICS_TOKEN_FILE: path.join(dir, 'token') } })).metrics.token).toBe(TOKEN);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() => parseConfig({ metrics: { token: 'too-short' } })).toThrow(/metrics\.token \(PERCH_METRICS_TOKEN\): must be at least 32 printable characters/);
    expect(() => parseConfig({ metrics: { token: `${TOKEN} with spaces` } })).toThrow(/metrics\.token/);
  });
});
