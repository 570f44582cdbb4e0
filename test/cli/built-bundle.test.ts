/**
 * The built backend (bin/build-backend.mjs: one bundled module plus chunks, native addons and lazy
 * libraries left outside) runs as `npm start` runs it: same Node flags and environment, it serves,
 * signs a person in (Argon2 and SQLite, both outside the bundle) and knows its version. The other
 * tests run the TypeScript sources; this one is what users run.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnv, startFlags } from '../../bench/perch-command.js';
import { freePort } from '../support/postgres.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
let home: string;

beforeAll(async () => {
  // A folder laid out as an install: package.json, node_modules, and the build in dist/.
  home = await mkdtemp(path.join(tmpdir(), 'perch-bundle-'));
  await copyFile(path.join(ROOT, 'package.json'), path.join(home, 'package.json'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(home, 'node_modules'));
  await run(process.execPath, [path.join(ROOT, 'bin/build-backend.mjs'), path.join(home, 'dist')], { cwd: ROOT });
}, 120_000);
afterAll(() => rm(home, { recursive: true, force: true }));

describe('the built backend', () => {
  it('is one module to load at start, the rest in chunks', async () => {
    expect((await readdir(path.join(home, 'dist/backend'))).filter((f) => f.endsWith('.js'))).toEqual(['cli.js']);
    const chunks = (await readdir(path.join(home, 'dist/backend/chunks'))).filter((f) => f.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(0);
    // A CommonJS package bundled as a lazy chunk exports only `default`: `const { request } = await
    // import('undici')` would get undefined. Packages imported on use are left to Node's loader.
    for (const chunk of chunks) expect(readFileSync(path.join(home, 'dist/backend/chunks', chunk), 'utf8'), chunk).not.toMatch(/export default require_\w+\(\);/);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await run(process.execPath, [path.join(home, 'dist/backend/cli.js'), '--version'])).stdout.trim()).toBe(version);
  });

  it('serves as `npm start` starts it, and signs the first admin in', async () => {
    const port = await freePort();
    const data = await mkdtemp(path.join(tmpdir(), 'perch-bundle-data-'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
    const admin = { username: 'root@example.com', password: 'a long enough passphrase' };
    const child = spawn(process.execPath, [...startFlags(), path.join(home, 'dist/backend/cli.js'), 'serve'], {
      env: { ...clean, ...startEnv(), PERCH_LOG_LEVEL: 'warn', PERCH_PORT: String(port), PERCH_DATA_DIR: data, PERCH_KESTRA_URL: 'http://127.0.0.1:9', PERCH_ADMIN_EMAIL: admin.username, PERCH_ADMIN_PASSWORD: admin.password },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const url = `http://127.0.0.1:${port}`;
    try {
      const until = Date.now() + 30_000;
      let health: number | undefined;
      while (health === undefined) {
        try {
          const res = await request(`${url}/perch/health`);
          await res.body.dump();
          health = res.statusCode;
        } catch (error) {
          if (Date.now() > until || child.exitCode !== null) throw new Error(`the built Perch did not serve: ${(error as Error).message}\n${stderr}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      expect(health).toBe(200);
      const login = await request(`${url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
      await login.body.dump();
      expect(login.statusCode).toBe(204);
      expect([login.headers['set-cookie']].flat().some((c) => c?.startsWith('perch_session='))).toBe(true);
      const wrong = await request(`${url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...admin, password: 'not the passphrase' }) });
      await wrong.body.dump();
      expect(wrong.statusCode).toBe(401);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      await rm(data, { recursive: true, force: true });
    }
  }, 60_000);
});
