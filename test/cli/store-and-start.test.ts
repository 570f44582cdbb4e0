import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startKestraDouble } from '../kestra-double/kestra-double.js';
import { freePort } from '../support/postgres.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const PERCH = path.join(ROOT, 'bin/perch.mjs');

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
  return { ...clean, PERCH_LOG_LEVEL: 'warn', PERCH_KESTRA_URL: 'http://127.0.0.1:9', ...extra };
}

/** Starts `perch serve`, collecting stderr, and waits until it answers its liveness probe. */
async function serve(extra: Record<string, string>): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [PERCH, 'serve'], { env: env({ PERCH_PORT: String(port), ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await request(`${url}/perch/health/live`);
      await res.body.dump();
      break;
    } catch (error) {
      if (Date.now() > until) throw new Error(`Perch did not start: ${(error as Error).message}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    child,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

describe('perch commands: version, stores, people-readable output', () => {
  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await run(process.execPath, [PERCH, '--version'])).stdout.trim()).toBe(version);
  });

  it('refuses to read a store that does not exist, and creates none', async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'perch-cli-')), 'missing');
    for (const args of [['audit', 'verify'], ['users', 'list'], ['audit', 'purge', '--older-than', 'P90D']]) {
      const failure = await run(process.execPath, [PERCH, ...args], { env: env({ PERCH_DATA_DIR: dataDir }) }).catch((e) => e);
      expect(failure.code).toBe(1);
      expect(failure.stderr.trim()).toBe(`perch: no Perch store at ${path.join(dataDir, 'perch.db')} (PERCH_DATA_DIR / PERCH_DATABASE_URL): this command reads a store and never creates one`);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it('lists the store’s users as a table or as JSON, naming the store it opened', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    await run(process.execPath, [PERCH, 'admin', 'create', '--email', 'Owner@Example.com', '--password', 'a long enough passphrase'], { env: env({ PERCH_DATA_DIR: dataDir }) });
    const table = await run(process.execPath, [PERCH, 'users', 'list'], { env: env({ PERCH_DATA_DIR: dataDir }) });
    expect(table.stderr.trim()).toBe(`store: SQLite ${path.join(dataDir, 'perch.db')}`);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+NAME\s+FLAGS\s+ID$/);
    expect(lines[1]).toMatch(/^owner@example\.com\s+-\s+instance-owner\s+[0-9a-f-]{36}$/);
    const json = JSON.parse((await run(process.execPath, [PERCH, 'users', 'list', '--json'], { env: env({ PERCH_DATA_DIR: dataDir }) })).stdout);
    expect(json).toMatchObject({ total: 1, results: [{ email: 'owner@example.com', superAdmin: true }] });
    const verify = await run(process.execPath, [PERCH, 'audit', 'verify'], { env: env({ PERCH_DATA_DIR: dataDir }) });
    expect(verify.stderr).toContain(`store: SQLite ${path.join(dataDir, 'perch.db')}`);
  });

  it('without an administrator, answers a browser with a page giving the exact command and the data folder', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-cli-'));
    const perch = await serve({ PERCH_DATA_DIR: dataDir });
    try {
      const command = `PERCH_DATA_DIR='${dataDir}' npx perch admin create --email you@example.com --password '&lt;a long passphrase&gt;'`;
      const page = await request(`${perch.url}/ui/`, { headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(page.statusCode).toBe(503);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const html = await page.body.text();
      expect(html).toContain('<h1>Create the first administrator</h1>');
      expect(html).toContain(command.replaceAll("'", '&#39;'));
      // Scripts still get JSON; the start-up message has the same command.
      const api = await request(`${perch.url}/api/v1/me`);
      expect(api.statusCode).toBe(503);
      expect(((await api.body.json()) as { message: string }).message).toMatch(/no administrator/);
      expect(perch.stderr()).toContain(`PERCH_DATA_DIR='${dataDir}' npx perch admin create --email you@example.com`);
      // Probes answer before setup: alive, not ready.
      const ready = await request(`${perch.url}/perch/health/ready`);
      expect(ready.statusCode).toBe(503);
      expect(await ready.body.json()).toMatchObject({ status: 'DOWN', setupRequired: true });
    } finally {
      await perch.stop();
    }
  });

  it('warns loudly at start when Kestra refuses Perch’s credentials, and is ready once they are right', async () => {
    const kestra = await startKestraDouble();
    try {
      const admin = { PERCH_ADMIN_EMAIL: 'boot@example.com', PERCH_ADMIN_PASSWORD: 'bootstrapped passphrase', PERCH_KESTRA_URL: kestra.url, PERCH_KESTRA_USERNAME: kestra.username };
      const wrong = await serve({ ...admin, PERCH_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'perch-cli-')), PERCH_KESTRA_PASSWORD: 'Not-the-password-1' });
      try {
        await expect.poll(() => wrong.stderr()).toContain("Kestra is not ready for Perch: Kestra refused Perch's credentials (401)");
        expect(wrong.stderr()).toContain('!'.repeat(72));
        const ready = await request(`${wrong.url}/perch/health/ready`);
        expect(ready.statusCode).toBe(503);
        expect(await ready.body.json()).toMatchObject({ status: 'DOWN', reason: expect.stringContaining("Kestra refused Perch's credentials (401)") });
        // Liveness is about Perch alone.
        const live = await request(`${wrong.url}/perch/health/live`);
        expect(live.statusCode).toBe(200);
        await live.body.dump();
      } finally {
        await wrong.stop();
      }
      const right = await serve({ ...admin, PERCH_DATA_DIR: await mkdtemp(path.join(tmpdir(), 'perch-cli-')), PERCH_KESTRA_PASSWORD: kestra.password });
      try {
        const ready = await request(`${right.url}/perch/health/ready`);
        expect(ready.statusCode).toBe(200);
        expect(await ready.body.json()).toMatchObject({ status: 'UP', setupRequired: false, kestra: { ready: true, status: 200 } });
        expect(right.stderr()).not.toContain('Kestra is not ready');
      } finally {
        await right.stop();
      }
    } finally {
      await kestra.close();
    }
  });
});
