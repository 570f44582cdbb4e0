/** Starting and stopping the benchmarks' servers (bench:proxy, bench:memory). */
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';

/** Resolves once `url` answers at all (any status); throws after `seconds`. */
export async function waitFor(url: string, seconds = 20): Promise<void> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const res = await request(url);
      await res.body.dump();
      return;
    } catch (error) {
      if (Date.now() > until) throw new Error(`${url} did not come up: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process exited. */
export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}
