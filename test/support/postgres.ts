/**
 * Throwaway PostgreSQL clusters for tests.
 *
 * `startTestPostgres()` runs initdb + pg_ctl from the PostgreSQL binaries (PG_BIN, else the newest
 * /usr/lib/postgresql/<n>/bin, else `pg_config --bindir`) in a fresh temp dir, listening only on
 * 127.0.0.1 on a free port, and returns a URL for the `perch_test` database plus `stop()`, which kills
 * the server and deletes the dir. PostgreSQL refuses to run as root, so as root every PostgreSQL
 * command runs as the `postgres` OS user through `runuser`, in a dir that user owns.
 *
 * `createTestDatabase(baseUrl)` creates a fresh, uniquely named database on a server so that each
 * test file gets an isolated database.
 */
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const execFile = promisify(execFileCb);

export interface TestPostgres {
  /** `postgres://perch@127.0.0.1:PORT/perch_test` */
  url: string;
  /** Stops the server (`pg_ctl stop -m immediate`) and removes its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const SUPERUSER = 'perch';
const DATABASE = 'perch_test';
const START_ATTEMPTS = 3; // a new port each time, in case another process grabbed the one we picked

const NOT_FOUND = 'PostgreSQL binaries not found: install the postgresql package (apt-get install -y postgresql)';

/** One line, for error messages. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { stderr?: unknown; message?: unknown };
    if (typeof e.stderr === 'string' && e.stderr.trim()) return oneLine(e.stderr);
    if (typeof e.message === 'string') return oneLine(e.message);
  }
  return oneLine(String(err));
}

function hasServerBinaries(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'postgres'));
}

/** PG_BIN, else the newest /usr/lib/postgresql/<version>/bin, else `pg_config --bindir`. */
export async function findPostgresBin(): Promise<string> {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) {
    if (!hasServerBinaries(fromEnv)) throw new Error(`PG_BIN=${fromEnv} does not contain initdb, pg_ctl and postgres`);
    return fromEnv;
  }
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const newestFirst = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  for (const version of newestFirst) {
    const dir = join('/usr/lib/postgresql', version, 'bin');
    if (hasServerBinaries(dir)) return dir;
  }
  try {
    const { stdout } = await execFile('pg_config', ['--bindir']);
    const dir = stdout.trim();
    if (dir && hasServerBinaries(dir)) return dir;
  } catch {
    // no pg_config on PATH
  }
  throw new Error(NOT_FOUND);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not pick a free TCP port'))));
    });
  });
}

interface RunAs {
  /** Runs a PostgreSQL binary, as the `postgres` OS user when we are root. */
  run(bin: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }>;
  runSync(bin: string, args: string[], cwd: string): void;
  /** Makes `dir` owned by the user the server runs as. */
  own(dir: string): Promise<void>;
}

async function runAs(): Promise<RunAs> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    return {
      run: (bin, args, cwd) => execFile(bin, args, { cwd }),
      runSync: (bin, args, cwd) => void execFileSync(bin, args, { cwd, stdio: 'ignore' }),
      own: async () => {},
    };
  }
  let uid: number;
  let gid: number;
  try {
    uid = Number((await execFile('id', ['-u', 'postgres'])).stdout.trim());
    gid = Number((await execFile('id', ['-g', 'postgres'])).stdout.trim());
  } catch {
    throw new Error(
      "running as root, but there is no 'postgres' OS user to run PostgreSQL as (install the postgresql package, or run the tests as a non-root user)",
    );
  }
  return {
    run: (bin, args, cwd) => execFile('runuser', ['-u', 'postgres', '--', bin, ...args], { cwd }),
    runSync: (bin, args, cwd) => void execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { cwd, stdio: 'ignore' }),
    own: (dir) => chown(dir, uid, gid),
  };
}

/** The most telling line of the server log (the first FATAL/PANIC/ERROR), for a one-line error. */
async function logReason(logFile: string): Promise<string> {
  const log = await readFile(logFile, 'utf8').catch(() => '');
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  const bad = lines.find((l) => /\b(FATAL|PANIC|ERROR):/.test(l)) ?? lines.at(-1);
  return bad ? oneLine(bad) : '';
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = await findPostgresBin();
  const as = await runAs();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // As root, stay in /tmp: TMPDIR may point somewhere the postgres user cannot reach.
  const dir = await mkdtemp(join(isRoot ? '/tmp' : tmpdir(), 'perch-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const pgCtl = join(bin, 'pg_ctl');
  let running = false;

  // Last resort if the test process exits without calling stop(): never leave a server behind.
  const onExit = (): void => {
    if (running) {
      try {
        as.runSync(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10'], dir);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    try {
      if (running) await as.run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30'], dir);
      running = false;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    await as.own(dir);
    try {
      await as.run(
        join(bin, 'initdb'),
        ['-D', dataDir, '-A', 'trust', '-U', SUPERUSER, '--no-sync', '-E', 'UTF8', '--locale=C'],
        dir,
      );
    } catch (err) {
      throw new Error(`initdb failed: ${errorText(err)}`);
    }

    // Settings go in a file postgresql.conf includes, not on a command line: pg_ctl hands its -o
    // string to a shell, and this way nothing is ever quoted by hand.
    await writeFile(join(dataDir, 'postgresql.conf'), "\ninclude_if_exists = 'perch_test.conf'\n", { flag: 'a' });

    let port = 0;
    for (let attempt = 1; !running; attempt++) {
      port = await freePort();
      const conf = [
        `listen_addresses = '127.0.0.1'`,
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        '',
      ].join('\n');
      const confFile = join(dataDir, 'perch_test.conf');
      await writeFile(confFile, conf);
      await as.own(confFile);
      try {
        await as.run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30'], dir);
        running = true;
      } catch (err) {
        const reason = (await logReason(logFile)) || errorText(err);
        // pg_ctl -w may give up while the server is still coming up; make sure nothing is left running.
        await as.run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10'], dir).catch(() => {});
        const portTaken = /could not (bind|create listen socket)|address already in use/i.test(reason);
        if (!portTaken || attempt >= START_ATTEMPTS) {
          throw new Error(`PostgreSQL failed to start on 127.0.0.1:${port}: ${reason}`);
        }
      }
    }

    const admin = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'postgres' });
    try {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } catch (err) {
      throw new Error(`could not create database ${DATABASE}: ${errorText(err)}`);
    } finally {
      await admin.end().catch(() => {});
    }

    return { url: `postgres://${SUPERUSER}@127.0.0.1:${port}/${DATABASE}`, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/**
 * Creates a fresh, uniquely named database on the server `baseUrl` points at (the user in the URL
 * needs CREATEDB) and returns the URL of the new database, same credentials and host.
 */
export async function createTestDatabase(baseUrl: string): Promise<string> {
  const name = `perch_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: baseUrl });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    throw new Error(`could not create test database ${name}: ${errorText(err)}`);
  } finally {
    await client.end().catch(() => {});
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
