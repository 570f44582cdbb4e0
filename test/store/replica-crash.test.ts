/**
 * High availability (issue 19, point 3): two Perch processes on one PostgreSQL, one killed (SIGKILL)
 * under a bounded load of audited writes. Every write either replica acknowledged has its audit
 * entry, the one audit chain verifies (`perch audit verify`, as an operator runs it), and a session
 * opened on the killed replica still works on the survivor. Loopback only; the load is 60 writes.
 */
import { execFile as execFileCb, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { createTestDatabase, freePort } from '../support/postgres.js';

const execFile = promisify(execFileCb);
const PERCH = path.resolve(import.meta.dirname, '../../bin/perch.mjs');
const ADMIN = { email: 'owner@example.com', password: 'a long enough passphrase' };
const WRITES = 60;
const KILL_AFTER = 20;

interface Replica {
  name: string;
  url: string;
  dataDir: string;
  child: ChildProcess;
}

const serverUrl = inject('postgresUrl');

describe.skipIf(!serverUrl)('two replicas on PostgreSQL, one killed under load', () => {
  let kestra: KestraDouble;
  let databaseUrl: string;
  const auditKey = randomBytes(32).toString('hex');
  const replicas: Replica[] = [];

  function environment(dataDir: string, port: number): NodeJS.ProcessEnv {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
    return {
      ...clean,
      PERCH_LOG_LEVEL: 'warn',
      PERCH_DATABASE_URL: databaseUrl,
      PERCH_DATA_DIR: dataDir,
      PERCH_PORT: String(port),
      PERCH_AUDIT_KEY: auditKey,
      PERCH_ADMIN_EMAIL: ADMIN.email,
      PERCH_ADMIN_PASSWORD: ADMIN.password,
      PERCH_KESTRA_URL: kestra.url,
      PERCH_KESTRA_USERNAME: kestra.username,
      PERCH_KESTRA_PASSWORD: kestra.password,
    };
  }

  async function start(name: string): Promise<Replica> {
    const dataDir = await mkdtemp(path.join(tmpdir(), `perch-${name}-`));
    const port = await freePort();
    const child = spawn(process.execPath, [PERCH, 'serve'], { env: environment(dataDir, port), stdio: ['ignore', 'ignore', 'pipe'] });
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + 60_000;
    for (;;) {
      try {
        const res = await request(`${url}/perch/health`);
        const health = (await res.body.json()) as { setupRequired: boolean };
        if (!health.setupRequired) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until || child.exitCode !== null) throw new Error(`${name} did not start`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const replica = { name, url, dataDir, child };
    replicas.push(replica);
    return replica;
  }

  async function signIn(replica: Replica): Promise<string> {
    const res = await request(`${replica.url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ADMIN.email, password: ADMIN.password }) });
    await res.body.dump();
    expect(res.statusCode).toBe(204);
    return [res.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))!.split(';')[0]!;
  }

  /** The acknowledged group creations the shared database has no audit entry, or no group, for. */
  async function missing(acknowledged: string[]): Promise<{ unaudited: string[]; unstored: string[] }> {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const entries = await db.query<{ resource_id: string }>("select resource_id from audit_log where resource_type = 'GROUP' and action = 'CREATE' and outcome = 'SUCCESS'");
      const audited = new Set(entries.rows.map((r) => r.resource_id));
      const stored = new Set((await db.query<{ id: string }>('select id from groups')).rows.map((r) => r.id));
      return { unaudited: acknowledged.filter((id) => !audited.has(id)), unstored: acknowledged.filter((id) => !stored.has(id)) };
    } finally {
      await db.end();
    }
  }

  beforeAll(async () => {
    kestra = await startKestraDouble();
    databaseUrl = await createTestDatabase(serverUrl!);
    // One after the other: the first makes the owner, the second finds it.
    await start('a');
    await start('b');
  }, 180_000);

  afterAll(async () => {
    for (const replica of replicas) {
      if (replica.child.exitCode === null && replica.child.signalCode === null) {
        replica.child.kill('SIGTERM');
        await new Promise((r) => replica.child.once('exit', r));
      }
      await rm(replica.dataDir, { recursive: true, force: true });
    }
    await kestra?.close();
  });

  it('loses no acknowledged write, keeps one verifiable chain, and keeps the killed replica’s sessions', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const sessions = { a: await signIn(a), b: await signIn(b) };
    const acknowledged: string[] = [];
    let refusedByTheDead = 0;
    let killed = false;

    const write = async (replica: Replica, n: number) => {
      try {
        const res = await request(`${replica.url}/api/v1/main/groups`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie: sessions[replica.name as 'a' | 'b'], origin: replica.url },
          body: JSON.stringify({ name: `load-${n}`, description: `write ${n} on ${replica.name}` }),
          headersTimeout: 15_000,
        });
        const body = (await res.body.json()) as { id?: string };
        if (res.statusCode === 200 || res.statusCode === 201) acknowledged.push(body.id!);
        else throw new Error(`${replica.name} answered ${res.statusCode}`);
      } catch (error) {
        // A write to the killed replica is never acknowledged: the connection drops or is refused.
        if (replica === a && killed) refusedByTheDead += 1;
        else throw error;
      }
    };

    // Four writes in flight at a time, alternating replicas; A is killed with writes in flight.
    for (let n = 0; n < WRITES; n += 4) {
      if (n === KILL_AFTER) killed = a.child.kill('SIGKILL');
      await Promise.all([0, 1, 2, 3].map((i) => write((n + i) % 2 === 0 ? a : b, n + i)));
    }
    if (a.child.exitCode === null && a.child.signalCode === null) await new Promise((r) => a.child.once('exit', r));
    expect(a.child.signalCode).toBe('SIGKILL');
    expect(refusedByTheDead).toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThanOrEqual(WRITES / 2);

    // Every acknowledged write has its audit entry, and its group exists.
    expect(await missing(acknowledged)).toEqual({ unaudited: [], unstored: [] });

    // A session opened on the killed replica works on the survivor.
    const me = await request(`${b.url}/api/v1/me`, { headers: { cookie: sessions.a } });
    expect(me.statusCode).toBe(200);
    expect(((await me.body.json()) as { profile: { email: string } }).profile.email).toBe(ADMIN.email);

    // The one chain verifies, links, states, key and the survivor's newest checkpoint.
    const verified = await execFile(process.execPath, [PERCH, 'audit', 'verify'], { env: environment(b.dataDir, 0), timeout: 60_000 }).then(
      (done) => ({ code: 0, ...done }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(verified.code, `${verified.stdout}\n${verified.stderr}`).toBe(0);
    expect(verified.stdout).toMatch(/^chain main: ok, \d+ entries/m);
    expect(`${verified.stdout}${verified.stderr}`).not.toMatch(/BROKEN|no checkpoint/);
  }, 240_000);

  it('a replica stopped (SIGTERM) with writes in flight finishes or refuses each, never acknowledging one it did not record, and exits 0', async () => {
    const c = await start('c');
    const cookie = await signIn(c);
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        if (n === 4) c.child.kill('SIGTERM');
        try {
          const res = await request(`${c.url}/api/v1/main/groups`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', cookie, origin: c.url },
            body: JSON.stringify({ name: `drain-${n}` }),
            headersTimeout: 15_000,
          });
          const body = (await res.body.json()) as { id?: string };
          return { status: res.statusCode, id: body.id };
        } catch {
          return { status: 0, id: undefined }; // the connection closed: nothing acknowledged
        }
      }),
    );
    const code = c.child.exitCode ?? (await new Promise<number | null>((r) => c.child.once('exit', (exit) => r(exit))));
    expect(code).toBe(0);
    for (const r of results) expect([0, 200, 201, 503]).toContain(r.status);
    const acknowledged = results.filter((r) => r.status === 200 || r.status === 201).map((r) => r.id!);
    expect(await missing(acknowledged)).toEqual({ unaudited: [], unstored: [] });
  }, 120_000);
});
