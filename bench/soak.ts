/**
 * npm run bench:soak — Perch under a steady mixed load, on loopback, bounded.
 *
 * A fixed rate (default 1,000 req/s, open loop: requests leave on schedule whatever the answers) of
 * reads, narrowed lists (a namespace-bound viewer), KV writes (each audited), SSE streams opened and
 * closed (following a paused execution, closed by the client after 200 ms), and sign-ins, through a compiled Perch (its own process) to the Kestra API double
 * (test/kestra-double, in this process); on SQLite, then on a throwaway PostgreSQL (test/support/postgres).
 * Prints the errors Perch made (must be 0), p99 per 10 s window (first against last), RSS slope after
 * warm-up and open handles first against last.
 *
 * --crash: halfway through each run, put the instance in maintenance and hold a few execution
 * requests, `kill -9` Perch, start it again and time start → serving; then show every acknowledged
 * write has its audit entry, the chain verifies (`perch audit verify`), the held requests are still
 * held and the sessions signed in before the crash still work.
 *
 * Before the timed window the generator and the double (this process, a cold Node too) are warmed against
 * the double directly and the load's keep-alive connections to Perch are opened; Perch itself gets no load
 * before it. The first 10 s are also printed second by second, by kind, with this process's own event-loop
 * delay and CPU: what was slow there, Perch or its client (docs/benchmarks.md, Soak); with Perch's CPU per
 * answered request (cold against warm: a figure the machine's load moves less than p99) and its audit
 * commits and Kestra answer times from its metrics.
 *
 * Options: --seconds 60 --rate 1000 --db sqlite,postgres --crash; BENCH_SOAK_SECONDS and BENCH_SOAK_RATE set
 * the defaults (e.g. BENCH_SOAK_SECONDS=15 for a short run). --node-flags "<flags>" replaces `npm start`'s
 * Node flags for Perch (e.g. adding --trace-gc or --cpu-prof); --perch-output <file> keeps Perch's
 * stdout and stderr there; --no-build runs dist/ as it is (repeated runs of an unchanged tree).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Agent, request } from 'undici';
import { startKestraDouble, type KestraDouble } from '../test/kestra-double/kestra-double.js';
import { freePort, startTestPostgres } from '../test/support/postgres.js';
import { perchServeArgs, startEnv, startFlags } from './perch-command.js';
import { metricValue, rssMb } from './process-memory.js';
import { floorsAfterCollections, Pacer, percentile, slope, unaudited, weightedCycle } from './soak-stats.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  allowNegative: true,
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SOAK_SECONDS ?? '60' },
    rate: { type: 'string', default: process.env.BENCH_SOAK_RATE ?? '1000' },
    db: { type: 'string', default: 'sqlite,postgres' },
    crash: { type: 'boolean', default: false },
    'node-flags': { type: 'string' },
    'perch-output': { type: 'string' },
    build: { type: 'boolean', default: true },
  },
});
const SECONDS = Number(opts.seconds);
/** `npm start`'s Node flags unless --node-flags gives others (e.g. with --trace-gc; '' for Node's defaults). */
const NODE_FLAGS = startFlags(opts['node-flags']);
const RATE = Number(opts.rate);
/** p99 is compared window by window: 10 s ones, or thirds of a shorter run. */
const WINDOW_MS = Math.min(10_000, (SECONDS * 1000) / 3);
const TICK_MS = 10;
/** Open loop, but bounded: past this many requests in flight the generator skips (and says so) rather than pile up. */
const MAX_IN_FLIGHT = 4000;
/** Keep-alive connections the load opens to Perch before its timed window (about what 1,000 req/s holds open). */
const PREOPENED = 256;
const ADMIN = { username: 'soak@perch.test', password: 'soak benchmark passphrase' };
const VIEWER = { email: 'viewer@perch.test', password: 'a viewer soak passphrase' };
const METRICS_TOKEN = 'soak-metrics-token-0123456789abcdef0123456789';
const NS = 'company.team';
const HELD = 3;

