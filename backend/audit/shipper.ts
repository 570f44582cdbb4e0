import { open, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { PostgresAdapter, sql } from 'kysely';
import { sha256Hex } from '../crypto/sha256.js';
import type { PerchConfig } from '../config/config.js';
import type { Store } from '../store/database.js';
import type { AuditLogTable } from '../store/schema.js';
import { chainHeads } from './chain-heads.js';
import type { Checkpoint } from './checkpoint.js';
import { toApiAuditLog } from './query.js';

/**
 * The log shipper (issue 6, point 6): forwards every audit entry to external sinks, chain by chain in
 * `seq` order, at least once. Each sink has a durable cursor per chain (`audit_ship_cursors`) that
 * moves only once the sink acknowledged a batch, so after a restart (or a sink outage) delivery
 * resumes after the last acknowledged batch: the only entries a sink may receive twice are those of
 * the batch that was in flight when Perch stopped.
 */
export interface AuditSink {
  /** The cursor's key: stable across restarts. */
  readonly name: string;
  /** Resolves once the sink acknowledged every row (in order); rejects otherwise. */
  send(rows: AuditLogTable[]): Promise<void>;
  /** Delivers a signed checkpoint of the chain heads (checkpointer.ts), in the sink's own format. */
  sendCheckpoint(checkpoint: Checkpoint): Promise<void>;
  close(): Promise<void>;
}

export type SinkConfig = PerchConfig['audit']['sinks'][number];

/** One JSON line per entry: the API shape (`toApiAuditLog`), chain fields included. */
export const jsonLine = (row: AuditLogTable) => `${JSON.stringify(toApiAuditLog(row))}\n`;

/**
 * A sink URL as its default name says it (printed in the log, stored as the cursor's key): without
 * its query, where an endpoint's API key may sit. (The configuration refuses a user and password.)
 */
function printableUrl(url: string): string {
  const query = url.search(/[?#]/);
  return query === -1 ? url : url.slice(0, query);
}

/** POSTs JSON lines; any 2xx is the acknowledgement. */
export class WebhookSink implements AuditSink {
  readonly name: string;
  constructor(private readonly config: Extract<SinkConfig, { type: 'webhook' }>, private readonly timeoutMs = 10_000) {
    this.name = config.name ?? `webhook:${printableUrl(config.url)}`;
  }

  send(rows: AuditLogTable[]): Promise<void> {
    return this.post(rows.map(jsonLine).join(''));
  }

  /** The checkpoint as one JSON line (`"type": "perch.audit.checkpoint"` tells it from an entry). */
  sendCheckpoint(checkpoint: Checkpoint): Promise<void> {
    return this.post(`${JSON.stringify(checkpoint)}\n`);
  }

  private async post(body: string): Promise<void> {
    const res = await request(this.config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...this.config.headers },
      body,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`${this.name} answered ${res.statusCode}`);
  }

  async close(): Promise<void> {}
}

/** Appends JSON lines, fsynced before acknowledging; rotates to `path.1` … `path.keep` by size. */
export class FileSink implements AuditSink {
  readonly name: string;
  constructor(private readonly config: Extract<SinkConfig, { type: 'file' }>) {
    this.name = config.name ?? `file:${config.path}`;
  }

  send(rows: AuditLogTable[]): Promise<void> {
    return this.append(rows.map(jsonLine).join(''));
  }

  /** The checkpoint as one JSON line among the entries. */
  sendCheckpoint(checkpoint: Checkpoint): Promise<void> {
    return this.append(`${JSON.stringify(checkpoint)}\n`);
  }

  private async append(lines: string): Promise<void> {
    let data = Buffer.from(lines);
    const size = await stat(this.config.path).then((s) => s.size, () => 0);
    if (size > 0 && size + data.length > this.config.maxBytes) await this.rotate();
    const handle = await open(this.config.path, 'a+');
    try {
      // A write cut short (disk full, a crash) left a line with no end: the retried batch starts on a line of its own.
      const { size: now } = await handle.stat();
      if (now > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, now - 1);
        if (last[0] !== 0x0a) data = Buffer.concat([Buffer.from('\n'), data]);
      }
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  private async rotate(): Promise<void> {
    const { path, keep } = this.config;
    await unlink(`${path}.${keep}`).catch(() => {});
    for (let i = keep - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
    await rename(path, `${path}.1`);
  }

  async close(): Promise<void> {}
}

/** RFC 5424 SD-PARAM values escape `"`, `\` and `]`. */
const sdValue = (text: string) => text.replace(/["\\\]]/g, (c) => `\\${c}`);
/** RFC 5424 header fields: printable US-ASCII, no spaces, `-` when empty. */
const headerField = (text: string | null | undefined, max: number) => (text ? text.replace(/[^!-~]/g, '_').slice(0, max) : '-');

/** Facility 13 (log audit); severity 6 (informational), 4 (warning) for refusals and failures. */
export function syslogMessage(row: AuditLogTable, appName = 'perch', host = hostname()): string {
  const severity = row.outcome === 'SUCCESS' ? 6 : 4;
  const sd = `[perch@32473 tenant="${sdValue(row.tenant_id)}" seq="${row.seq}" id="${sdValue(row.id)}" outcome="${row.outcome}"]`;
  return `<${13 * 8 + severity}>1 ${new Date(Number(row.date)).toISOString()} ${headerField(host, 255)} ${headerField(appName, 48)} ${process.pid} ${headerField(row.action, 32)} ${sd} ${JSON.stringify(toApiAuditLog(row))}`;
}

/** A checkpoint as an RFC 5424 message: MSGID CHECKPOINT, the signed checkpoint as its JSON body. */
export function syslogCheckpoint(checkpoint: Checkpoint, appName = 'perch', host = hostname()): string {
  return `<${13 * 8 + 6}>1 ${checkpoint.time} ${headerField(host, 255)} ${headerField(appName, 48)} ${process.pid} CHECKPOINT - ${JSON.stringify(checkpoint)}`;
}

/** RFC 6587 octet counting: `LENGTH SP MESSAGE`. */
export const octetCounted = (message: string) => `${Buffer.byteLength(message)} ${message}`;

/**
 * RFC 5424 over TCP with octet-counted framing (RFC 6587). TCP has no application-level ack: a batch
 * counts as delivered once the socket flushed it to the kernel; a broken connection fails the batch.
 */
export class SyslogSink implements AuditSink {
  readonly name: string;
  private socket: Socket | null = null;
  constructor(private readonly config: Extract<SinkConfig, { type: 'syslog' }>, private readonly timeoutMs = 10_000) {
    this.name = config.name ?? `syslog:${config.host}:${config.port}`;
  }

  private connected(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.config.host, port: this.config.port });
      socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`${this.name}: timed out`)));
      socket.once('connect', () => {
        socket.setTimeout(0);
        this.socket = socket;
        socket.on('error', () => socket.destroy());
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  send(rows: AuditLogTable[]): Promise<void> {
    return this.write(rows.map((row) => octetCounted(syslogMessage(row, this.config.appName))).join(''));
  }

  sendCheckpoint(checkpoint: Checkpoint): Promise<void> {
    return this.write(octetCounted(syslogCheckpoint(checkpoint, this.config.appName)));
  }

  private async write(frames: string): Promise<void> {
    const socket = await this.connected();
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new Error(`${this.name}: connection closed`));
      // A receiver that stops reading never lets the write complete: give up after timeoutMs without progress.
      const onTimeout = () => socket.destroy(new Error(`${this.name}: timed out`));
      socket.once('close', onClose);
      socket.once('timeout', onTimeout);
      socket.setTimeout(this.timeoutMs);
      socket.write(frames, (error) => {
        socket.setTimeout(0);
        socket.off('timeout', onTimeout);
        socket.off('close', onClose);
        // A socket destroyed with the write pending (reset by the receiver, timed out) calls back without an
        // error although the rest of the batch never left: that is a failure too.
        if (error || socket.destroyed) {
          socket.destroy();
          reject(error ?? new Error(`${this.name}: connection closed before the batch was sent`));
        } else resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.socket?.end();
    this.socket = null;
  }
}

type OtlpValue = { stringValue: string } | { intValue: string };
type OtlpAttribute = { key: string; value: OtlpValue };

/** OTLP attributes for the entry's fields (semantic-convention names where one exists); nulls are left out. */
function otlpAttributes(row: AuditLogTable): OtlpAttribute[] {
  const fields: Array<[string, string | number | null]> = [
    ['perch.audit.id', row.id],
    ['perch.audit.tenant', row.tenant_id],
    ['perch.audit.seq', Number(row.seq)],
    ['perch.audit.action', row.action],
    ['perch.audit.resource.type', row.resource_type],
    ['perch.audit.resource.id', row.resource_id],
    ['perch.audit.namespace', row.namespace],
    ['perch.audit.actor.type', row.actor_type],
    ['perch.audit.actor.id', row.actor_id],
    ['perch.audit.actor.email', row.actor_email],
    ['perch.audit.impersonated_by', row.impersonated_by],
    ['perch.audit.outcome', row.outcome],
    ['perch.audit.upstream_status', row.upstream_status],
    ['perch.audit.request_id', row.request_id],
    ['client.address', row.ip],
    ['user_agent.original', row.user_agent],
    ['perch.audit.details', row.details],
    ['perch.audit.prev_hash', row.prev_hash],
    ['perch.audit.hash', row.hash],
  ];
  return fields
    .filter((f): f is [string, string | number] => f[1] !== null && f[1] !== undefined)
    .map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));
}

/**
 * An OTLP `ExportLogsServiceRequest` in the protobuf JSON mapping (OTLP/HTTP, `application/json`):
 * 64-bit integers as decimal strings, enums as numbers. Built here rather than with
 * `@opentelemetry/exporter-logs-otlp-http`: its current line needs Node 22, and it exports SDK
 * `LogRecord`s from a batching processor, not batches whose acknowledgement moves a cursor.
 */
export function otlpLogsRequest(rows: AuditLogTable[], host = hostname()) {
  const observed = nanos(Date.now());
  return otlpEnvelope(
    rows.map((row) => ({
      timeUnixNano: nanos(Number(row.date)),
      observedTimeUnixNano: observed,
      // INFO (9) for successes, WARN (13) for refusals and failures, as in syslog.
      severityNumber: row.outcome === 'SUCCESS' ? 9 : 13,
      severityText: row.outcome === 'SUCCESS' ? 'INFO' : 'WARN',
      eventName: `perch.audit.${row.action.toLowerCase()}`,
      body: { stringValue: JSON.stringify(toApiAuditLog(row)) },
      attributes: otlpAttributes(row),
    })),
    host,
  );
}

/** A checkpoint as one OTLP log record (event `perch.audit.checkpoint`, the signed checkpoint as its body). */
export function otlpCheckpointRequest(checkpoint: Checkpoint, host = hostname()) {
  const time = nanos(Date.parse(checkpoint.time));
  return otlpEnvelope([{ timeUnixNano: time, observedTimeUnixNano: time, severityNumber: 9, severityText: 'INFO', eventName: 'perch.audit.checkpoint', body: { stringValue: JSON.stringify(checkpoint) }, attributes: [] }], host);
}

const nanos = (ms: number) => `${BigInt(Math.trunc(ms)) * 1_000_000n}`;

function otlpEnvelope(logRecords: unknown[], host: string) {
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'perch' } },
            { key: 'host.name', value: { stringValue: host } },
          ],
        },
        scopeLogs: [{ scope: { name: 'perch.audit' }, logRecords }],
      },
    ],
  };
}

