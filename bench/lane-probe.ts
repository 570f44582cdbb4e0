/**
 * Ad-hoc probe of the fast lane's cost (issue 26, point 1): Perch's CPU per request (from /proc), GC
 * per 10,000 requests, wrk's c=1 p50/p99 through Perch and direct, and, with PROBE_CORRELATE, which
 * slow c=1 requests overlapped a GC pause. Run under the bench lock, on a built tree:
 *   flock /tmp/perch-bench.lock taskset -c 1 npx tsx bench/lane-probe.ts <tree with dist/> [seconds]
 * Perch runs with npm start's flags on core 0, plus bench/lane-probe-preload.mjs (GC entries; heap sampling on SIGUSR2).
 * PROBE_ONLY=json|1MB: those runs only; PROBE_IDLE=<s>: Perch idle that long before each round after the first and before the correlation; PROBE_GC_AT=<s>: an ordinary full GC that far into each idle (with PROBE_FLAGS=--expose-gc); PROBE_MIX=1: before each round, c=16 runs of a person bound to a namespace and of a NAMESPACE tenant's Admin (lists narrowed and filtered, through Fastify), as bench:proxy's rounds run them before Perch's own; PROBE_PERF=<perf events>: their counts per request (perfStat); PROBE_ROUNDS; PROBE_FLAGS: Node flags added; PROBE_PROFILE=json|mb: a sampling heap
 * profile of a c=16 run instead (bytes per request by allocating function).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { stop, waitFor } from './child-processes.js';
import { perchBenchEnv, startFlags } from './perch-command.js';
import { namespaceSessions } from './perch-sessions.js';
import { processCounters } from './process-memory.js';
import { freePort } from '../test/support/postgres.js';
import { wrk as runWrk, type WrkResult } from './wrk.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TREE = path.resolve(process.argv[2] ?? ROOT);
const SECONDS = Number(process.argv[3] ?? 5);
/** PROBE_IDLE: seconds Perch sits idle before each round after the first, and before the correlation run (bench:proxy's rounds leave it idle while the other proxies run). */
const IDLE_MS = Number(process.env.PROBE_IDLE ?? 0) * 1000;
/** PROBE_GC_AT=<s>: that far into each idle, an ordinary full GC in Perch (needs PROBE_FLAGS=--expose-gc; the preload's SIGURG). */
const GC_AT_MS = process.env.PROBE_GC_AT === undefined ? undefined : Number(process.env.PROBE_GC_AT) * 1000;
const PRELOAD = path.join(ROOT, 'bench/lane-probe-preload.mjs');
const USER = 'bench@kestra.io';
const PASSWORD = 'Bench-password-1';
const JSON_PATH = '/api/v1/main/flows/search?filters[namespace][PREFIX]=company&page=1&size=25';
const MB_PATH = '/api/v1/main/namespaces/company.team/files?path=%2Fbig.bin';

const wrk = (url: string, c: number, headers: string[], seconds = SECONDS) => runWrk(url, c, headers, seconds);

