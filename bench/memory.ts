/**
 * npm run bench:memory — Perch's memory as users run it, on loopback, bounded.
 *
 * Starts the compiled Perch (`node dist/backend/cli.js serve`, what `npm start` runs once built) in
 * front of the benchmarks' upstream (bench/upstream.mjs), signs in, reports idle RSS with its
 * breakdown (JS heap, external, threads, worker threads), then a short c=16 load through the proxy
 * (wrk, the 1 KB JSON read then the 1 MB download, BENCH_MEMORY_SECONDS each, default 5) and the peak
 * RSS (VmHWM), with the phase that reached it (RSS sampled every 20 ms from start-up on;
 * BENCH_MEMORY_TIMELINE=<file.json> also writes the samples, and the JS heap and external memory every
 * 250 ms). Perch runs alone on core 0, wrk and the upstream on core 1, as in bench:proxy.
 * Prints its figures; `--write` also puts them in docs/benchmarks.md. Perch gets `npm start`'s Node
 * flags and environment (package.json); `--node-flags "<flags>"` replaces the flags (`--node-flags ""`:
 * Node's defaults), `--start-env "NAME=value …"` the environment (`--start-env ""`: none).
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { stop, waitFor } from './child-processes.js';
import { perchBenchEnv, perchServeArgs, startEnv, startFlags } from './perch-command.js';
import { freePort } from '../test/support/postgres.js';
import { formatBreakdown, memoryBreakdown, peakRssMb, processCounters, rssMb, type MemoryBreakdown } from './process-memory.js';
import { machineLine, writeBenchmarkSection } from './report.js';
import { RssTimeline } from './rss-timeline.js';

const run = promisify(execFile);
const { values: opts } = parseArgs({ options: { write: { type: 'boolean', default: false }, 'node-flags': { type: 'string' }, 'start-env': { type: 'string' } } });
/** `npm start`'s Node flags unless --node-flags gives others ('' for none: Node's defaults). */
const flags = startFlags(opts['node-flags']);
/** How long after the load the last figure is read: what an idle Perch gives back on its own. */
const LONG_IDLE_S = 30;
/** `npm start`'s environment (e.g. glibc's malloc settings) unless --start-env gives another. */
const launchEnv = startEnv(opts['start-env']);
const launchEnvText = Object.entries(launchEnv).map(([k, v]) => `${k}=${v} `).join('');
const ROOT = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_MEMORY_SECONDS ?? 5);
const USER = 'bench@kestra.io';
const PASSWORD = 'Bench-password-1';
const ADMIN = { username: 'bench@perch.test', password: 'benchmark passphrase' };
const METRICS_TOKEN = 'bench-metrics-token-0123456789abcdef0123';
const PATHS = {
  'JSON GET (1 KB)': '/api/v1/main/flows/search?filters[namespace][PREFIX]=company&page=1&size=25',
  '1 MB download': '/api/v1/main/namespaces/company.team/files?path=%2Fbig.bin',
};

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'perch-bench-memory-'));
  const [upPort, perchPort] = [await freePort(), await freePort()];
  let upstream: ChildProcess | undefined;
  let perch: ChildProcess | undefined;
  let timeline: RssTimeline | undefined;
  try {
    upstream = fork(path.join(ROOT, 'bench/upstream.mjs'), { env: { ...process.env, BENCH_PORT: String(upPort), BENCH_USER: USER, BENCH_PASSWORD: PASSWORD } });
    await new Promise((resolve) => upstream!.once('message', resolve));
    await run('taskset', ['-cp', '1', String(upstream.pid)]);
    console.log('compiling Perch (npm run build:backend)…');
    await run('npm', ['run', '--silent', 'build:backend'], { cwd: ROOT });
    const started = Date.now();
    perch = spawn('taskset', ['-c', '0', process.execPath, ...perchServeArgs(flags)], {
      env: perchBenchEnv({ port: perchPort, dataDir: work, kestraUrl: `http://127.0.0.1:${upPort}`, kestraUser: USER, kestraPassword: PASSWORD, admin: ADMIN, metricsToken: METRICS_TOKEN, startEnv: launchEnv }),
      stdio: 'inherit',
    });
    // VmRSS every 20 ms, labelled with the phase: which one reaches the peak.
    timeline = new RssTimeline(perch.pid!, 'start-up (migrations, first admin)');
    const base = `http://127.0.0.1:${perchPort}`;
    await waitFor(`${base}/perch/health`);
    timeline.phase = 'sign-in';
    console.log(`Perch (${launchEnvText}node ${perchServeArgs(flags).join(' ')}) serving after ${Date.now() - started} ms`);
    const login = await request(`${base}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
    await login.body.dump();
    const cookie = [login.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))?.split(';')[0];
    if (!cookie) throw new Error(`sign-in failed: ${login.statusCode}`);
    const breakdown = () => memoryBreakdown(perch!.pid!, `${base}/perch/metrics`, METRICS_TOKEN);
    timeline.phase = 'idle';
    // Ad hoc (BENCH_MEMORY_TIMELINE=<file.json>): also Perch's JS heap and external memory every 250 ms.
    const heapSamples: Array<{ ms: number; phase: string } & MemoryBreakdown> = [];
    const heapTimer = process.env.BENCH_MEMORY_TIMELINE
      ? setInterval(() => void breakdown().then((m) => heapSamples.push({ ms: Date.now() - started, phase: timeline!.phase, ...m }), () => {}), 250)
      : undefined;
    // Idle: started, one sign-in, nothing proxied; a few seconds for start-up garbage to be collected.
    await new Promise((r) => setTimeout(r, 3000));
    const idle = await breakdown();
    const idlePeak = await peakRssMb(perch.pid!, false);
    console.log(`idle: ${formatBreakdown(idle)}; peak so far ${idlePeak.toFixed(1)} MB`);

    const after: Array<{ name: string; rps: number; cpuUs: number; faults: number; memory: MemoryBreakdown }> = [];
    for (const [name, p] of Object.entries(PATHS)) {
      timeline.phase = `c=16 ${name}`;
      const cpuBefore = await processCounters(perch.pid!);
      const { stdout } = await run('taskset', ['-c', '1', 'wrk', '-t1', '-c16', `-d${SECONDS}s`, '-H', `Cookie: ${cookie}`, `${base}${p}`], { timeout: (SECONDS + 30) * 1000 });
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
      // Perch's own CPU time per request: less sensitive than req/s to the other work on a shared VM.
      const cpuAfter = await processCounters(perch.pid!);
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
      const cpuUs = (cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) * 1e6 / requests;
      const faults = (cpuAfter.minorFaults - cpuBefore.minorFaults) / requests;
      if (/Non-2xx/.test(stdout)) throw new Error(`${name}: Perch refused requests:\n${stdout}`);
      timeline.phase = `after c=16 ${name}`;
      const memory = await breakdown();
      after.push({ name, rps, cpuUs, faults, memory });
      console.log(`after c=16 ${name} (${rps.toFixed(0)} req/s, Perch CPU ${cpuUs.toFixed(0)} µs and ${faults.toFixed(1)} page faults a request): ${formatBreakdown(memory)}`);
    }
    const peak = await peakRssMb(perch.pid!, false);
    await new Promise((r) => setTimeout(r, 3000));
    const settled = await rssMb(perch.pid!);
    // Left idle after the load: what Perch gives back on its own (V8's memory reducer starts 8 s after activity stops).
    timeline.phase = `${LONG_IDLE_S} s after the load`;
    await new Promise((r) => setTimeout(r, (LONG_IDLE_S - 3) * 1000));
    const longIdle = await breakdown();
    timeline.stop();
    clearInterval(heapTimer);
    const { top, byPhase } = timeline.peaks();
    console.log(`peak RSS (VmHWM) ${peak.toFixed(1)} MB; ${settled.toFixed(1)} MB 3 s after the load; ${LONG_IDLE_S} s after it: ${formatBreakdown(longIdle)}`);
    console.log(`RSS sampled every 20 ms, highest ${top?.rssMb.toFixed(1)} MB during ${top?.phase}; each phase's highest: ${byPhase.map((s) => `${s.phase} ${s.rssMb.toFixed(1)} MB`).join(', ')}`);
    if (process.env.BENCH_MEMORY_TIMELINE) await writeFile(process.env.BENCH_MEMORY_TIMELINE, JSON.stringify({ rss: timeline.samples, heap: heapSamples }));

    if (opts.write) {
      const lines = [
        '## Memory (`npm run bench:memory`)',
        '',
        `Run on ${new Date().toISOString().slice(0, 10)}, ${await machineLine()}, Node ${process.versions.node}, load average ${loadavg()[0]!.toFixed(2)} at the end. The built Perch (\`${launchEnvText}node ${flags.join(' ')}${flags.length ? ' ' : ''}dist/backend/cli.js serve\`, what \`npm start\` runs once built) on SQLite, alone on core 0; wrk (1 thread, 16 connections, ${SECONDS} s per payload) and the upstream on core 1. Idle: started, one sign-in, nothing proxied, 3 s later. The breakdown is Perch's own /perch/metrics; RSS and its peak (VmHWM) are from /proc.`,
        '',
        `- Idle: ${formatBreakdown(idle)} (target ≤ 90 MB: ${idle.rssMb <= 90 ? 'met' : 'missed'}).`,
        ...after.map((a) => `- Right after c=16 ${a.name} (${a.rps.toFixed(0)} req/s, Perch's CPU ${a.cpuUs.toFixed(0)} µs and ${a.faults.toFixed(1)} minor page faults a request): ${formatBreakdown(a.memory)}.`),
        `- Peak RSS (VmHWM) over the run: ${peak.toFixed(1)} MB (target ≤ 140 MB: ${peak <= 140 ? 'met' : 'missed'}); ${settled.toFixed(1)} MB 3 s after the load.`,
        `- Left idle ${LONG_IDLE_S} s after the load: ${formatBreakdown(longIdle)}.`,
        `- When (RSS sampled every 20 ms): highest ${top?.rssMb.toFixed(1)} MB during ${top?.phase}; each phase's highest: ${byPhase.map((s) => `${s.phase} ${s.rssMb.toFixed(1)} MB`).join(', ')}.`,
      ];
      await writeBenchmarkSection('memory', lines.join('\n'));
    }
  } finally {
    timeline?.stop();
    await stop(perch);
    await stop(upstream);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
