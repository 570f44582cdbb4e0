import { randomUUID, type KeyObject } from 'node:crypto';
import { CompiledQuery, sql, type Transaction } from 'kysely';
import type { Resource } from '../../lib/authz/catalogue.js';
import { INSTANCE_CHAIN, type ActorType, type AuditAction, type AuditOutcome } from '../../lib/schemas/audit.js';
import { BackgroundCheckpointer, isWalFile } from '../store/checkpointer.js';
import type { OpenStore } from '../store/database.js';
import type { AuditLogTable, Database } from '../store/schema.js';
import { canonicalJson, entryHash, entryMac, GENESIS_HASH, type UnhashedRow } from './chain.js';
import { redact } from './redact.js';
import { SqliteAppender } from './sqlite-appender.js';
import { sha256Hex } from '../crypto/sha256.js';

/** What a caller hands to `record`: the chain position, id, date and hashes are the log's business. */
export interface AuditEntry {
  /** null or omitted: the instance-wide chain. */
  tenantId?: string | null;
  actor: { type: ActorType; id?: string | null; email?: string | null; impersonatedBy?: string | null };
  action: AuditAction;
  resourceType: Resource;
  resourceId?: string | null;
  namespace?: string | null;
  requestId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  outcome?: AuditOutcome;
  upstreamStatus?: number | null;
  /** Redacted before it is stored. */
  details?: Record<string, unknown>;
  /** Defaults to now. */
  date?: number;
  /**
   * The state before and after the change (a flow's source), stored beside the entry in
   * `audit_states`, in the same transaction; their SHA-256 digests go into the details (and the chain).
   */
  states?: { kind: string; before: string | null; after: string | null };
}

const sha256 = (text: string | null) => (text === null ? null : sha256Hex(text));

export interface AuditLogOptions {
  /** How long the first entry of a batch waits for company when the log is idle (ms; 0: the end of the current event-loop turn). */
  delayMs?: number;
  /** At most this many entries per transaction. */
  maxBatch?: number;
  /**
   * SQLite only: `FULL` fsyncs the WAL at each audit commit, so an acknowledged entry survives a power
   * loss too; `NORMAL` (Perch's default for everything else) survives a killed process (kill -9), since
   * a committed WAL frame is in the OS page cache, but not a power cut. Default FULL.
   */
  sqliteSync?: 'FULL' | 'NORMAL';
  /**
   * The audit key (audit-key.ts): every entry is linked with HMAC-SHA256 under it. Perch always gives
   * one; without it (tools, tests of the old format) entries get the plain SHA-256 link.
   */
  key?: KeyObject;
  now?: () => number;
  /** Told how long each batch took from being taken off the queue to its commit (seconds): the metrics' commit latency. */
  onCommitted?: (seconds: number) => void;
}

interface Pending {
  /** Its seq, prev_hash and hash are set when it is chained (again, if its batch is retried). */
  row: AuditLogTable;
  resolve: (row: AuditLogTable) => void;
  reject: (error: unknown) => void;
}

export interface PurgeResult {
  tenantId: string;
  count: number;
  firstKeptSeq: number;
  lastPurgedHash: string;
}

/** PostgreSQL advisory lock key serializing audit writers across replicas. */
const PG_AUDIT_LOCK = 7_402_163_006;
/** 400 rows × 20 columns stays under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 400;
const COLUMNS = [
  'tenant_id', 'seq', 'id', 'date', 'actor_type', 'actor_id', 'actor_email', 'impersonated_by', 'action', 'resource_type',
  'resource_id', 'namespace', 'request_id', 'ip', 'user_agent', 'outcome', 'upstream_status', 'details', 'prev_hash', 'hash',
] as const satisfies ReadonlyArray<keyof AuditLogTable>;
const INSERT_ONE = `insert into audit_log (${COLUMNS.join(',')}) values (${COLUMNS.map(() => '?').join(',')})`;
/**
 * An idle pipeline takes a queue of at least this many entries in two halves, so that the second is
 * chained on the main thread while the first commits. (Appender batches are always pipelined, two
 * deep: what arrives while a batch commits is sent behind it at once, so its commit follows on the
 * thread without waiting for the first one's answer to reach a main thread that may be paused.)
 */
const LONG_QUEUE = 200;
/** About 600 WAL pages of audit rows and their indexes: near SQLite's own 1,000-page threshold. */
const CHECKPOINT_ROWS = 500;
const clip = (text: string | null | undefined, max: number) => (text == null ? null : text.length > max ? text.slice(0, max) : text);

type Trx = Transaction<Database>;
type Heads = Map<string, { seq: number; hash: string }>;

