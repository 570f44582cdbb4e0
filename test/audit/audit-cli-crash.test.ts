import { execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../backend/store/database.js';
import { freePort } from '../support/postgres.js';

const run = promisify(execFile);
const PERCH = path.resolve(import.meta.dirname, '../../bin/perch.mjs');
const OWNER = { username: 'crash@example.com', password: 'crash test passphrase' };

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
  return { ...clean, PERCH_LOG_LEVEL: 'warn', PERCH_KESTRA_URL: 'http://127.0.0.1:9', ...extra };
}

async function waitForHealth(url: string, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await request(`${url}/perch/health`);
      await res.body.dump();
      return;
    } catch (error) {
      if (Date.now() > until) throw new Error(`Perch did not start: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

const cli = (dataDir: string, ...args: string[]) => run(process.execPath, [PERCH, 'audit', ...args], { env: env({ PERCH_DATA_DIR: dataDir }) }).then((r) => ({ code: 0, ...r }), (e) => e as { code: number; stdout: string; stderr: string });

describe('audit log durability and `perch audit`', () => {
  it('keeps every acknowledged change across kill -9; verify, tamper detection and purge from the command line', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-audit-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [PERCH, 'serve'], {
      env: env({ PERCH_DATA_DIR: dataDir, PERCH_PORT: String(port), PERCH_ADMIN_EMAIL: OWNER.username, PERCH_ADMIN_PASSWORD: OWNER.password }),
      stdio: 'ignore',
    });
    const acknowledged: string[] = [];
    try {
      await waitForHealth(url);
      const login = await request(`${url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(OWNER) });
      expect(login.statusCode).toBe(204);
      await login.body.dump();
      const cookie = [login.headers['set-cookie'] ?? []].flat().map((c) => c.split(';')[0]).join('; ');
      // Writes in parallel, so several share a group commit; the process dies right after the last answer.
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const res = await request(`${url}/api/v1/users`, {
          method: 'POST',
          headers: { cookie, origin: url, 'content-type': 'application/json' },
          body: JSON.stringify({ email: `crash-${i}@example.com` }),
        });
        const body = (await res.body.json()) as { id: string };
        if (res.statusCode === 201) acknowledged.push(body.id);
      }));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    expect(acknowledged).toHaveLength(40);

    const store = await openStore({ dataDir });
    try {
      const rows = await store.db.selectFrom('audit_log').select(['resource_id']).where('action', '=', 'CREATE').where('resource_type', '=', 'USER').execute();
      expect(new Set(rows.map((r) => r.resource_id))).toEqual(new Set(acknowledged));

      const ok = await cli(dataDir, 'verify');
      expect(ok.stdout, ok.stderr).toMatch(/chain _instance: ok, 41 entries/);

      // Tampering with one entry is reported by seq, and the command fails.
      const victim = await store.db.selectFrom('audit_log').select(['seq', 'id']).where('tenant_id', '=', '_instance').where('seq', '=', 10).executeTakeFirstOrThrow();
      const original = await store.db.selectFrom('audit_log').select('details').where('id', '=', victim.id).executeTakeFirstOrThrow();
      await store.db.updateTable('audit_log').set({ details: '{"forged":true}' }).where('id', '=', victim.id).execute();
      const broken = await cli(dataDir, 'verify');
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain(`chain _instance: BROKEN at seq 10 (id ${victim.id})`);
      await store.db.updateTable('audit_log').set({ details: original.details }).where('id', '=', victim.id).execute();

      // Purge: make the first 20 entries old, purge, and the chain still verifies.
      await store.db.updateTable('audit_log').set({ date: Date.now() - 200 * 86_400_000 }).where('seq', '<=', 20).execute();
      const purged = await cli(dataDir, 'purge', '--older-than', 'P90D');
      expect(purged.stdout).toMatch(/chain _instance: purged 20 entries; the chain now starts at seq 21/);
      const after = await cli(dataDir, 'verify');
      expect(after.stdout, after.stderr).toMatch(/chain _instance: ok, 22 entries \(seq 21…42\)/);
      expect((await cli(dataDir, 'purge', '--older-than', 'ninety days')).code).toBe(1);
    } finally {
      await store.close();
    }
  }, 60_000);
});