/**
 * Per 2,500 requests. One sign-in in 2,500 keeps 1,000 req/s at 24 sign-ins a minute, under the per-address
 * sign-in brake (`auth.login.perIpPerMinute`, 30): every request comes from one loopback address.
 */
const MIX = weightedCycle({ read: 1250, narrow: 500, write: 500, sse: 249, signIn: 1 });
type Kind = (typeof MIX)[number];

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; text: string }

/** Set-up, metrics and checks; the load has its own agent, closed after it so its sockets leave Perch's handle count. */
const agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });
const newLoadAgent = () => new Agent({ connections: 512, keepAliveTimeout: 10_000, headersTimeout: 30_000, bodyTimeout: 30_000 });

async function call(base: string, method: string, pathAndQuery: string, init: { cookie?: string; json?: unknown; body?: string; type?: string; dispatcher?: Agent } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  if (method !== 'GET') headers.origin = base;
  let body = init.body;
  if (init.json !== undefined) { body = JSON.stringify(init.json); headers['content-type'] = 'application/json'; }
  if (init.type) headers['content-type'] = init.type;
  const res = await request(`${base}${pathAndQuery}`, { method: method as 'GET', headers, body, dispatcher: init.dispatcher ?? agent });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const cookieOf = (a: Answer) => [a.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))?.split(';')[0];

