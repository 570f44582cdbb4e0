import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { liveSqliteWorkers } from '../store/sqlite-worker.js';
import { SlotCounter } from './slot-counter.js';

/*
 * What Perch counts for Prometheus (`/perch/metrics`). Every label takes a value from a short fixed
 * list: no path, user, namespace or id ever becomes a label, so the series are bounded whatever the
 * traffic. The hot path only bumps numbered slots (slot-counter.ts) and observes unlabelled histograms.
 */

/** What kind of route answered: Kestra's API or UI through the proxy, Perch's own API or pages, probes (health, metrics), or no route (404). */
export const ROUTE_CLASSES = ['kestra_api', 'kestra_ui', 'perch_api', 'perch_page', 'probe', 'unrouted'] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];
/** The proxy's fast lane (proxy/fast-lane.ts, Node's request event) or Fastify. */
export const LANES = ['fastify', 'fast'] as const;
export type Lane = (typeof LANES)[number];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Why a call was let through: as asked, or narrowed to the caller's namespaces (a rewritten query, a filtered list, an empty page). */
const ALLOWED_REASONS = ['granted', 'narrowed'] as const;
/** Why a call was refused, from a short list (a refusal's status, or the guard's cross-site check). */
const DENIED_REASONS = ['unauthenticated', 'csrf', 'forbidden', 'malformed', 'not_found', 'invalid_body', 'throttled', 'not_implemented', 'lookup_failed', 'other'] as const;
export type DeniedReason = (typeof DENIED_REASONS)[number];

/** How a call to Kestra failed: no connection, no answer in time, Perch's own account refused, an answer cut short or one Node would not pass on. */
export const KESTRA_ERRORS = ['unreachable', 'timeout', 'credentials_refused', 'broken_off', 'invalid_answer'] as const;
export type KestraError = (typeof KESTRA_ERRORS)[number];

/** The denial reason of a refusal's HTTP status. */
export function deniedReason(status: number): DeniedReason {
  switch (status) {
    case 400:
    case 415:
      return 'malformed';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 422:
      return 'invalid_body';
    case 429:
      return 'throttled';
    case 501:
      return 'not_implemented';
    default:
      return status >= 500 ? 'lookup_failed' : 'other';
  }
}

/** Node's own metrics (CPU, memory, event-loop lag, GC) are the process's, collected once whatever the number of Perch servers in it. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // What prom-client leaves out of the memory picture: buffers' share of external memory, and the worker threads (each its own heap).
    new Gauge({
      name: 'nodejs_array_buffers_bytes',
      help: 'Memory held by ArrayBuffers and Buffers (part of nodejs_external_memory_bytes)',
      registers: [processRegistry],
      collect() {
        this.set(process.memoryUsage().arrayBuffers);
      },
    });
    new Gauge({
      name: 'perch_worker_threads',
      help: 'Worker threads Perch runs (the SQLite audit commit thread, which also checkpoints)',
      registers: [processRegistry],
      collect() {
        this.set(liveSqliteWorkers());
      },
    });
  }
  return processRegistry;
}

/** Where the gauges read from at scrape time. */
export interface MetricSources {
  /** Audit entries queued or being written, not yet committed. */
  auditBacklog(): number;
  /** Sessions neither expired nor idle past the idle timeout (in the store: every replica's). */
  activeSessions(): Promise<number>;
}

export class PerchMetrics {
  readonly registry = new Registry();
  private readonly requests: SlotCounter<'route' | 'lane' | 'status'>;
  /** Slot of each route class × lane × status class, or -1 where none exists (the fast lane only serves Kestra's API). */
  private readonly requestSlots: Int16Array;
  private readonly decisions: SlotCounter<'decision' | 'reason'>;
  private readonly kestraErrors: SlotCounter<'kind'>;
  private readonly kestraLatency: Histogram;
  private readonly auditCommit: Histogram;
  private sources: MetricSources | undefined;

