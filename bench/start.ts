/**
 * `npm run bench:start`: how long Perch takes to start when nothing changed since the last build.
 * Times (median of 5, wall clock, printed and written to docs/benchmarks.md; not a test):
 * - the build check `npm start` runs first (bin/build-if-changed.mjs), with nothing to rebuild;
 * - `npm start` as a whole, from the command to the first answer of /perch/health/live;
 * - `npx perch --help` and `--version` (bin/perch.mjs running the compiled CLI), and `node -e 0` beside them.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { freePort } from '../test/support/postgres.js';
import { machineLine, median, writeBenchmarkSection } from './report.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROUNDS = 5;

function timeCommand(command: string, args: string[]): number {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
  return performance.now() - started;
}

/** `npm start` until Perch answers its liveness probe; then it is stopped. */
async function timeNpmStart(): Promise<number> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'perch-bench-start-'));
  const port = await freePort();
  const env = { ...process.env, PERCH_PORT: String(port), PERCH_DATA_DIR: dataDir, PERCH_LOG_LEVEL: 'error', PERCH_KESTRA_URL: 'http://127.0.0.1:9', PERCH_ADMIN_EMAIL: 'bench@example.com', PERCH_ADMIN_PASSWORD: 'a benchmark passphrase' };
  const started = performance.now();
  // Its own process group, so that stopping it stops npm's child node too.
  const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: 'ignore', detached: true });
  try {
    for (;;) {
      try {
        const res = await request(`http://127.0.0.1:${port}/perch/health/live`);
        await res.body.dump();
        return performance.now() - started;
      } catch {
        if (performance.now() - started > 60_000) throw new Error('npm start did not answer within 60 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

// Bring both builds up to date first (untimed): the figures are for "nothing changed".
execFileSync(process.execPath, ['bin/build-if-changed.mjs'], { cwd: ROOT, stdio: 'inherit' });
const load = os.loadavg()[0]!.toFixed(2);
const rows: { what: string; ms: number[] }[] = [
  { what: '`node -e 0` (Node itself, for scale)', ms: [] },
  { what: 'build check, nothing changed (`node bin/build-if-changed.mjs`)', ms: [] },
  { what: '`npx perch --version` (compiled CLI)', ms: [] },
  { what: '`npx perch --help` (compiled CLI)', ms: [] },
  { what: '`npm start` → first answer of /perch/health/live', ms: [] },
];
for (let round = 0; round < ROUNDS; round++) {
  rows[0]!.ms.push(timeCommand(process.execPath, ['-e', '0']));
  rows[1]!.ms.push(timeCommand(process.execPath, ['bin/build-if-changed.mjs']));
  rows[2]!.ms.push(timeCommand(process.execPath, ['bin/perch.mjs', '--version']));
  rows[3]!.ms.push(timeCommand(process.execPath, ['bin/perch.mjs', '--help']));
  rows[4]!.ms.push(await timeNpmStart());
}
const table = ['| what | median (ms) | min – max (ms) |', '|---|---|---|', ...rows.map((r) => `| ${r.what} | ${Math.round(median(r.ms))} | ${Math.round(Math.min(...r.ms))} – ${Math.round(Math.max(...r.ms))} |`)];
console.log(table.join('\n'));
await writeBenchmarkSection(
  'start',
  [
    '## Start-up with nothing changed (`npm run bench:start`)',
    '',
    `Run on ${new Date().toISOString().slice(0, 10)}, ${await machineLine()}, Node ${process.version}, load average ${load} at start (the VM is shared: compare within a run). ${ROUNDS} rounds, wall clock; \`npm start\` with a fresh SQLite store (its migrations included) and Kestra absent.`,
    '',
    ...table,
  ].join('\n'),
);