/**
 * The append-only audit log with group commit: entries queue in memory and are written together in
 * one transaction a few milliseconds later (or at once when `maxBatch` wait); each `record` resolves
 * only once the transaction holding its entry committed, so an acknowledged entry is a stored one.
 *
 * Chains: on SQLite (one writer process) the head of each chain is read once and then kept in memory;
 * a batch that collides with another writer (`perch audit purge` from the CLI) drops the cache and is
 * retried once. On PostgreSQL, replicas share the chains: every batch takes an advisory lock and reads
 * the heads it needs inside its transaction.
 *
 * Commits: on a SQLite file (WAL) a worker thread commits each batch on its own connection
 * ({@link SqliteAppender}), so the event loop (every proxied read) never waits for a commit's fsync;
 * only the `record` calls of that batch do. Elsewhere (PostgreSQL, in-memory SQLite, or if that
 * thread died) a batch is one Kysely transaction.
 */
export class AuditLog {
  private queue: Pending[] = [];
  /** Entries taken off the queue whose batch is not yet acknowledged. */
  private inFlight = 0;
  private scheduled = false;
  /** Batches taken from the queue and not yet acknowledged. */
  private readonly batches = new Set<Promise<void>>();
  /** Serializes purges, Kysely batches and the chaining (not the commit) of appender batches. */
  private writing: Promise<void> = Promise.resolve();
  /** Appender batches sent and not yet committed: what a purge or a Kysely batch waits for first. */
  private readonly commits = new Set<Promise<unknown>>();
  /**
   * Bumped when an appender batch fails: batches chained before that on its (now void) heads carry
   * the old epoch, and the appender refuses them, so nothing lands on a link that was never written.
   */
  private epoch = 0;
  private heads: Heads = new Map();
  /** Before/after states of queued rows, inserted with them. */
  private readonly states = new WeakMap<Pending['row'], NonNullable<AuditEntry['states']>>();
  private readonly delayMs: number;
  private readonly maxBatch: number;
  private readonly sqliteSync: 'FULL' | 'NORMAL';
  private readonly now: () => number;
  private readonly onCommitted: ((seconds: number) => void) | undefined;
  /** The link of a row: keyed with the audit key when there is one. */
  private readonly link: (row: UnhashedRow) => string;
  private closed = false;

  constructor(
    private readonly store: OpenStore,
    options: AuditLogOptions = {},
  ) {
    this.delayMs = options.delayMs ?? 0;
    this.maxBatch = options.maxBatch ?? 5000;
    this.sqliteSync = options.sqliteSync ?? 'FULL';
    this.now = options.now ?? Date.now;
    this.onCommitted = options.onCommitted;
    const key = options.key;
    this.link = key ? (row) => entryMac(row, key) : entryHash;
  }