/** POSTs OTLP/HTTP JSON log records; any 2xx is the acknowledgement (a partial success is not retried, as OTLP says). */
export class OtlpSink implements AuditSink {
  readonly name: string;
  constructor(private readonly config: Extract<SinkConfig, { type: 'otlp' }>, private readonly timeoutMs = 10_000) {
    this.name = config.name ?? `otlp:${printableUrl(config.url)}`;
  }

  send(rows: AuditLogTable[]): Promise<void> {
    return this.post(otlpLogsRequest(rows));
  }

  sendCheckpoint(checkpoint: Checkpoint): Promise<void> {
    return this.post(otlpCheckpointRequest(checkpoint));
  }

  private async post(payload: unknown): Promise<void> {
    const res = await request(this.config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.config.headers },
      body: JSON.stringify(payload),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`${this.name} answered ${res.statusCode}`);
  }

  async close(): Promise<void> {}
}

export function createSink(config: SinkConfig): AuditSink {
  switch (config.type) {
    case 'webhook':
      return new WebhookSink(config);
    case 'file':
      return new FileSink(config);
    case 'syslog':
      return new SyslogSink(config);
    case 'otlp':
      return new OtlpSink(config);
  }
}

export interface ShipperOptions {
  intervalMs?: number;
  batchSize?: number;
  onError?: (sink: string, error: unknown) => void;
}

