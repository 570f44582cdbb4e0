import { execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/postgres.js';

const run = promisify(execFile);
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
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
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
});
