/**
 * npm run bench:proxy — the same small JSON GET and 1 MB download, direct to an upstream, through
 * nginx and through Perch with a signed-in session, in one run on loopback. Bounded: every wrk run
 * lasts BENCH_SECONDS (default 4) seconds; BENCH_ROUNDS (default 3) interleaved rounds, medians reported;
 * BENCH_EXTRA_NODE_FLAGS: Node flags added to `npm start`'s for Perch (to compare one; such a run is printed, not written).
 * Writes the table to docs/benchmarks.md.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { prepareOauth2Proxy, oauth2ProxyArgs, OAUTH2_PROXY_VERSION } from './oauth2-proxy.js';
import { stop, waitFor } from './child-processes.js';
import { perchBenchEnv, perchServeArgs, startFlags } from './perch-command.js';
import { namespaceSessions } from './perch-sessions.js';
import { memoryBreakdown, type MemoryBreakdown, peakRssMb, rssMb, threadCount, formatBreakdown } from './process-memory.js';
import { machineLine, median, writeBenchmarkSection } from './report.js';
import { freePort } from '../test/support/postgres.js';
import { wrk as runWrk, type WrkResult } from './wrk.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/** Interleaved rounds per payload (direct, nginx, Perch, direct, …); the table shows each figure's median. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** Node flags added to `npm start`'s for Perch, to compare one (e.g. `--no-memory-reducer`). */
const EXTRA_NODE_FLAGS = (process.env.BENCH_EXTRA_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const USER = 'bench@kestra.io';
const PASSWORD = 'Bench-password-1';
/** oauth2-proxy's own sign-in password (its htpasswd file); Kestra's stays PASSWORD, passed on as Basic. */
const PEER_PASSWORD = 'Peer-sign-in-1';
const METRICS_TOKEN = 'bench-metrics-token-0123456789abcdef0123';

/** Proxies get core 0 to themselves; the load generator and the upstream share core 1 (as in anchors.md §3.2). */
const PROXY_CORE = ['taskset', '-c', '0'];
/** wrk runs on core 1 (bench/wrk.ts). */
const wrk = (url: string, connections: number, headers: string[]) => runWrk(url, connections, headers, SECONDS);

/**
 * Before measuring: every path answers each payload with a 200 (wrk counts a 3xx, such as a sign-in
 * redirect, as a success), and the download with the upstream's very bytes, so each row moves the same data.
 */
async function sameAnswers(targets: Array<{ name: string; base: string; headers: string[] }>, payloads: Array<{ name: string; path: string }>): Promise<void> {
  for (const payload of payloads) {
    let expected: Buffer | undefined;
    for (const target of targets) {
      const headers = Object.fromEntries(target.headers.map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()]));
      const res = await request(target.base + payload.path, { headers });
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200) throw new Error(`${target.name}, ${payload.name}: status ${res.statusCode}, not 200`);
      // The first target is the upstream itself; lists narrowed for a bound person may differ, downloads may not.
      expected ??= body;
      if (payload.name === '1 MB download' && !body.equals(expected)) throw new Error(`${target.name}, ${payload.name}: ${body.length} bytes, not the upstream's ${expected.length}`);
    }
  }
}

