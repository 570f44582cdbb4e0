import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startKestraDouble } from '../kestra-double/kestra-double.js';
import { freePort } from '../support/postgres.js';

const run = promisify(execFile);
/** Given to starts whose stderr is checked line by line: a first start without a key shows the one it makes first. */
const AUDIT_KEY = 'a1'.repeat(32);
const MASTER_KEY = 'b2'.repeat(32);
const PERCH = path.resolve(import.meta.dirname, '../../bin/perch.mjs');

async function waitForHealth(url: string, deadlineMs = 20_000): Promise<any> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await request(`${url}/perch/health`);
      return await res.body.json();
    } catch (error) {
      if (Date.now() > until) throw new Error(`Perch did not start: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
  return { ...clean, PERCH_LOG_LEVEL: 'warn', PERCH_KESTRA_URL: 'http://127.0.0.1:9', ...extra };
}

describe('perch command line', () => {
  it('stops at start-up on a bad setting with one line naming it', async () => {
    const failure = await run(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_PORT: 'nope' }) }).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr.trim()).toMatch(/^perch: Invalid configuration: port \(PERCH_PORT\): /);
    expect(failure.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('stops with one line naming the keys, and no password, when the first administrator cannot be created', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    const failure = await run(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_DATA_DIR: dataDir, PERCH_PORT: String(await freePort()), PERCH_ADMIN_EMAIL: 'root@example.com', PERCH_ADMIN_PASSWORD: 'tiny-pw', PERCH_AUDIT_KEY: AUDIT_KEY, PERCH_MASTER_KEY: MASTER_KEY }) }).catch((e) => e);
    expect(failure.code).toBe(1);
    expect(failure.stderr.trim()).toMatch(/^perch: admin\.email \/ admin\.password \(PERCH_ADMIN_EMAIL \/ PERCH_ADMIN_PASSWORD\): .*at least 12 characters/);
    expect(failure.stderr.trim().split('\n')).toHaveLength(1);
    expect(failure.stderr + failure.stdout).not.toContain('tiny-pw');
  });

  it('stops with one line, and no password, when the database or the port refuses', async () => {
    const closedPort = await freePort();
    const database = await run(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_DATABASE_URL: `postgres://perch:hunter2@127.0.0.1:${closedPort}/perch`, PERCH_AUDIT_KEY: AUDIT_KEY, PERCH_MASTER_KEY: MASTER_KEY }) }).catch((e) => e);
    expect(database.code).toBe(1);
    expect(database.stderr.trim()).toMatch(/^perch: cannot start: Database migration failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(database.stderr + database.stdout).not.toContain('hunter2');

    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
      const busy = await run(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_DATA_DIR: dataDir, PERCH_PORT: String(port) }) }).catch((e) => e);
      expect(busy.code).toBe(1);
      expect(busy.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^perch: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('without an administrator, explains how to create one and serves nothing else; `admin create` fixes it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    const port = await freePort();
    const child = spawn(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_DATA_DIR: dataDir, PERCH_PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    try {
      const url = `http://127.0.0.1:${port}`;
      const health = await waitForHealth(url);
      expect(health).toMatchObject({ status: 'UP', setupRequired: true, kestra: { reachable: false } });
      expect(stderr).toContain('perch admin create --email');
      const refused = await request(`${url}/perch/login`);
      expect(refused.statusCode).toBe(503);
      expect(((await refused.body.json()) as { message: string }).message).toMatch(/no administrator/);

      const weak = await run(process.execPath, [PERCH, 'admin', 'create', '--email', 'root@example.com', '--password', 'short'], { env: env({ PERCH_DATA_DIR: dataDir }) }).catch((e) => e);
      expect(weak.code).toBe(1);
      expect(weak.stderr).toMatch(/at least 12 characters/);

      const created = await run(process.execPath, [PERCH, 'admin', 'create', '--email', 'root@example.com', '--password', 'a long enough passphrase'], { env: env({ PERCH_DATA_DIR: dataDir }) });
      expect(created.stdout).toMatch(/Created instance owner root@example.com/);

      await new Promise((r) => setTimeout(r, 1100)); // the gate re-checks at most once a second
      const login = await request(`${url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'root@example.com', password: 'a long enough passphrase' }) });
      expect(login.statusCode).toBe(204);
      await login.body.dump();
      // The running Perch read the new owner's Admin binding too: no restart needed to use Kestra.
      const cookie = [login.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))!.split(';')[0]!;
      const me = await request(`${url}/api/v1/me`, { headers: { cookie } });
      const permissions = ((await me.body.json()) as { permissions: { tenantWide: Record<string, string[]> } }).permissions;
      expect(permissions.tenantWide.FLOW).toContain('CREATE');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('makes the audit key and the master key on first start, mode 0600, and shows each once: never at a later start', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    const start = async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_DATA_DIR: dataDir, PERCH_PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      try {
        await waitForHealth(`http://127.0.0.1:${port}`);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      return output;
    };
    const first = await start();
    const file = path.join(dataDir, 'audit.key');
    const key = (await readFile(file, 'utf8')).trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(first).toContain(`Created the audit key in ${file}:\n\n  ${key}\n\n`);
    expect(first.split(key)).toHaveLength(2);
    const second = await start();
    expect(second).not.toContain(key);
    expect(second).not.toContain('Created the audit key');
    expect((await readFile(file, 'utf8')).trim()).toBe(key);
    // The master key the same way: made once, 0600, shown once.
    const masterFile = path.join(dataDir, 'master.key');
    const master = (await readFile(masterFile, 'utf8')).trim();
    expect(master).toMatch(/^[0-9a-f]{64}$/);
    expect(master).not.toBe(key);
    expect((await stat(masterFile)).mode & 0o777).toBe(0o600);
    expect(first).toContain(`Created the master key in ${masterFile}:\n\n  ${master}\n\n`);
    expect(first.split(master)).toHaveLength(2);
    expect(second).not.toContain(master);
    expect(second).not.toContain('Created the master key');
  });

  it('creates the first administrator from PERCH_ADMIN_EMAIL / PERCH_ADMIN_PASSWORD on first start', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    const port = await freePort();
    const child = spawn(process.execPath, [PERCH, 'serve'], {
      env: env({ PERCH_DATA_DIR: dataDir, PERCH_PORT: String(port), PERCH_ADMIN_EMAIL: 'boot@example.com', PERCH_ADMIN_PASSWORD: 'bootstrapped passphrase' }),
      stdio: 'ignore',
    });
    try {
      const health = await waitForHealth(`http://127.0.0.1:${port}`);
      expect(health.setupRequired).toBe(false);
      const login = await request(`http://127.0.0.1:${port}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'boot@example.com', password: 'bootstrapped passphrase' }) });
      expect(login.statusCode).toBe(204);
      await login.body.dump();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('logs each request at debug level, and never a password, session id, token or Kestra credential', async () => {
    const kestra = await startKestraDouble();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    const port = await freePort();
    const adminPassword = 'logged-nowhere passphrase';
    const child = spawn(process.execPath, [PERCH, 'serve'], {
      env: env({
        PERCH_DATA_DIR: dataDir,
        PERCH_PORT: String(port),
        PERCH_LOG_LEVEL: 'debug',
        PERCH_KESTRA_URL: kestra.url,
        PERCH_KESTRA_USERNAME: kestra.username,
        PERCH_KESTRA_PASSWORD: kestra.password,
        PERCH_ADMIN_EMAIL: 'boot@example.com',
        PERCH_ADMIN_PASSWORD: adminPassword,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHealth(url);
      const login = (password: string) =>
        request(`${url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'boot@example.com', password }) });
      const wrong = await login('a wrong passphrase given');
      expect(wrong.statusCode).toBe(401);
      await wrong.body.dump();
      const good = await login(adminPassword);
      expect(good.statusCode).toBe(204);
      await good.body.dump();
      const session = String(good.headers['set-cookie']).match(/perch_session=([^;]+)/)![1]!;
      const proxied = await request(`${url}/api/v1/main/flows/search?page=1&size=10`, { headers: { cookie: `perch_session=${session}` } });
      expect(proxied.statusCode).toBe(200);
      await proxied.body.dump();
      // Kestra's credentials went upstream on that call: they must not come back into the log.
      expect(kestra.requests.at(-1)!.headers.authorization).toBe(kestra.authorization);
      const bearer = 'perch_made-up-token-that-must-not-be-logged';
      const refused = await request(`${url}/api/v1/main/flows/search`, { headers: { authorization: `Bearer ${bearer}` } });
      expect(refused.statusCode).toBe(401);
      await refused.body.dump();
      // A secret link carries its token in the query string.
      const link = await request(`${url}/perch/reset-password?token=made-up-link-token-never-logged`);
      await link.body.dump();
      // So does a webhook trigger, in its path.
      const webhook = await request(`${url}/api/v1/main/executions/webhook/company.team/hello/made-up-webhook-key`, { method: 'POST' });
      await webhook.body.dump();
      await new Promise((r) => setTimeout(r, 200)); // the last lines reach the pipe
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await kestra.close();
    }
    // Request logging is on at debug: the test looks at real request lines.
    expect(output).toContain('incoming request');
    expect(output).toContain('/api/v1/main/flows/search?page=[redacted]&size=[redacted]');
    expect(output).toContain('/perch/reset-password?token=[redacted]');
    expect(output).toContain('/api/v1/main/executions/webhook/company.team/hello/[redacted]');
    for (const secret of [adminPassword, 'a wrong passphrase given', kestra.password, kestra.authorization.slice('Basic '.length), 'perch_made-up-token', 'made-up-link-token', 'made-up-webhook-key']) {
      expect(output).not.toContain(secret);
    }
    const sessionIds = output.match(/perch_session=[A-Za-z0-9_-]{16,}/g);
    expect(sessionIds).toBeNull();
  });
});