  constructor() {
    const registry = this.registry;
    const slots: Array<Record<'route' | 'lane' | 'status', string>> = [];
    this.requestSlots = new Int16Array(ROUTE_CLASSES.length * LANES.length * STATUS_CLASSES.length).fill(-1);
    ROUTE_CLASSES.forEach((route, r) =>
      LANES.forEach((lane, l) => {
        if (lane === 'fast' && route !== 'kestra_api') return;
        STATUS_CLASSES.forEach((status, s) => {
          this.requestSlots[(r * LANES.length + l) * STATUS_CLASSES.length + s] = slots.length;
          slots.push({ route, lane, status });
        });
      }),
    );
    this.requests = new SlotCounter(registry, 'perch_http_requests_total', 'Requests answered, by route class, lane and status class (counted when the answer’s head is sent)', slots);
    this.decisions = new SlotCounter(registry, 'perch_authz_decisions_total', 'Authorization decisions (Kestra calls, Perch’s own API, the guard’s sign-in and cross-site checks): allowed (granted, narrowed) or denied, by reason', [
      ...ALLOWED_REASONS.map((reason) => ({ decision: 'allowed', reason })),
      ...DENIED_REASONS.map((reason) => ({ decision: 'denied', reason })),
    ]);
    this.kestraErrors = new SlotCounter(registry, 'perch_kestra_errors_total', 'Calls to Kestra that failed, by kind', KESTRA_ERRORS.map((kind) => ({ kind })));
    this.kestraLatency = new Histogram({
      name: 'perch_kestra_response_seconds',
      help: 'Time from sending a call to Kestra to its response head (proxied calls, both lanes)',
      buckets: [0.005, 0.025, 0.1, 0.5, 2.5, 10],
      registers: [registry],
    });
    this.auditCommit = new Histogram({
      name: 'perch_audit_commit_seconds',
      help: 'Time to write and commit one batch of audit entries (group commit)',
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5],
      registers: [registry],
    });
    const metrics = this;
    new Gauge({
      name: 'perch_audit_backlog',
      help: 'Audit entries queued or being written, not yet committed',
      registers: [registry],
      collect() {
        this.set(metrics.sources?.auditBacklog() ?? 0);
      },
    });
    new Gauge({
      name: 'perch_sessions_active',
      help: 'Signed-in sessions neither expired nor idle (all replicas: read from the store)',
      registers: [registry],
      async collect() {
        this.set(metrics.sources ? await metrics.sources.activeSessions() : 0);
      },
    });
  }

  /** Where the gauges read from; set once the store and the audit log exist. */
  watch(sources: MetricSources): void {
    this.sources = sources;
  }

  /** One answer's head was sent. `route` and `lane` are indexes into {@link ROUTE_CLASSES} and {@link LANES}. */
  answered(route: number, lane: number, status: number): void {
    const statusClass = status < 200 ? 0 : status >= 500 ? 4 : Math.floor(status / 100) - 1;
    const slot = this.requestSlots[(route * LANES.length + lane) * STATUS_CLASSES.length + statusClass]!;
    if (slot >= 0) this.requests.add(slot);
  }

  allowed(narrowed: boolean): void {
    this.decisions.add(narrowed ? 1 : 0);
  }

  /** The Kestra authorizer's verdict, once acted on (the fast lane counts only what it forwards: Fastify decides the rest again). */
  verdict(verdict: { ok: true; query?: string; responseFilter?: object; answer?: unknown } | { ok: false; status: number }): void {
    if (!verdict.ok) this.denied(deniedReason(verdict.status));
    else this.allowed(verdict.query !== undefined || verdict.responseFilter !== undefined || verdict.answer !== undefined);
  }

  denied(reason: DeniedReason): void {
    this.decisions.add(ALLOWED_REASONS.length + DENIED_REASONS.indexOf(reason));
  }

  kestraAnswered(seconds: number): void {
    this.kestraLatency.observe(seconds);
  }

  kestraFailed(kind: KestraError): void {
    this.kestraErrors.add(KESTRA_ERRORS.indexOf(kind));
  }

  auditCommitted(seconds: number): void {
    this.auditCommit.observe(seconds);
  }

  /** The Prometheus text exposition: Perch's metrics, then the process's. */
  async scrape(): Promise<string> {
    return (await this.registry.metrics()) + (await processMetrics().metrics());
  }

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
}