type Gc = [at: number, ms: number, kind: number];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const work = await mkdtemp(path.join(tmpdir(), 'lane-probe-'));
  const [upPort, perchPort] = [await freePort(), await freePort()];
  let upstream: ChildProcess | undefined;
  let perch: ChildProcess | undefined;
  const gcFile = path.join(work, 'probe');
  try {
    upstream = fork(path.join(ROOT, 'bench/upstream.mjs'), { execPath: 'taskset', execArgv: ['-c', '1', process.execPath], env: { ...process.env, BENCH_PORT: String(upPort), BENCH_USER: USER, BENCH_PASSWORD: PASSWORD } });
    await new Promise((r) => upstream!.once('message', r));
    perch = spawn('taskset', ['-c', '0', process.execPath, ...startFlags(), ...(process.env.PROBE_FLAGS ?? '').split(' ').filter(Boolean), '--import', PRELOAD, path.join(TREE, 'dist/backend/cli.js'), 'serve'], {
      env: { ...perchBenchEnv({ port: perchPort, dataDir: work, kestraUrl: `http://127.0.0.1:${upPort}`, kestraUser: USER, kestraPassword: PASSWORD, admin: { username: 'bench@perch.test', password: 'benchmark passphrase' }, metricsToken: 'bench-metrics-token-0123456789abcdef0123' }), PROBE_OUT: gcFile },
      stdio: 'inherit',
    });
    const base = `http://127.0.0.1:${perchPort}`;
    await waitFor(`${base}/perch/health`);
    const login = await request(`${base}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench@perch.test', password: 'benchmark passphrase' }) });
    await login.body.dump();
    const cookie = [login.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))!.split(';')[0]!;
    const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const pid = perch.pid!;
    const gcs = async (): Promise<Gc[]> => {
      process.kill(pid, 'SIGWINCH');
      await sleep(300);
      return JSON.parse(await readFile(`${gcFile}.gc.json`, 'utf8')) as Gc[];
    };
    for (const p of [JSON_PATH, MB_PATH]) await wrk(base + p, 4, [`Cookie: ${cookie}`], 3);
    const line = (label: string, r: WrkResult, cpuSeconds: number, majorFaults: number, g: Gc[]) => {
      const scav = g.filter((x) => x[2] === 1).length;
      const major = g.filter((x) => x[2] !== 1).length;
      const gcMs = g.reduce((s, x) => s + x[1], 0);
      console.log(`${label.padEnd(14)} req ${String(r.requests).padStart(6)} ${r.rps.toFixed(0).padStart(6)} req/s p50 ${r.p50.toFixed(0).padStart(5)} p99 ${r.p99.toFixed(0).padStart(6)} µs | CPU ${((cpuSeconds * 1e6) / r.requests).toFixed(0).padStart(5)} µs/req | scavenges/10k ${((scav * 10_000) / r.requests).toFixed(1).padStart(6)} other GC ${major} | GC ${((gcMs * 1000) / r.requests).toFixed(1)} µs/req | major faults ${majorFaults}${r.errors ? ' ERRORS' : ''}`);
    };
    if (process.env.PROBE_PROFILE) {
      // A sampling heap profile of a c=16 JSON run, objects collected by scavenges included.
      process.kill(pid, 'SIGUSR2');
      await sleep(300);
      const r = await wrk(base + (process.env.PROBE_PROFILE === 'mb' ? MB_PATH : JSON_PATH), 16, [`Cookie: ${cookie}`]);
      process.kill(pid, 'SIGUSR2');
      await sleep(1500);
      const profile = JSON.parse(await readFile(`${gcFile}.heapprofile`, 'utf8')) as { head: Node; samples: Array<{ size: number; nodeId: number }> };
      summarize(profile, r.requests);
      return;
    }
    /** Perch left idle for PROBE_IDLE, with PROBE_GC_AT's full GC in it. */
    const idle = async () => {
      if (GC_AT_MS === undefined || GC_AT_MS > IDLE_MS) return sleep(IDLE_MS);
      await sleep(GC_AT_MS);
      process.kill(pid, 'SIGURG');
      await sleep(IDLE_MS - GC_AT_MS);
    };
    const mix = process.env.PROBE_MIX ? await namespaceSessions(base, cookie) : undefined;
    const rounds = Number(process.env.PROBE_ROUNDS ?? 1);
    for (let round = 0; round < rounds; round++) {
      if (mix) {
        for (const other of [mix.scopedCookie, mix.tenantCookie]) await wrk(base + JSON_PATH, 16, [`Cookie: ${other}`]);
        console.log('(the bound person and the tenant ran)');
      }
      if (round > 0 || mix) await idle();
      for (const [label, p, c] of ([['json c=1', JSON_PATH, 1], ['json c=16', JSON_PATH, 16], ['1MB c=1', MB_PATH, 1], ['1MB c=16', MB_PATH, 16]] as const).filter((x) => !process.env.PROBE_ONLY || x[0].startsWith(process.env.PROBE_ONLY))) {
        await gcs();
        const counting = process.env.PROBE_PERF ? perfStat(pid, process.env.PROBE_PERF) : undefined;
        const before = await processCounters(pid);
        const r = await wrk(base + p, c, [`Cookie: ${cookie}`]);
        const after = await processCounters(pid);
        line(label, r, after.cpuSeconds - before.cpuSeconds, after.majorFaults - before.majorFaults, await gcs());
        if (counting) console.log(`  per request: ${(await counting()).map(([event, n]) => `${event} ${(n / r.requests).toFixed(1)}`).join(', ')}`);
      }
      const d = await wrk(`http://127.0.0.1:${upPort}${JSON_PATH}`, 1, [`Authorization: ${basic}`]);
      console.log(`direct json c=1 p50 ${d.p50.toFixed(0)} p99 ${d.p99.toFixed(0)} µs`);
    }
    if (process.env.PROBE_CORRELATE) {
      await idle();
      await correlate(perchPort, cookie, gcs);
    }
  } finally {
    await stop(perch);
    await stop(upstream);
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Counts kernel events in Perch (all its threads) while a run lasts, with `perf stat` (software events and
 * tracepoints, which a VM without hardware counters still counts): e.g. PROBE_PERF=syscalls:sys_enter_write,
 * syscalls:sys_enter_read,context-switches,page-faults. Load-insensitive where CPU time is not.
 */
function perfStat(pid: number, events: string): () => Promise<Array<[string, number]>> {
  const perf = spawn('perf', ['stat', '-x', ',', '-e', events, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  perf.stderr!.on('data', (d: Buffer) => (out += d));
  return async () => {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('close', r));
    return out.split('\n').map((l) => l.split(',')).filter((f) => f.length > 2 && /^\d+$/.test(f[0]!)).map((f) => [f[2]!, Number(f[0])]);
  };
}

/** c=1 JSON requests for SECONDS from this process (core 1): the slowest 1 %, and how many overlapped a GC. */
async function correlate(port: number, cookie: string, gcs: () => Promise<Gc[]>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const one = () => new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: JSON_PATH, agent, headers: { cookie } }, (res) => {
      res.on('data', () => {});
      res.on('end', resolve);
    }).on('error', reject);
  });
  await gcs();
  const reqs: Array<[start: number, us: number]> = [];
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    const start = performance.timeOrigin + performance.now();
    await one();
    reqs.push([start, (performance.timeOrigin + performance.now() - start) * 1000]);
  }
  const g = await gcs();
  const sorted = reqs.map((r) => r[1]).sort((a, b) => a - b);
  const p50 = sorted[Math.floor(sorted.length * 0.5)]!;
  const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
  const overlaps = (r: [number, number]) => g.some(([at, ms]) => at < r[0] + r[1] / 1000 && at + ms > r[0]);
  const slow = reqs.filter((r) => r[1] >= p99);
  const slowGc = slow.filter(overlaps).length;
  const allGc = reqs.filter(overlaps).length;
  console.log(`correlate: ${reqs.length} requests, p50 ${p50.toFixed(0)} p99 ${p99.toFixed(0)} µs; GCs ${g.length} (scavenges ${g.filter((x) => x[2] === 1).length}); slowest 1 %: ${slow.length}, of which ${slowGc} overlapped a GC; all requests overlapping a GC: ${allGc}`);
  const slowNoGc = slow.filter((r) => !overlaps(r)).map((r) => r[1].toFixed(0));
  console.log(`  slow without GC (µs): ${slowNoGc.slice(0, 30).join(' ')}`);
  // Without the requests that overlapped a GC, what would the p99 be?
  const clean = reqs.filter((r) => !overlaps(r)).map((r) => r[1]).sort((a, b) => a - b);
  console.log(`  p99 of requests that met no GC: ${clean[Math.floor(clean.length * 0.99)]!.toFixed(0)} µs`);
  // When in the run the slowest 1 % fell: bunched at its start (after Perch sat idle) or spread over it.
  const first = reqs[0]![0];
  const bySecond = Array.from({ length: SECONDS }, (_, i) => slow.filter((r) => Math.floor((r[0] - first) / 1000) === i).length);
  console.log(`  slowest 1 % by second of the run: ${bySecond.join(', ')}; the first 0.5 s: ${slow.filter((r) => r[0] - first < 500).length}`);
  agent.destroy();
}

interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; id: number; children: Node[] }

/** Bytes allocated per request by function (self), from a sampling heap profile. */
function summarize(profile: { head: Node; samples: Array<{ size: number; nodeId: number }> }, requests: number) {
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (n: Node, stack: string[]) => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
    if (n.selfSize) {
      const key = `${name}  <  ${stack.slice(-3).reverse().join('  <  ')}`;
      bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, [...stack, name]);
  };
  walk(profile.head, []);
  console.log(`sampled ${(total / 1024 / 1024).toFixed(1)} MB over ${requests} requests: ${(total / requests).toFixed(0)} B/request`);
  const groups = new Map<string, number>();
  for (const [k, v] of bySite) {
    const where = k.split('  <  ')[0]!;
    const g = where.includes('dist/backend/') ? 'Perch' : where.includes('undici') ? 'undici' : where.includes('node:') ? 'Node' : 'other';
    groups.set(g, (groups.get(g) ?? 0) + v);
  }
  console.log(`by allocating frame: ${[...groups].map(([g, v]) => `${g} ${(v / requests).toFixed(0)} B`).join(', ')}`);
  for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROBE_TOP ?? 40))) console.log(`${(v / requests).toFixed(0).padStart(6)} B/req  ${k}`);
}

await main();
