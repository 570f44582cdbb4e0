/**
 * A process as the benchmarks report it: RSS and its peak, CPU time and page faults from /proc (any process), and for
 * Perch the breakdown it exposes on /perch/metrics (prom-client's process metrics plus the
 * array-buffer gauge), read with the metrics token: no inspector, nothing bench-only in Perch.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'undici';

export interface MemoryBreakdown {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  /** All the process's threads (V8's platform threads, libuv's pool, worker threads), from /proc. */
  threads: number;
  /** Worker threads Perch started (its SQLite writer and checkpointer), from its metrics. */
  workerThreads: number;
}

const MB = 1024 * 1024;

async function status(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/status`, 'utf8');
}
const field = (text: string, name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);

/** A process's CPU time so far (user + system, all its threads; clock ticks of 10 ms) and its page faults, from /proc/<pid>/stat. */
export async function processCounters(pid: number): Promise<{ cpuSeconds: number; minorFaults: number; majorFaults: number }> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, minorFaults: Number(fields[7]), majorFaults: Number(fields[9]) };
}

export async function rssMb(pid: number): Promise<number> {
  return field(await status(pid), 'VmRSS') / 1024;
}

export async function threadCount(pid: number): Promise<number> {
  return field(await status(pid), 'Threads');
}

/** VmHWM: the highest RSS the process reached. With children, added up over it and its children (nginx's master and worker). */
export async function peakRssMb(pid: number, withChildren: boolean): Promise<number> {
  let kb = field(await status(pid), 'VmHWM');
  if (withChildren) {
    const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean);
    for (const child of children) kb += field(await status(Number(child)).catch(() => ''), 'VmHWM') || 0;
  }
  return kb / 1024;
}

/** One unlabelled sample from Prometheus's text format. */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.eE+-]+)`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

export async function memoryBreakdown(pid: number, metricsUrl: string, token: string): Promise<MemoryBreakdown> {
  const res = await request(metricsUrl, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${metricsUrl}: ${res.statusCode} ${text.slice(0, 200)}`);
  const proc = await status(pid);
  return {
    rssMb: field(proc, 'VmRSS') / 1024,
    heapUsedMb: metricValue(text, 'nodejs_heap_size_used_bytes') / MB,
    heapTotalMb: metricValue(text, 'nodejs_heap_size_total_bytes') / MB,
    externalMb: metricValue(text, 'nodejs_external_memory_bytes') / MB,
    arrayBuffersMb: metricValue(text, 'nodejs_array_buffers_bytes') / MB,
    threads: field(proc, 'Threads'),
    workerThreads: metricValue(text, 'perch_worker_threads'),
  };
}

export function formatBreakdown(m: MemoryBreakdown): string {
  const mb = (n: number) => (Number.isNaN(n) ? 'n/a' : n.toFixed(1));
  return `RSS ${mb(m.rssMb)} MB = JS heap ${mb(m.heapUsedMb)} used of ${mb(m.heapTotalMb)} MB, external ${mb(m.externalMb)} MB (of which array buffers ${mb(m.arrayBuffersMb)} MB), the rest code, stacks and native; ${m.threads} threads, ${Number.isNaN(m.workerThreads) ? 'n/a' : m.workerThreads} of them worker threads`;
}