/** PostgreSQL advisory lock class (first key) for shipping; the second key is the sink's. */
const PG_SHIP_LOCK = 740_216_307;

export class AuditShipper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  /** The error of each sink's last failed delivery, until it succeeds again. */
  readonly failing = new Map<string, unknown>();

  constructor(
    private readonly db: Store,
    readonly sinks: AuditSink[],
    private readonly options: ShipperOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 500;
  }

  /** Ships periodically until `close`. */
  start(): this {
    if (!this.sinks.length || this.timer) return this;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
    void this.runOnce();
    return this;
  }

  /** One pass: every sink, every chain, batch after batch until caught up or the sink fails. */
  runOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await Promise.all(this.sinks.map((sink) => this.shipSink(sink)));
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async shipSink(sink: AuditSink): Promise<void> {
    try {
      if (this.db.getExecutor().adapter instanceof PostgresAdapter) {
        // Replicas share the cursors: one ships to a sink at a time, the others skip this pass.
        const key = Buffer.from(sha256Hex(sink.name), 'hex').readInt32BE(0);
        await this.db.connection().execute(async (conn) => {
          const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${PG_SHIP_LOCK}, ${key}) as locked`.execute(conn);
          if (!rows[0]?.locked) return;
          try {
            await this.deliver(conn, sink);
          } finally {
            await sql`select pg_advisory_unlock(${PG_SHIP_LOCK}, ${key})`.execute(conn);
          }
        });
      } else {
        await this.deliver(this.db, sink);
      }
      this.failing.delete(sink.name);
    } catch (error) {
      this.failing.set(sink.name, error);
      this.options.onError?.(sink.name, error);
    }
  }

  private async deliver(db: Store, sink: AuditSink): Promise<void> {
    const heads = await chainHeads(db);
    const cursors = new Map(
      (await db.selectFrom('audit_ship_cursors').select(['tenant_id', 'last_seq']).where('sink', '=', sink.name).execute()).map((c) => [c.tenant_id, Number(c.last_seq)]),
    );
    for (const head of heads) {
      let cursor = cursors.get(head.tenant_id) ?? 0;
      while (!this.closed && cursor < head.last) {
        const rows = await db
          .selectFrom('audit_log')
          .selectAll()
          .where('tenant_id', '=', head.tenant_id)
          .where('seq', '>', cursor)
          .orderBy('seq', 'asc')
          .limit(this.batchSize)
          .execute();
        if (!rows.length) break;
        const normalized = rows.map((r) => ({ ...r, seq: Number(r.seq), date: Number(r.date) }));
        await sink.send(normalized);
        cursor = normalized[normalized.length - 1]!.seq;
        await this.saveCursor(db, sink.name, head.tenant_id, cursor);
      }
    }
  }

  /** Moves a cursor forward, never back. */
  private async saveCursor(db: Store, sink: string, tenantId: string, lastSeq: number): Promise<void> {
    await db
      .insertInto('audit_ship_cursors')
      .values({ sink, tenant_id: tenantId, last_seq: lastSeq, updated_at: Date.now() })
      .onConflict((oc) => oc.columns(['sink', 'tenant_id']).doUpdateSet({ last_seq: lastSeq, updated_at: Date.now() }).where('audit_ship_cursors.last_seq', '<', lastSeq))
      .execute();
  }

  /** Stops after the batch in flight (its cursor is saved if it was acknowledged). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
    await Promise.all(this.sinks.map((s) => s.close().catch(() => {})));
  }
}

/** The shipper for `audit.sinks` (started; a no-op without sinks). */
export function startShipper(db: Store, config: PerchConfig['audit'], onError: ShipperOptions['onError']): AuditShipper {
  return new AuditShipper(db, config.sinks.map(createSink), { intervalMs: config.shipInterval, batchSize: config.shipBatch, onError }).start();
}
