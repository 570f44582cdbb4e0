/**
 * npx tsx bench/metrics-cost.ts — what observability adds to each proxied call, operation by
 * operation, in-process (a few seconds): the request id, the head's stamp (request id and HSTS) and
 * count, the decision counter, the two clock reads and the Kestra latency histogram. Prints ns per
 * operation; see docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { perchResponses } from '../backend/http/perch-response.js';
import { PerchMetrics } from '../backend/metrics/perch-metrics.js';
import { countAnswer } from '../backend/metrics/request-metrics.js';

const metrics = new PerchMetrics();
const N = 200_000;
const verdict = { ok: true as const };

function time(name: string, fn: () => void): number {
  for (let i = 0; i < N / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  const ns = Number(process.hrtime.bigint() - start) / N;
  console.log(`${name}: ${ns.toFixed(0)} ns`);
  return ns;
}

// A head as the direct forwarder writes it: Kestra's headers as one flat array.
const kestraHeaders = ['content-type', 'application/json', 'content-length', '1024', 'date', 'Sun, 06 Dec 2026 05:00:00 GMT', 'vary', 'accept-encoding', 'cache-control', 'no-cache'];
const req = new IncomingMessage(new Socket());
req.requestId = randomUUID();
const Stamped = perchResponses({ hsts: 'max-age=31536000', onHead: countAnswer(metrics) });

time('request id (randomUUID)', () => randomUUID());
const plain = time('head, plain ServerResponse', () => new ServerResponse(req).writeHead(200, kestraHeaders.slice()));
const stamped = time('head, Perch’s response (request id, HSTS, count)', () => new Stamped(req).writeHead(200, kestraHeaders.slice()));
console.log(`  stamp and count: ${(stamped - plain).toFixed(0)} ns`);
time('decision counter (slot)', () => metrics.verdict(verdict));
time('clock read (performance.now)', () => performance.now());
time('Kestra latency (prom-client histogram, 6 buckets)', () => metrics.kestraAnswered(0.0123));