async function waitServing(base: string, deadline = 60_000): Promise<void> {
  const until = Date.now() + deadline;
  for (;;) {
    try {
      const res = await request(`${base}/perch/health`, { dispatcher: agent });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error(`${base} did not start serving`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface PerchProcess { child: ChildProcess; base: string; env: NodeJS.ProcessEnv }

/** --perch-output <file>: Perch's stdout and stderr appended there (e.g. its --trace-gc lines) instead of dropped / shown. */
const perchOutput = opts['perch-output'] ? openSync(opts['perch-output'], 'a') : undefined;

function spawnPerch(env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, perchServeArgs(NODE_FLAGS), { env: { ...startEnv(), ...env }, stdio: ['ignore', perchOutput ?? 'ignore', perchOutput ?? 'inherit'] });
}

/** A process's CPU time so far (user + system, all its threads), in seconds, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The old generation's used size (MB), and the audit's group commits and Kestra's answers so far (counts, seconds), from Perch's metrics. */
async function metricsSample(base: string): Promise<{ oldMb: number; commits: number; commitSeconds: number; kestra: number; kestraSeconds: number }> {
  const res = await request(`${base}/perch/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, dispatcher: agent });
  const text = await res.body.text();
  return {
    oldMb: Number(/^nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)/m.exec(text)?.[1]) / (1024 * 1024),
    commits: metricValue(text, 'perch_audit_commit_seconds_count'),
    commitSeconds: metricValue(text, 'perch_audit_commit_seconds_sum'),
    kestra: metricValue(text, 'perch_kestra_response_seconds_count'),
    kestraSeconds: metricValue(text, 'perch_kestra_response_seconds_sum'),
  };
}

async function handles(base: string): Promise<number> {
  const res = await request(`${base}/perch/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, dispatcher: agent });
  return metricValue(await res.body.text(), 'nodejs_active_handles_total');
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

async function soak(db: 'sqlite' | 'postgres'): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const say = (line: string) => { console.log(line); lines.push(line); };
  const work = await mkdtemp(path.join(tmpdir(), `perch-soak-${db}-`));
  const postgres = db === 'postgres' ? await startTestPostgres() : undefined;
  let kestra: KestraDouble | undefined;
  let perch: PerchProcess | undefined;
  try {
    // Not recording: 60,000 requests with their bodies would grow this process (the load generator's) for nothing.
    kestra = await startKestraDouble({ record: false });
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PERCH_PORT: String(port),
      PERCH_DATA_DIR: work,
      PERCH_LOG_LEVEL: 'warn',
      PERCH_KESTRA_URL: kestra.url,
      PERCH_KESTRA_USERNAME: kestra.username,
      PERCH_KESTRA_PASSWORD: kestra.password,
      PERCH_ADMIN_EMAIL: ADMIN.username,
      PERCH_ADMIN_PASSWORD: ADMIN.password,
      PERCH_METRICS_TOKEN: METRICS_TOKEN,
      PERCH_MAINTENANCE_ON_EXECUTION: 'hold',
      ...(postgres ? { PERCH_DATABASE_URL: postgres.url } : {}),
    };
    const base = `http://127.0.0.1:${port}`;
    perch = { child: spawnPerch(env), base, env };
    await waitServing(base);

    // Set-up: the owner, a viewer bound to one namespace (whose lists Perch narrows), a flow, an execution to follow.
    const admin = cookieOf(await call(base, 'POST', '/perch/api/login', { json: ADMIN }))!;
    const viewerUser = await call(base, 'POST', '/api/v1/users', { cookie: admin, json: VIEWER });
    const bound = await call(base, 'POST', '/api/v1/main/bindings', { cookie: admin, json: { type: 'USER', externalId: JSON.parse(viewerUser.text).id, roleId: 'viewer', namespaceId: NS } });
    if (bound.status !== 200) throw new Error(`binding the viewer failed: ${bound.status} ${bound.text}`);
    const viewer = cookieOf(await call(base, 'POST', '/perch/api/login', { json: { username: VIEWER.email, password: VIEWER.password } }))!;
    const flow = await call(base, 'POST', '/api/v1/main/flows', { cookie: admin, type: 'application/x-yaml', body: `id: hello\nnamespace: ${NS}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n` });
    if (flow.status !== 200) throw new Error(`creating the flow failed: ${flow.status} ${flow.text}`);
    // A paused execution: following it keeps the stream open until the client closes it.
    const waits = await call(base, 'POST', '/api/v1/main/flows', { cookie: admin, type: 'application/x-yaml', body: `id: waits\nnamespace: ${NS}\ntasks:\n  - id: pause\n    type: io.kestra.plugin.core.flow.Pause\n` });
    if (waits.status !== 200) throw new Error(`creating the paused flow failed: ${waits.status} ${waits.text}`);
    const started = await call(base, 'POST', `/api/v1/main/executions/${NS}/waits`, { cookie: admin });
    if (started.status !== 200) throw new Error(`starting an execution failed: ${started.status} ${started.text}`);
    const executionId = JSON.parse(started.text).id as string;

    // The generator and the double (this process) are a cold Node too: warm them against the double directly, never through Perch.
    const generatorWarmUp = await warmGeneratorAndDouble(kestra, executionId);

    // The load.
    const handlesBefore = await handles(base);
    const loadAgent = newLoadAgent();
    // The load's keep-alive connections, opened before the timed window (its liveness answer, public and
    // side-effect free): a client opening hundreds of sockets in its first second is not what is measured.
    await Promise.all(Array.from({ length: PREOPENED }, () => call(base, 'GET', '/perch/health/live', { dispatcher: loadAgent })));
    const expected: Record<Kind, number[]> = { read: [200], narrow: [200], write: [200, 204], sse: [200], signIn: [204] };
    const windows = Math.ceil((SECONDS * 1000) / WINDOW_MS);
    const latencies: number[][] = Array.from({ length: windows }, () => []);
    const byKind = Object.fromEntries(Object.keys(expected).map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    // The first seconds in detail: p99 per second, and by kind, against the generator's own event-loop delay.
    const firstSeconds = Math.min(10, SECONDS);
    const perSecond: number[][] = Array.from({ length: firstSeconds }, () => []);
    const firstByKind = Object.fromEntries(Object.keys(expected).map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const generatorDelay: Array<{ p99: number; max: number; cpu: number }> = [];
    /** Perch's CPU (s, all its threads) per second of the first seconds, and the requests answered in each: its cold surcharge per request. */
    const perchCpu: Array<{ cpu: number; answered: number }> = [];
    const perchErrors = new Map<string, number>();
    const cutByCrash = { count: 0 };
    const acknowledged: string[] = [];
    let sent = 0, finished = 0, skipped = 0, inFlight = 0, writeSeq = 0;
    let down = false;
    const t0 = performance.now();
    const fire = async (kind: Kind): Promise<void> => {
      const began = performance.now();
      const window = Math.min(windows - 1, Math.floor((began - t0) / WINDOW_MS));
      const wasDown = down;
      try {
        let status: number;
        let requestId: string | undefined;
        let answered = began;
        if (kind === 'sse') {
          // Open the stream (timed to its head), take what comes in 200 ms, close it.
          const ac = new AbortController();
          const res = await request(`${base}/api/v1/main/executions/${executionId}/follow`, { headers: { cookie: admin, accept: 'text/event-stream' }, signal: ac.signal, dispatcher: loadAgent });
          answered = performance.now();
          status = res.statusCode;
          const timer = setTimeout(() => ac.abort(), 200);
          try { for await (const _ of res.body) { /* drain */ } } catch { /* aborted by us */ } finally { clearTimeout(timer); }
        } else {
          const dispatcher = loadAgent;
          const a = kind === 'read' ? await call(base, 'GET', `/api/v1/main/flows/${NS}/hello`, { cookie: admin, dispatcher })
            : kind === 'narrow' ? await call(base, 'GET', '/api/v1/main/flows/search?page=1&size=25', { cookie: viewer, dispatcher })
            : kind === 'write' ? await call(base, 'PUT', `/api/v1/main/namespaces/${NS}/kv/soak-${++writeSeq}`, { cookie: admin, json: `value ${writeSeq}`, dispatcher })
            : await call(base, 'POST', '/perch/api/login', { json: { username: VIEWER.email, password: VIEWER.password }, dispatcher });
          answered = performance.now();
          status = a.status;
          requestId = a.headers['x-request-id'] as string | undefined;
        }
        if (!expected[kind].includes(status)) perchErrors.set(`${kind} ${status}`, (perchErrors.get(`${kind} ${status}`) ?? 0) + 1);
        else {
          latencies[window]!.push(answered - began);
          byKind[kind].push(answered - began);
          const second = Math.floor((began - t0) / 1000);
          if (second < firstSeconds) { perSecond[second]!.push(answered - began); firstByKind[kind].push(answered - began); }
          if (kind === 'write') {
            if (!requestId) perchErrors.set('write without x-request-id', (perchErrors.get('write without x-request-id') ?? 0) + 1);
            else acknowledged.push(requestId);
          }
        }
      } catch (error) {
        // Refused or cut while Perch was down (the crash phase) is the crash's doing, not an error Perch made.
        if (wasDown || down) cutByCrash.count++;
        else perchErrors.set(`${kind} ${(error as Error).message}`, (perchErrors.get(`${kind} ${(error as Error).message}`) ?? 0) + 1);
      }
    };
    /** [seconds since the start, MB], from the process serving at the time. */
    const rss: Array<[number, number]> = [];
    /** [seconds since the start, MB]: the old generation's used size, from the process serving at the time. */
    const oldSpace: Array<[number, number]> = [];
    /** Perch's own counters in the first seconds: group commits (how many, how long each) and Kestra's answers to it. */
    const perchSamples: Array<{ t: number; commits: number; commitSeconds: number; kestra: number; kestraSeconds: number }> = [];
    let restartedAtS = 0;
    const handleCounts: number[] = [];
    const pacer = new Pacer(RATE);
    let crashReport: string[] | undefined;
    const crashAt = opts.crash ? (SECONDS * 1000) / 2 : Infinity;
    let crashing: Promise<void> | undefined;
    // Perch's counters as the load starts (the sampler below takes one a second).
    void metricsSample(base).then((m) => perchSamples.push({ t: (performance.now() - t0) / 1000, ...m }), () => {});
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    let cpuBefore = process.cpuUsage();
    const perchPid = perch.child.pid!;
    const perchCpuAtStart = cpuSeconds(perchPid);
    let perchCpuBefore = perchCpuAtStart, answeredBefore = 0;
    const delaySampler = setInterval(() => {
      const cpu = process.cpuUsage(cpuBefore);
      cpuBefore = process.cpuUsage();
      if (!down && perch!.child.pid === perchPid) {
        const now = cpuSeconds(perchPid);
        perchCpu.push({ cpu: now - perchCpuBefore, answered: finished - answeredBefore });
        perchCpuBefore = now; answeredBefore = finished;
      }
      generatorDelay.push({ p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6, cpu: (cpu.user + cpu.system) / 1e6 });
      loopDelay.reset();
      if (generatorDelay.length >= firstSeconds) { clearInterval(delaySampler); loopDelay.disable(); }
    }, 1000);
    await new Promise<void>((resolve) => {
      let nextWindow = 0;
      const tick = setInterval(() => {
        const elapsed = performance.now() - t0;
        if (elapsed >= SECONDS * 1000) { clearInterval(tick); resolve(); return; }
        if (elapsed >= crashAt && !crashing) crashing = crash().then((r) => { crashReport = r; }, (error: Error) => { crashReport = [`crash: FAILED (${error.message})`]; down = false; });
        for (let n = pacer.due(elapsed); n > 0; n--) {
          if (inFlight >= MAX_IN_FLIGHT) { skipped++; continue; }
          const kind = MIX[sent++ % MIX.length]!;
          inFlight++;
          void fire(kind).finally(() => { inFlight--; finished++; });
        }
        if (elapsed >= nextWindow * WINDOW_MS && !down) {
          // One sample at the start of every window after the first: the handles held under load.
          if (nextWindow++ === 0) return;
          void handles(base).then((h) => handleCounts.push(h), () => {});
        }
      }, TICK_MS);
      const sampler = setInterval(() => {
        if (performance.now() - t0 >= SECONDS * 1000) { clearInterval(sampler); return; }
        // A process killed but not yet reaped has no VmRSS (NaN): such a sample is skipped.
        if (!down) void rssMb(perch!.child.pid!).then((mb) => Number.isFinite(mb) && rss.push([(performance.now() - t0) / 1000, mb]), () => {});
        if (!down) void metricsSample(base).then((m) => {
          const t = (performance.now() - t0) / 1000;
          oldSpace.push([t, m.oldMb]);
          if (t <= firstSeconds + 1) perchSamples.push({ t, ...m });
        }, () => {});
      }, 1000);
    });

    /** Maintenance with held requests, kill -9, restart, and what must have survived. */
    async function crash(): Promise<string[]> {
      const out: string[] = [];
      const entered = await call(base, 'POST', '/api/v1/instance/maintenance/enter', { cookie: admin, json: {} });
      if (entered.status !== 200) throw new Error(`entering maintenance failed: ${entered.status} ${entered.text}`);
      for (let i = 0; i < HELD; i++) {
        const held = await call(base, 'POST', `/api/v1/main/executions/${NS}/hello`, { cookie: admin });
        if (held.status !== 202) throw new Error(`a held execution request answered ${held.status} ${held.text}`);
      }
      down = true;
      perch!.child.kill('SIGKILL');
      await new Promise((r) => perch!.child.once('exit', r));
      const restartedAt = performance.now();
      perch = { ...perch!, child: spawnPerch(env) };
      await waitServing(base);
      const toServing = performance.now() - restartedAt;
      restartedAtS = (performance.now() - t0) / 1000;
      down = false;
      out.push(`crash: kill -9 at ${(crashAt / 1000).toFixed(0)} s; restarted, serving after ${toServing.toFixed(0)} ms (process start → /perch/health 200)`);
      const status = JSON.parse((await call(base, 'GET', '/api/v1/instance/maintenance/status', { cookie: admin })).text) as { held?: number };
      out.push(`crash: held execution requests after restart: ${status.held} of ${HELD} (${status.held === HELD ? 'still held' : 'LOST'})`);
      const me = await Promise.all([admin, viewer].map((c) => call(base, 'GET', '/api/v1/me', { cookie: c })));
      out.push(`crash: sessions from before the crash: owner ${me[0]!.status}, viewer ${me[1]!.status} (${me.every((m) => m.status === 200) ? 'still valid' : 'LOST'})`);
      const exited = await call(base, 'POST', '/api/v1/instance/maintenance/exit', { cookie: admin, json: {} });
      out.push(`crash: maintenance exited (${exited.status}); the held requests replayed to Kestra`);
      return out;
    }

    // Perch's CPU per request after its first seconds (the same process only: not across a crash).
    const perchCpuLater = perch.child.pid === perchPid && SECONDS > firstSeconds ? { cpu: cpuSeconds(perchPid) - perchCpuBefore, answered: finished - answeredBefore } : undefined;
    await crashing;
    const lastHandles = await handles(base).catch(() => NaN);
    // Drained: the streams and calls still out finish, the load's sockets close; what Perch still holds then is what it kept.
    for (const until = Date.now() + 40_000; inFlight > 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
    await loadAgent.close();
    await new Promise((r) => setTimeout(r, 1000));
    const handlesAfter = await handles(base).catch(() => NaN);
    await stop(perch.child);

    // Every acknowledged write has its audit entry, and the chains verify.
    const ids = await auditRequestIds(db, work, postgres?.url);
    const missing = unaudited(acknowledged, ids);
    const verify = await run(process.execPath, [path.join(ROOT, 'dist/backend/cli.js'), 'audit', 'verify'], { env }).then((r) => ({ ok: true, text: r.stdout.trim() }), (e) => ({ ok: false, text: String(e.stdout || e.message).trim() }));

    const errors = [...perchErrors.values()].reduce((a, b) => a + b, 0);
    const p99s = latencies.map((w) => percentile(w, 99));
    // After a crash, the slope is the restarted process's own, after its own warm-up.
    const warmUp = Math.min(20, SECONDS / 3);
    const slopeFrom = restartedAtS ? restartedAtS + Math.min(warmUp, (SECONDS - restartedAtS) / 3) : warmUp;
    const rssSlope = slope(rss.filter(([t]) => t >= slopeFrom)) * 60;
    say(`${db}: ${sent} requests at ${RATE}/s for ${SECONDS} s (${skipped} skipped by the generator's in-flight bound), load average ${loadavg()[0]!.toFixed(2)} at the end`);
    say(`${db}: errors made by Perch: ${errors}${errors ? ` (${[...perchErrors].map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}${opts.crash ? `; ${cutByCrash.count} requests refused or cut while Perch was down (the crash)` : ''}`);
    say(`${db}: p99 per ${(WINDOW_MS / 1000).toFixed(1)} s window (ms): ${p99s.map((p) => p.toFixed(1)).join(', ')}; first ${p99s[0]!.toFixed(1)} vs last ${p99s.at(-1)!.toFixed(1)}`);
    say(`${db}: first ${firstSeconds} s, p99 per second (ms): ${perSecond.map((l) => percentile(l, 99).toFixed(1)).join(', ')}; by kind, p50 / p99 (ms): ${Object.entries(firstByKind).map(([k, l]) => `${k} ${percentile(l, 50).toFixed(1)} / ${percentile(l, 99).toFixed(1)}`).join(', ')}`);
    say(`${db}: first ${firstSeconds} s, the generator's own event-loop delay per second, p99 / max (ms) and CPU (s per s): ${generatorDelay.map((d) => `${d.p99.toFixed(0)} / ${d.max.toFixed(0)} ${d.cpu.toFixed(2)}`).join(', ')} (this process also runs the Kestra double: its delay is latency Perch did not add)`);
    const usPerRequest = (l: Array<{ cpu: number; answered: number }>) => (l.reduce((a, b) => a + b.cpu, 0) * 1e6) / Math.max(1, l.reduce((a, b) => a + b.answered, 0));
    say(`${db}: first ${perchCpu.length} s, Perch's CPU (s per s, all its threads) / requests answered: ${perchCpu.map((c) => `${c.cpu.toFixed(2)} / ${c.answered}`).join(', ')}; CPU per answered request (µs): first 3 s ${usPerRequest(perchCpu.slice(0, 3)).toFixed(0)}, seconds 4–${perchCpu.length} ${usPerRequest(perchCpu.slice(3)).toFixed(0)}${perchCpuLater ? `, after ${firstSeconds} s ${usPerRequest([perchCpuLater]).toFixed(0)}; the first ${perchCpu.length} s took ${(perchCpu.reduce((a, c) => a + c.cpu - (c.answered * usPerRequest([perchCpuLater])) / 1e6, 0) * 1000).toFixed(0)} ms of CPU more than at that warm cost` : ''}`);
    perchSamples.sort((a, b) => a.t - b.t);
    const between = perchSamples.slice(1).map((m, i) => {
      const p = perchSamples[i]!;
      const commits = m.commits - p.commits, kestra = m.kestra - p.kestra;
      return `${m.t.toFixed(1)} s: ${commits} commits ${commits ? ((1000 * (m.commitSeconds - p.commitSeconds)) / commits).toFixed(1) : '-'} ms, Kestra ${kestra ? ((1000 * (m.kestraSeconds - p.kestraSeconds)) / kestra).toFixed(1) : '-'} ms`;
    });
    say(`${db}: first ${firstSeconds} s, Perch's own metrics between samples (read when answered): audit group commits and their mean time (off the queue → committed), Kestra's mean answer time: ${between.join('; ')}`);
    say(`${db}: before the load, the generator and the Kestra double were warmed on their own (${generatorWarmUp}, straight to the double, none through Perch)`);
    say(`${db}: by kind, p50 / p99 (ms): ${Object.entries(byKind).map(([k, l]) => `${k} ${percentile(l, 50).toFixed(1)} / ${percentile(l, 99).toFixed(1)}`).join(', ')} (SSE: to the stream's head; each is then held 200 ms and closed by the client)`);
    say(`${db}: RSS ${rss[0]?.[1].toFixed(0)} → ${rss.at(-1)?.[1].toFixed(0)} MB (peak ${Math.max(...rss.map(([, mb]) => mb)).toFixed(0)}); slope from ${slopeFrom.toFixed(0)} s${restartedAtS ? ' (the restarted process, after its warm-up)' : ' (after warm-up)'}: ${rssSlope.toFixed(2)} MB/min`);
    // What was alive after each full collection: a leak shows as these floors rising, whatever the saw-tooth does to RSS.
    const floors = floorsAfterCollections(oldSpace.filter(([t]) => t >= (restartedAtS ? slopeFrom : 0)));
    const floorSlope = slope(floors.filter(([t]) => t >= slopeFrom)) * 60;
    say(`${db}: old generation after each full collection (s: MB): ${floors.map(([t, mb]) => `${t.toFixed(0)}: ${mb.toFixed(1)}`).join(', ') || 'none seen'}; slope from ${slopeFrom.toFixed(0)} s: ${Number.isNaN(floorSlope) ? 'n/a (fewer than two)' : `${floorSlope.toFixed(2)} MB/min`} (between collections it climbs with promoted garbage: the saw-tooth RSS follows)`);
    say(`${db}: open handles (nodejs_active_handles_total): ${handlesBefore} before the load, ${handleCounts.join(', ')} under it (one per window), ${lastHandles} at its end, ${handlesAfter} once drained and the load's sockets closed`);
    for (const line of crashReport ?? []) say(`${db}: ${line}`);
    say(`${db}: acknowledged writes: ${acknowledged.length}, without an audit entry: ${missing}; audit verify: ${verify.ok ? 'ok' : 'FAILED'} (${verify.text.split('\n').at(-1)})`);
    const crashOk = !crashReport || crashReport.every((l) => !/LOST|FAILED/.test(l));
    return { ok: errors === 0 && missing === 0 && verify.ok && crashOk, lines };
  } finally {
    if (perch) await stop(perch.child);
    await kestra?.close();
    await postgres?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The same calls as the load (reads, searches, KV writes, streams), for WARM_UP_MS at half the rate, sent
 * by this process straight to the Kestra double: its handlers, its contract checks and this process's
 * HTTP client are compiled before the timed window, and Perch is left as cold as it started.
 */
const WARM_UP_MS = 3000;
async function warmGeneratorAndDouble(kestra: KestraDouble, executionId: string): Promise<string> {
  const direct = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
  const auth = { authorization: kestra.authorization };
  const calls = [
    () => request(`${kestra.url}/api/v1/main/flows/${NS}/hello`, { headers: auth, dispatcher: direct }).then((r) => r.body.dump()),
    () => request(`${kestra.url}/api/v1/main/flows/search?page=1&size=25&namespace=${NS}`, { headers: auth, dispatcher: direct }).then((r) => r.body.dump()),
    (n: number) => request(`${kestra.url}/api/v1/main/namespaces/${NS}/kv/warm-${n % 100}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(`warm ${n}`), dispatcher: direct }).then((r) => r.body.dump()),
    async () => {
      const ac = new AbortController();
      const res = await request(`${kestra.url}/api/v1/main/executions/${executionId}/follow`, { headers: { ...auth, accept: 'text/event-stream' }, signal: ac.signal, dispatcher: direct });
      setTimeout(() => ac.abort(), 50);
      try { for await (const _ of res.body) { /* drain */ } } catch { /* aborted by us */ }
    },
  ];
  const pacer = new Pacer(RATE / 2);
  const t0 = performance.now();
  let sent = 0;
  const out: Promise<unknown>[] = [];
  while (performance.now() - t0 < WARM_UP_MS) {
    for (let n = pacer.due(performance.now() - t0); n > 0; n--, sent++) out.push(calls[sent % calls.length]!(sent).catch(() => {}));
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(out);
  await direct.close();
  return `${sent} calls in ${(WARM_UP_MS / 1000).toFixed(0)} s`;
}

/** Request ids of every audit entry, read straight from the store once Perch stopped. */
async function auditRequestIds(db: 'sqlite' | 'postgres', dataDir: string, url?: string): Promise<Set<string>> {
  if (db === 'postgres') {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ request_id: string | null }>('select request_id from audit_log');
      return new Set(rows.map((r) => r.request_id!).filter(Boolean));
    } finally { await client.end(); }
  }
  const file = (await import('node:fs')).readdirSync(dataDir).find((f) => f.endsWith('.db') || f.endsWith('.sqlite'));
  const sqlite = new Database(path.join(dataDir, file!), { readonly: true });
  try {
    return new Set((sqlite.prepare('select request_id from audit_log').all() as { request_id: string | null }[]).map((r) => r.request_id!).filter(Boolean));
  } finally { sqlite.close(); }
}

console.log(`bench:soak: ${SECONDS} s at ${RATE} req/s per database (${opts.db})${opts.crash ? ', with a crash halfway' : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
if (opts.build) {
  console.log('compiling Perch (npm run build:backend)…');
  await run('npm', ['run', '--silent', 'build:backend'], { cwd: ROOT });
}
let allOk = true;
for (const db of opts.db.split(',') as Array<'sqlite' | 'postgres'>) {
  const { ok } = await soak(db);
  allOk &&= ok;
}
await agent.close();
console.log(allOk ? 'bench:soak: all checks held' : 'bench:soak: SOME CHECKS FAILED');
process.exitCode = allOk ? 0 : 1;
