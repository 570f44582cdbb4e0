/** wrk, as the benchmarks run it: one thread on the client core (core 1), latency percentiles in microseconds. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult { requests: number; rps: number; p50: number; p99: number; errors: number }

/** wrk's latency figures ("412.00us", "1.20ms", "2.00s") in microseconds. */
export function toMicros(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) throw new Error(`cannot read latency "${text}"`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n : m[2] === 'ms' ? n * 1000 : n * 1e6;
}

/** `connections` connections for `seconds` against `url` from core 1; errors are non-2xx/3xx answers plus socket errors. */
export async function wrk(url: string, connections: number, headers: string[], seconds: number): Promise<WrkResult> {
  const args = ['-c', '1', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const { stdout } = await run('taskset', args, { timeout: (seconds + 30) * 1000 });
  const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)![1]),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50: toMicros(/\s50%\s+(\S+)/.exec(stdout)![1]!),
    p99: toMicros(/\s99%\s+(\S+)/.exec(stdout)![1]!),
    errors: Number(bad?.[1] ?? 0) + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}