  /** Queues an entry; resolves with the stored row once its batch committed, rejects if it could not be. */
  record(entry: AuditEntry): Promise<AuditLogTable> {
    if (this.closed) return Promise.reject(new Error('The audit log is closed'));
    const states = entry.states;
    // redact returns a copy: the states' digests go into it, not into the caller's object.
    const redacted = redact(entry.details ?? {}) as Record<string, unknown>;
    if (states) redacted.states = { kind: states.kind, before: sha256(states.before), after: sha256(states.after) };
    const details = canonicalJson(redacted);
    const date = entry.date ?? this.now();
    const row: Pending['row'] = {
      tenant_id: entry.tenantId ?? INSTANCE_CHAIN,
      id: timeOrderedUuid(date),
      date,
      actor_type: entry.actor.type,
      actor_id: entry.actor.id ?? null,
      actor_email: clip(entry.actor.email, 320),
      impersonated_by: entry.actor.impersonatedBy ?? null,
      action: entry.action,
      resource_type: entry.resourceType,
      resource_id: clip(entry.resourceId, 500),
      namespace: clip(entry.namespace, 150),
      request_id: clip(entry.requestId, 64),
      ip: clip(entry.ip, 64),
      user_agent: clip(entry.userAgent, 500),
      outcome: entry.outcome ?? 'SUCCESS',
      upstream_status: entry.upstreamStatus ?? null,
      details,
      seq: 0,
      prev_hash: '',
      hash: '',
    };
    if (states) this.states.set(row, states);
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.kick();
    });
  }

  /** Entries recorded and not yet committed (queued, or in a batch being written). */
  get backlog(): number {
    return this.queue.length + this.inFlight;
  }

  /** Writes whatever is queued and waits until it is stored. */
  async flush(): Promise<void> {
    while (this.queue.length || this.batches.size) {
      this.drain();
      await Promise.all(this.batches);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.checkpointer?.close();
    await this.appender?.close();
  }

  /**
   * Deletes every entry dated before `before` (a prefix of each chain) and appends, in the same
   * transaction, a purge entry holding the hash of the last deleted one, so the chain still verifies.
   */
  purge(before: number, actor: AuditEntry['actor'] = { type: 'SYSTEM', id: 'perch' }, olderThan?: string): Promise<PurgeResult[]> {
    return this.exclusive(async () => {
      const results: PurgeResult[] = [];
      await this.transact(async (trx, heads) => {
        const cutoffs = await trx
          .selectFrom('audit_log')
          .select(['tenant_id', (eb) => eb.fn.max('seq').as('last')])
          .where('date', '<', before)
          .groupBy('tenant_id')
          .execute();
        for (const { tenant_id: tenantId, last } of cutoffs) {
          const lastSeq = Number(last);
          const lastPurged = await trx.selectFrom('audit_log').select('hash').where('tenant_id', '=', tenantId).where('seq', '=', lastSeq).executeTakeFirstOrThrow();
          // The chain's head before deleting: the purge entry follows it even when every entry goes.
          const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).where('tenant_id', '=', tenantId).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
          heads.set(tenantId, { seq: Number(head.seq), hash: head.hash });
          await trx
            .deleteFrom('audit_states')
            .where('entry_id', 'in', trx.selectFrom('audit_log').select('id').where('tenant_id', '=', tenantId).where('seq', '<=', lastSeq))
            .execute();
          const deleted = await trx.deleteFrom('audit_log').where('tenant_id', '=', tenantId).where('seq', '<=', lastSeq).executeTakeFirst();
          const count = Number(deleted.numDeletedRows);
          const result = { tenantId, count, firstKeptSeq: lastSeq + 1, lastPurgedHash: lastPurged.hash };
          results.push(result);
          const date = this.now();
          const row: Pending['row'] = {
            tenant_id: tenantId, id: timeOrderedUuid(date), date, actor_type: actor.type, actor_id: actor.id ?? null, actor_email: actor.email ?? null,
            impersonated_by: null, action: 'DELETE', resource_type: 'AUDITLOG', resource_id: null, namespace: null, request_id: null, ip: null,
            user_agent: null, outcome: 'SUCCESS', upstream_status: null,
            details: canonicalJson({ purge: true, olderThan: olderThan ?? null, before: new Date(before).toISOString(), count, firstKeptSeq: result.firstKeptSeq, lastPurgedHash: result.lastPurgedHash }),
            seq: 0, prev_hash: '', hash: '',
          };
          await this.appendRows(trx, heads, [row], { keepHeads: true });
        }
      });
      return results;
    });
  }

  /**
   * Group commit: when idle, the first entry waits `delayMs` (or the end of the current turn of the
   * event loop) for company; while as many batches as the pipeline holds are being written, newer
   * entries wait and form the next one.
   */
  private kick(): void {
    if (this.scheduled || this.batches.size >= this.pipelineDepth()) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.drain();
    };
    if (this.delayMs > 0) setTimeout(go, this.delayMs);
    else setImmediate(go);
  }

  private drain(): void {
    const depth = this.pipelineDepth();
    while (this.queue.length && this.batches.size < depth) {
      // An idle pipeline takes a long queue in two halves: the second is chained while the first commits.
      const size = this.batches.size === 0 && depth > 1 && this.queue.length >= LONG_QUEUE ? Math.ceil(this.queue.length / 2) : this.maxBatch;
      const written = this.writeBatch(this.queue.splice(0, Math.min(size, this.maxBatch))).finally(() => {
        this.batches.delete(written);
        this.drain();
      });
      this.batches.add(written);
    }
  }

  /** Batches written at once: two with the appender thread (one commits while the other waits in its queue), else one. */
  private pipelineDepth(): number {
    return this.appender?.usable ? 2 : 1;
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    this.inFlight += batch.length;
    const started = performance.now();
    let committed: boolean;
    try {
      committed = await this.writeBatchRows(batch);
    } finally {
      this.inFlight -= batch.length;
    }
    if (committed) this.onCommitted?.((performance.now() - started) / 1000);
  }

  /** Writes a batch and settles its entries' promises; false when it could not be stored. */
  private async writeBatchRows(batch: Pending[]): Promise<boolean> {
    let rows: AuditLogTable[];
    try {
      rows = await this.writeRows(batch.map((p) => p.row));
    } catch {
      // Another writer moved a chain, the batch this one was chained onto failed, or the database
      // hiccuped: the heads are read again, once more.
      try {
        rows = await this.writeRows(batch.map((p) => p.row));
      } catch (error) {
        for (const p of batch) p.reject(error);
        return false;
      }
    }
    batch.forEach((p, i) => p.resolve(rows[i]!));
    return true;
  }

  /** Runs `task` after every earlier batch or purge. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writing.then(task);
    this.writing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Chains and sends the rows in turn with other batches; resolves once they committed. */
  private async writeRows(rows: Pending['row'][]): Promise<AuditLogTable[]> {
    const sent = await this.exclusive(async () => {
      const appender = this.sqliteAppender();
      if (appender?.usable) return this.sendOffThread(appender, rows);
      // A Kysely batch holds its turn until it committed.
      const stored = await this.transact((trx, heads) => this.appendRows(trx, heads, rows));
      return { committed: Promise.resolve(stored) };
    });
    return sent.committed;
  }

  /** SQLite on a WAL file: commits on a worker thread; WAL checkpoints on the same, asked for every {@link CHECKPOINT_ROWS} rows. */
  private appender?: SqliteAppender | null;
  private checkpointer?: BackgroundCheckpointer | null;
  private rowsSinceCheckpoint = 0;

  /** Started with the first batch (the tables exist by then); null: in-memory SQLite, not WAL, or PostgreSQL. */
  private sqliteAppender(): SqliteAppender | null {
    if (this.appender !== undefined) return this.appender;
    const raw = this.store.sqlite;
    if (!raw || this.closed || !isWalFile(raw)) return (this.appender = null);
    // Should the thread die, this connection (which then writes the entries) checkpoints again itself.
    const appender = new SqliteAppender(raw.name, { insertSql: INSERT_ONE, synchronous: this.sqliteSync, onFail: () => this.checkpointer?.fallBack() });
    this.appender = appender;
    this.checkpointer = BackgroundCheckpointer.start(raw, () => appender.checkpoint(), { onFallBack: () => appender.resumeAutocheckpoint() });
    return appender;
  }

  /**
   * SQLite's group commit. The chain links are computed here, on the heads this log keeps (the
   * worker reads a missing one), and the heads move at once, so the next batch is chained while this
   * one commits; the worker only inserts the hashed rows in one `BEGIN IMMEDIATE` transaction and
   * answers once it committed. Nothing of the commit runs on the event loop. If the commit fails,
   * the heads are dropped and the epoch moves on: the worker refuses the batches chained onto this
   * one, and every retry reads the heads again (after those refusals, in the worker's order).
   */
  private async sendOffThread(appender: SqliteAppender, rows: Pending['row'][]): Promise<{ committed: Promise<AuditLogTable[]> }> {
    // A failure seen while the heads were read may have dropped others: read until none is missing.
    for (let missing = missingChains(this.heads, rows); missing.length; missing = missingChains(this.heads, rows)) {
      const found = await appender.heads(missing);
      missing.forEach((tenant, i) => this.heads.set(tenant, headOf(found[i])));
    }
    const epoch = this.epoch;
    const out = this.chain(this.heads, rows);
    const states = this.statesOf(rows).map((s) => [s.entry_id, s.tenant_id, s.kind, s.before, s.after]);
    const committed = appender.append(epoch, out.map((row) => COLUMNS.map((c) => row[c])), states).then(
      () => {
        this.rowsSinceCheckpoint += rows.length;
        if (this.rowsSinceCheckpoint >= CHECKPOINT_ROWS) {
          this.rowsSinceCheckpoint = 0;
          this.checkpointer?.request();
        }
        return out;
      },
      (error: unknown) => {
        if (epoch === this.epoch) {
          this.epoch++;
          this.heads.clear();
        }
        throw error;
      },
    );
    this.commits.add(committed);
    const settled = () => void this.commits.delete(committed);
    committed.then(settled, settled);
    return { committed };
  }

  /**
   * Links rows to the end of their chains (seq, prev_hash, and the hash over both and the row),
   * moving `heads`, which must hold every chain the rows are in. The rows are linked where they are:
   * a copy of each was most of the garbage an audited write made.
   */
  private chain(heads: Heads, rows: Pending['row'][]): AuditLogTable[] {
    for (const row of rows) {
      const head = heads.get(row.tenant_id)!;
      row.seq = head.seq + 1;
      row.prev_hash = head.hash;
      row.hash = this.link(row);
      heads.set(row.tenant_id, { seq: row.seq, hash: row.hash });
    }
    return rows;
  }

  private statesOf(rows: Pending['row'][]) {
    return rows.flatMap((row) => {
      const state = this.states.get(row);
      return state ? [{ entry_id: row.id, tenant_id: row.tenant_id, kind: state.kind, before: state.before, after: state.after }] : [];
    });
  }

  /** Inserts rows at the end of their chains through Kysely, moving the working copy of the heads. */
  private async appendRows(trx: Trx, heads: Heads, rows: Pending['row'][], options: { keepHeads?: boolean } = {}): Promise<AuditLogTable[]> {
    // PostgreSQL replicas share the chains: their heads are read under the lock at every batch.
    for (const tenant of missingChains(heads, rows, this.store.dialect === 'postgres' && !options.keepHeads)) {
      const last = await trx.selectFrom('audit_log').select(['seq', 'hash']).where('tenant_id', '=', tenant).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      heads.set(tenant, headOf(last));
    }
    const out = this.chain(heads, rows);
    for (let i = 0; i < out.length; i += INSERT_CHUNK) {
      const chunk = out.slice(i, i + INSERT_CHUNK);
      await trx.executeQuery(CompiledQuery.raw(this.insertSql(chunk.length), chunk.flatMap((row) => COLUMNS.map((c) => row[c]))));
    }
    const states = this.statesOf(rows);
    for (let i = 0; i < states.length; i += 100) await trx.insertInto('audit_states').values(states.slice(i, i + 100)).execute();
    return out;
  }

  private readonly insertTexts = new Map<number, string>();

  /** A multi-row INSERT, built once per row count: the query builder costs more than the write itself. */
  private insertSql(rows: number): string {
    let text = this.insertTexts.get(rows);
    if (text) return text;
    let n = 0;
    const placeholder = this.store.dialect === 'postgres' ? () => `$${++n}` : () => '?';
    const tuples = Array.from({ length: rows }, () => `(${COLUMNS.map(placeholder).join(',')})`);
    text = `insert into audit_log (${COLUMNS.join(',')}) values ${tuples.join(',')}`;
    this.insertTexts.set(rows, text);
    return text;
  }

  /**
   * One audit transaction on a working copy of the chain heads, adopted only once it committed (and
   * dropped on failure, so the next batch reads them again). Serialized across replicas by an advisory
   * lock on PostgreSQL; fsynced on SQLite when `sqliteSync` is FULL.
   */
  private async transact<T>(work: (trx: Trx, heads: Heads) => Promise<T>): Promise<T> {
    // Appender batches still committing may yet fail and void the heads they moved.
    while (this.commits.size) await Promise.allSettled(this.commits);
    return this.withHeads(async (heads) => {
      if (this.store.dialect === 'postgres') {
        return this.store.db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(${PG_AUDIT_LOCK})`.execute(trx);
          return work(trx, heads);
        });
      }
      return this.store.db.connection().execute(async (conn) => {
        // The safety level cannot change inside a transaction: set it around this one.
        if (this.sqliteSync === 'FULL') await sql`pragma synchronous = FULL`.execute(conn);
        try {
          return await conn.transaction().execute((trx) => work(trx, heads));
        } finally {
          if (this.sqliteSync === 'FULL') await sql`pragma synchronous = NORMAL`.execute(conn);
        }
      });
    });
  }

  /**
   * Runs `work` on a working copy of the chain heads, adopted only if it succeeds; on failure the
   * heads are dropped, so the next attempt reads them again.
   */
  private async withHeads<T>(work: (heads: Heads) => Promise<T>): Promise<T> {
    const heads: Heads = new Map(this.heads);
    let result: T;
    try {
      result = await work(heads);
    } catch (error) {
      this.heads.clear();
      throw error;
    }
    this.heads = heads;
    return result;
  }
}

/** The chains of `rows` whose head is not in `heads` (all of them with `all`). */
function missingChains(heads: Heads, rows: Pending['row'][], all = false): string[] {
  return [...new Set(rows.map((r) => r.tenant_id))].filter((t) => all || !heads.has(t));
}

/**
 * A UUID version 7 (RFC 9562): the entry's millisecond, then Node's random bits. Ids that grow with
 * time land at the end of the unique index on `id`, where a random UUID dirties a page of it per row.
 */
function timeOrderedUuid(millis: number): string {
  const time = Math.max(0, Math.trunc(millis)).toString(16).padStart(12, '0').slice(-12);
  // randomUUID() is xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: its version digit is at index 14.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

const headOf = (last: { seq: number | string; hash: string } | null | undefined) => (last ? { seq: Number(last.seq), hash: last.hash } : { seq: 0, hash: GENESIS_HASH });
