import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { PerchContext } from '../context.js';
import { TargetHealthMonitor } from './health-monitor.js';

/** How long one target may take to answer a health check, and how many are checked at once. */
const TIMEOUT_MS = 3000;
const CONCURRENCY = 8;

const monitors = new WeakMap<PerchContext, TargetHealthMonitor>();

/** The context's target health monitor (one per Perch; kept here so the context's shape stays as it is). */
export function healthMonitor(ctx: PerchContext): TargetHealthMonitor {
  let monitor = monitors.get(ctx);
  if (!monitor) monitors.set(ctx, (monitor = new TargetHealthMonitor({ log: ctx.log, timeoutMs: TIMEOUT_MS, concurrency: CONCURRENCY })));
  return monitor;
}

/**
 * Starts the background check once the registry is read (`workerGroups.healthCheckInterval`), stops
 * it on close, and reports this replica's view in `/perch/metrics` (three series, whatever the size
 * of the registry).
 */
export function installHealthMonitor(app: FastifyInstance, ctx: PerchContext): void {
  const monitor = healthMonitor(ctx);
  app.addHook('onReady', async () => monitor.start(ctx.config.workerGroups.healthCheckInterval));
  app.addHook('onClose', () => monitor.stop());
  new Gauge({
    name: 'perch_worker_group_targets',
    help: 'Worker group targets by the state this replica’s last health check saw (unknown: not checked yet)',
    labelNames: ['state'] as const,
    registers: [ctx.metrics.registry],
    collect() {
      const counts = monitor.counts();
      for (const state of ['running', 'unreachable', 'unknown'] as const) this.set({ state }, counts[state]);
    },
  });
}