async function main(): Promise<void> {
  for (const tool of ['wrk', 'nginx', 'taskset']) {
    await run('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]).catch(() => {
      throw new Error(`${tool} is required: apt-get install -y ${tool === 'nginx' ? 'nginx-light' : tool === 'taskset' ? 'util-linux' : 'wrk'}`);
    });
  }
  const loadAtStart = loadavg()[0]!;
  const work = await mkdtemp(path.join(tmpdir(), 'perch-bench-'));
  const [upPort, nginxPort, perchPort, floorPort, peerPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  let upstream: ChildProcess | undefined;
  let nginx: ChildProcess | undefined;
  let peer: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  let perch: ChildProcess | undefined;
  try {
    console.log('starting upstream, nginx and Perch on loopback…');
    upstream = fork(path.join(ROOT, 'bench/upstream.mjs'), { execPath: 'taskset', execArgv: ['-c', '1', process.execPath], env: { ...process.env, BENCH_PORT: String(upPort), BENCH_USER: USER, BENCH_PASSWORD: PASSWORD } });
    await new Promise((r) => upstream!.once('message', r));

    const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    await writeFile(path.join(work, 'nginx.conf'), `worker_processes 1;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  upstream kestra { server 127.0.0.1:${upPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://kestra;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Cookie "";
      proxy_set_header Authorization "Basic ${basic}";
      proxy_buffering off;
    }
  }
}
`);
    nginx = spawn(PROXY_CORE[0]!, [...PROXY_CORE.slice(1), 'nginx', '-c', path.join(work, 'nginx.conf'), '-e', path.join(work, 'nginx-error.log')], { stdio: 'inherit' });

    const benchEnv = { ...process.env, BENCH_USER: USER, BENCH_PASSWORD: PASSWORD, BENCH_UPSTREAM_PORT: String(upPort) };
    floor = fork(path.join(ROOT, 'bench/node-floor.mjs'), { execPath: PROXY_CORE[0], execArgv: [...PROXY_CORE.slice(1), process.execPath], env: { ...benchEnv, BENCH_PORT: String(floorPort) } });
    await new Promise((r) => floor!.once('message', r));

    const peerTool = await prepareOauth2Proxy();
    let peerCookie: string | undefined;
    if (peerTool.ok) {
      const args = await oauth2ProxyArgs({ tool: peerTool, work, port: peerPort, upstreamPort: upPort, user: USER, password: PEER_PASSWORD, kestraPassword: PASSWORD });
      peer = spawn(PROXY_CORE[0]!, [...PROXY_CORE.slice(1), peerTool.binary, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
      await waitFor(`http://127.0.0.1:${peerPort}/ping`);
      // Sign in once through its htpasswd form, as a person would; the session cookie is then reused.
      const signIn = await request(`http://127.0.0.1:${peerPort}/oauth2/sign_in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: USER, password: PEER_PASSWORD, rd: '/' }).toString(),
      });
      await signIn.body.dump();
      peerCookie = [signIn.headers['set-cookie']].flat().find((c) => c?.startsWith('_oauth2_proxy='))?.split(';')[0];
      if (signIn.statusCode !== 302 || !peerCookie) throw new Error(`oauth2-proxy sign-in failed: ${signIn.statusCode}`);
    } else {
      console.log(`oauth2-proxy row skipped: ${peerTool.reason}`);
    }

    console.log('compiling Perch (npm run build:backend)…');
    await run('npm', ['run', '--silent', 'build:backend'], { cwd: ROOT });
    perch = spawn(PROXY_CORE[0]!, [...PROXY_CORE.slice(1), process.execPath, ...perchServeArgs([...startFlags(), ...EXTRA_NODE_FLAGS])], {
      env: perchBenchEnv({ port: perchPort, dataDir: work, kestraUrl: `http://127.0.0.1:${upPort}`, kestraUser: USER, kestraPassword: PASSWORD, admin: { username: 'bench@perch.test', password: 'benchmark passphrase' }, metricsToken: METRICS_TOKEN }),
      stdio: 'inherit',
    });
    await waitFor(`http://127.0.0.1:${perchPort}/perch/health`);
    await waitFor(`http://127.0.0.1:${nginxPort}/api/v1/main/flows/search`);
    const login = await request(`http://127.0.0.1:${perchPort}/perch/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bench@perch.test', password: 'benchmark passphrase' }),
    });
    await login.body.dump();
    const sessionCookie = [login.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))!.split(';')[0]!;
    const { scopedCookie, tenantCookie } = await namespaceSessions(`http://127.0.0.1:${perchPort}`, sessionCookie);
    const perchMemory = () => memoryBreakdown(perch!.pid!, `http://127.0.0.1:${perchPort}/perch/metrics`, METRICS_TOKEN);
    // Idle: started, one sign-in done, nothing proxied yet; a few seconds for start-up garbage to be collected.
    await new Promise((r) => setTimeout(r, 3000));
    const perchIdle = await perchMemory();
    console.log(`Perch idle: ${formatBreakdown(perchIdle)}`);
    let perchPeak: MemoryBreakdown = perchIdle;

    const targets = [
      { name: 'direct', base: `http://127.0.0.1:${upPort}`, headers: [`Authorization: Basic ${basic}`] },
      { name: 'nginx', base: `http://127.0.0.1:${nginxPort}`, headers: [] as string[] },
      ...(peerCookie ? [{ name: 'oauth2-proxy', base: `http://127.0.0.1:${peerPort}`, headers: [`Cookie: ${peerCookie}`] }] : []),
      { name: 'Node floor', base: `http://127.0.0.1:${floorPort}`, headers: [`Cookie: ${sessionCookie}`] },
      { name: 'Perch', base: `http://127.0.0.1:${perchPort}`, headers: [`Cookie: ${sessionCookie}`] },
      { name: 'Perch, main, bound to company', base: `http://127.0.0.1:${perchPort}`, headers: [`Cookie: ${scopedCookie}`] },
      { name: 'Perch, NAMESPACE tenant', base: `http://127.0.0.1:${perchPort}`, headers: [`Cookie: ${tenantCookie}`] },
    ];
    const payloads = [
      { name: 'JSON GET (1 KB)', path: '/api/v1/main/flows/search?filters[namespace][PREFIX]=company&page=1&size=25' },
      { name: '1 MB download', path: '/api/v1/main/namespaces/company.team/files?path=%2Fbig.bin' },
    ];
    await sameAnswers(targets, payloads);
    const rows: Array<{ payload: string; target: string; c1: WrkResult; c16: WrkResult }> = [];
    let perchRss = 0;
    let floorRss = 0;
    /** Each figure on its own: the median of the rounds; errors are added up. */
    const medianOf = (runs: WrkResult[]): WrkResult => ({
      requests: median(runs.map((r) => r.requests)),
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
    });
    for (const payload of payloads) {
      for (const target of targets) await wrk(target.base + payload.path, 4, target.headers); // warm-up is a short run of the same shape
      const runs = new Map(targets.map((t) => [t.name, { c1: [] as WrkResult[], c16: [] as WrkResult[] }]));
      // Rounds interleave the three paths, so a burst of load from the VM's other tenants hits all of them alike.
      for (let round = 1; round <= ROUNDS; round++) {
        for (const target of targets) {
          const url = target.base + payload.path;
          const c1 = await wrk(url, 1, target.headers);
          const sampler = setInterval(() => {
            void rssMb(perch!.pid!).then((mb) => (perchRss = Math.max(perchRss, mb)));
            void rssMb(floor!.pid!).then((mb) => (floorRss = Math.max(floorRss, mb)));
          }, 250);
          const c16 = await wrk(url, 16, target.headers);
          clearInterval(sampler);
          if (target.name === 'Perch') {
            // Read right after the heaviest run, while what it allocated is still held.
            const now = await perchMemory();
            if (now.rssMb >= perchPeak.rssMb) perchPeak = now;
          }
          runs.get(target.name)!.c1.push(c1);
          runs.get(target.name)!.c16.push(c16);
          console.log(`${payload.name.padEnd(16)} ${target.name.padEnd(30)} round ${round}: c=1 p50 ${c1.p50.toFixed(0)} µs p99 ${c1.p99.toFixed(0)} µs | c=16 ${c16.rps.toFixed(0)} req/s p99 ${(c16.p99 / 1000).toFixed(2)} ms | errors ${c1.errors + c16.errors}`);
        }
      }
      for (const target of targets) {
        const { c1, c16 } = runs.get(target.name)!;
        rows.push({ payload: payload.name, target: target.name, c1: medianOf(c1), c16: medianOf(c16) });
      }
    }
    perchRss = Math.max(perchRss, await rssMb(perch.pid!));

    const lines: string[] = [];
    const verdicts: string[] = [];
    for (const payload of payloads) {
      const of = (t: string) => rows.find((r) => r.payload === payload.name && r.target === t)!;
      const direct = of('direct');
      const nginxRow = of('nginx');
      const perchRow = of('Perch');
      const floorRow = of('Node floor');
      const scopedRow = of('Perch, main, bound to company');
      const tenantRow = of('Perch, NAMESPACE tenant');
      const peerRow = rows.find((r) => r.payload === payload.name && r.target === 'oauth2-proxy');
      for (const row of [direct, nginxRow, ...(peerRow ? [peerRow] : []), floorRow, perchRow, scopedRow, tenantRow]) {
        const added = row === direct ? '—' : `${(row.c1.p50 - direct.c1.p50).toFixed(0)} / ${(row.c1.p99 - direct.c1.p99).toFixed(0)}`;
        lines.push(`| ${payload.name} | ${row.target} | ${row.c1.p50.toFixed(0)} / ${row.c1.p99.toFixed(0)} | ${added} | ${row.c16.rps.toFixed(0)} | ${(row.c16.p99 / 1000).toFixed(2)} | ${row.c1.errors + row.c16.errors} |`);
      }
      const addedPerch = perchRow.c1.p50 - direct.c1.p50;
      const addedNginx = nginxRow.c1.p50 - direct.c1.p50;
      const latencyRatio = addedPerch / Math.max(addedNginx, 1);
      const throughputRatio = perchRow.c16.rps / nginxRow.c16.rps;
      const floorLatency = (floorRow.c1.p50 - direct.c1.p50) / Math.max(addedNginx, 1);
      const floorThroughput = floorRow.c16.rps / nginxRow.c16.rps;
      const tenantLatency = tenantRow.c1.p50 - scopedRow.c1.p50;
      verdicts.push(`- ${payload.name}, NAMESPACE tenant: ${tenantLatency >= 0 ? '+' : ''}${tenantLatency.toFixed(0)} µs p50 and ${(tenantRow.c16.rps / scopedRow.c16.rps).toFixed(2)}× the throughput of a person of main bound to the same namespace (the tenant's routing and roots bound; the run's noise is of the same order).`);
      if (peerRow) {
        const addedPeerP50 = peerRow.c1.p50 - direct.c1.p50;
        const addedPeerP99 = peerRow.c1.p99 - direct.c1.p99;
        const addedPerchP99 = perchRow.c1.p99 - direct.c1.p99;
        const rpsRatio = perchRow.c16.rps / peerRow.c16.rps;
        verdicts.push(`- ${payload.name}, Perch against oauth2-proxy: throughput ${rpsRatio.toFixed(2)}× the peer's (${perchRow.c16.rps >= peerRow.c16.rps ? 'at or above: met' : 'below: missed'}); added p50 ${addedPerch.toFixed(0)} µs against ${addedPeerP50.toFixed(0)} µs, added p99 ${addedPerchP99.toFixed(0)} µs against ${addedPeerP99.toFixed(0)} µs (${addedPerch <= addedPeerP50 ? 'at or below: met' : 'above: missed'} at p50).`);
      }
      verdicts.push(`- ${payload.name}: Perch's added p50 is ${latencyRatio.toFixed(2)}× nginx's (target ≤ 1.5×: ${latencyRatio <= 1.5 ? 'met' : 'missed'}); throughput is ${throughputRatio.toFixed(2)}× nginx's (target ≥ 0.6×: ${throughputRatio >= 0.6 ? 'met' : 'missed'}). The Node floor, with no check at all, is at ${floorLatency.toFixed(2)}× and ${floorThroughput.toFixed(2)}×; Perch keeps ${(perchRow.c16.rps / floorRow.c16.rps).toFixed(2)}× of its throughput.`);
    }
    const peaks = [
      ['Perch', perch.pid!],
      ['Node floor', floor.pid!],
      ...(peer ? [['oauth2-proxy', peer.pid!] as const] : []),
      ['nginx (master + worker)', nginx.pid!],
    ] as const;
    const peakLine = (await Promise.all(peaks.map(async ([name, pid]) => `${name} ${(await peakRssMb(pid, name.startsWith('nginx'))).toFixed(0)} MB`))).join(', ');
    const perchHwm = await peakRssMb(perch.pid!, false);
    verdicts.push(`- Peak RSS of each process over the whole run (VmHWM): ${peakLine}. Perch's sampled peak: ${perchRss.toFixed(0)} MB; the Node floor's: ${floorRss.toFixed(0)} MB.`);
    verdicts.push(`- Perch's memory, idle (started, one sign-in, nothing proxied, ${await threadCount(perch.pid!)} threads): ${formatBreakdown(perchIdle)} (target idle ≤ 90 MB: ${perchIdle.rssMb <= 90 ? 'met' : 'missed'}).`);
    verdicts.push(`- Perch's memory right after its heaviest c=16 run: ${formatBreakdown(perchPeak)}; peak RSS ${perchHwm.toFixed(0)} MB (target ≤ 140 MB: ${perchHwm <= 140 ? 'met' : 'missed'}).`);
    if (!peer) verdicts.push(`- oauth2-proxy row skipped: ${(peerTool as { reason: string }).reason}.`);

    const section = [
      '## Proxy overhead (`npm run bench:proxy`)',
      '',
      `Run on ${new Date().toISOString().slice(0, 10)}, ${await machineLine()}, Node ${process.versions.node}, ${(await run('nginx', ['-v'])).stderr.trim().replace('nginx version: ', '')}, load average ${loadAtStart.toFixed(2)} at start, wrk 1 thread, ${SECONDS} s per run, ${ROUNDS} interleaved rounds per payload (direct, nginx, ${peer ? 'oauth2-proxy, ' : ''}Node floor, Perch, direct, …; every figure below is the median of its rounds, errors are summed), everything on loopback; nginx, ${peer ? 'oauth2-proxy, ' : ''}the Node floor and Perch each run alone on core 0 while wrk and the upstream share core 1 (the VM is shared, so compare within a run).`,
      `Upstream: a Node http server answering like Kestra (Basic auth). nginx: 1 worker, keep-alive upstream, adds the Basic header. oauth2-proxy ${OAUTH2_PROXY_VERSION} (\`bench/oauth2-proxy.ts\`, Go, GOMAXPROCS left to the pinning): what a Kestra OSS team would otherwise put in front, configured as teams do: cookie session store, htpasswd sign-in (bcrypt), done once before measuring through its sign-in form, \`--pass-basic-auth\` with \`--basic-auth-password\` (Kestra's Basic credentials), request and auth logging off. Node floor (\`bench/node-floor.mjs\`): node:http plus one undici dispatch per call, the Basic header swapped in and nothing checked, i.e. what any Node proxy costs here before doing any work of its own. Perch: a signed-in session cookie (an Admin bound tenant-wide), taking the fast lane (\`backend/proxy/fast-lane.ts\`, Node’s request event, no Fastify request): full canonical-form check, session lookup, policy-map match and RBAC decision, header rewrite, streaming (reads are never audited: the audit hook only records writes and refused writes). Perch, main, bound to company: a person of \`main\` with the Admin role on namespace \`company\` only, so lists are narrowed and their answers filtered (through Fastify). Perch, NAMESPACE tenant: a tenant-wide Admin of tenant \`company\` (roots \`company\`) in the same Kestra, whose session selected that tenant and calls \`/api/v1/main/…\` as the stock UI does: the same narrowing, plus the tenant routing and the roots bound (docs/tenants.md).`,
      '',
      '| payload | path | c=1 p50 / p99 (µs) | added p50 / p99 vs direct (µs) | c=16 req/s | c=16 p99 (ms) | errors |',
      '|---|---|---|---|---|---|---|',
      ...lines,
      '',
      ...verdicts,
    ].join('\n');
    console.log(`\n${verdicts.join('\n')}`);
    // The docs show Perch as `npm start` runs it: a comparison's run is printed only.
    if (EXTRA_NODE_FLAGS.length) console.log(`\nnot written to docs/benchmarks.md: Perch ran with ${EXTRA_NODE_FLAGS.join(' ')} added`);
    else await writeBenchmarkSection('proxy', section);
  } finally {
    await Promise.all([stop(perch), stop(nginx), stop(peer), stop(floor), stop(upstream)]);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
