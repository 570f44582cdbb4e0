/**
 * npx tsx bench/metrics-cost.ts — what observability adds to each proxied call, operation by
 * operation, in-process (under a second): the request id, the request and decision counters, the
 * two clock reads and the Kestra latency histogram. Prints ns per operation; see docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { PerchMetrics } from '../backend/metrics/perch-metrics.js';

const metrics = new PerchMetrics();
const N = 200_000;
const verdict = { ok: true as const };

function time(name: string, fn: () => void): void {
  for (let i = 0; i < N / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  console.log(`${name}: ${(Number(process.hrtime.bigint() - start) / N).toFixed(0)} ns`);
}

time('request id (randomUUID)', () => randomUUID());
time('request counter (slot)', () => metrics.answered(0, 1, 200));
time('decision counter (slot)', () => metrics.verdict(verdict));
time('clock read (performance.now)', () => performance.now());
time('Kestra latency (prom-client histogram, 6 buckets)', () => metrics.kestraAnswered(0.0123));
