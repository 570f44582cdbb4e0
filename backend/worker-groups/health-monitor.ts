import type { FastifyBaseLogger } from 'fastify';
import { checkDockerTarget, type TargetHealth } from './target-health.js';

/*
 * The background health check of worker group targets (docs/design/worker-groups.md §7): every
 * interval, each target of the registry this replica holds is checked, a few at a time, each bounded
 * in time; the last result per target is kept in memory for the registry's answers and the metrics.
 * Each replica checks from where it stands (a daemon may be reachable from one and not another), so
 * nothing is shared through the store. A change of state is logged once, not at every tick.
 */

export interface MonitoredTarget {
  groupId: string;
  targetId: string;
  host: string;
}

type Check = (host: string, timeoutMs: number) => Promise<TargetHealth>;

export interface HealthMonitorOptions {
  log: FastifyBaseLogger;
  /** How long one target may take to answer. */
  timeoutMs: number;
  /** How many targets are checked at once. */
  concurrency: number;
  check?: Check;
}

/** Never more results held than this, whatever the registry's size (hosts are unique across groups). */
const MAX_TRACKED = 10_000;

export class TargetHealthMonitor {
  private readonly latest = new Map<string, TargetHealth>();
  private targets: MonitoredTarget[] = [];
  private watched = new Set<string>();
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly check: Check;

  constructor(private readonly options: HealthMonitorOptions) {
    this.check = options.check ?? checkDockerTarget;
  }

  /** Takes the registry as it now is: results of targets no longer in it are dropped. */
  watch(groups: ReadonlyArray<{ id: string; targets: ReadonlyArray<{ id: string; host: string }> }>): void {
    this.targets = groups.flatMap((g) => g.targets.map((t) => ({ groupId: g.id, targetId: t.id, host: t.host }))).slice(0, MAX_TRACKED);
    this.watched = new Set(this.targets.map((t) => t.host));
    for (const host of this.latest.keys()) if (!this.watched.has(host)) this.latest.delete(host);
  }

  /** The last result for a host, or undefined before its first check. */
  of(host: string): TargetHealth | undefined {
    return this.latest.get(host);
  }

  /** How many targets are up, down, or not checked yet. */
  counts(): { running: number; unreachable: number; unknown: number } {
    const out = { running: 0, unreachable: 0, unknown: 0 };
    for (const t of this.targets) {
      const state = this.latest.get(t.host)?.state;
      if (state === 'RUNNING') out.running++;
      else if (state === 'UNREACHABLE') out.unreachable++;
      else out.unknown++;
    }
    return out;
  }

  /** Checks every watched target now; a tick asked while one runs joins it. */
  tick(): Promise<void> {
    this.inFlight ??= this.checkNow(this.targets).then(
      () => undefined,
    ).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Checks these targets now (an owner's request), recording what is seen. */
  async checkNow(targets: MonitoredTarget[]): Promise<TargetHealth[]> {
    const results: TargetHealth[] = new Array(targets.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < targets.length; i = next++) {
        results[i] = await this.check(targets[i]!.host, this.options.timeoutMs);
        this.record(targets[i]!, results[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, targets.length) }, worker));
    return results;
  }

  /** Keeps a result (for a target still in the registry) and logs a change of state once. */
  private record(target: MonitoredTarget, health: TargetHealth): void {
    if (!this.watched.has(target.host)) return;
    const before = this.latest.get(target.host)?.state;
    this.latest.set(target.host, health);
    if (before === health.state) return;
    const fields = { workerGroup: target.groupId, target: target.targetId, host: target.host };
    if (health.state === 'RUNNING') this.options.log.info({ ...fields, engine: health.engine?.version }, 'worker group target is reachable');
    else this.options.log.warn({ ...fields, problem: health.problem }, 'worker group target is unreachable');
  }

  /** Ticks every `intervalMs` (the first at once), without keeping the process alive. */
  start(intervalMs: number): void {
    this.stop();
    const run = () => void this.tick().catch((error: unknown) => this.options.log.error({ err: error }, 'worker group health check failed'));
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
    run();
  }

  /** Stops ticking; waits for a tick under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
