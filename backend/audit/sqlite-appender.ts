import { SqliteWorker } from '../store/sqlite-worker.js';

/**
 * The audit log's SQLite commits, on a worker thread with its own connection on the database file,
 * so that a commit's fsync (100 ms and more on a stalling disk) never freezes the event loop. The
 * worker only inserts rows the main thread already chained and hashed, each batch in one
 * `BEGIN IMMEDIATE … COMMIT` of prepared single-row inserts, and reads chain heads when asked. Its
 * connection appends nothing but audit rows, so its safety level is set once: FULL fsyncs the WAL at
 * every commit, NORMAL does not (both fsync the database file at a checkpoint). Its automatic
 * checkpoint is off: the database's PASSIVE checkpoints run on this same thread, between batches
 * ({@link SqliteAppender.checkpoint}, asked for by the background checkpointer), which saves a second
 * thread's ~9 MB; {@link SqliteAppender.resumeAutocheckpoint} hands them back to SQLite should that stop.
 */
const HANDLER = `(db, options) => {
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = ' + (options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'));
  db.pragma('wal_autocheckpoint = 0');
  const head = db.prepare('select seq, hash from audit_log where tenant_id = ? order by seq desc limit 1');
  const insert = db.prepare(options.insertSql);
  const insertState = db.prepare('insert into audit_states (entry_id, tenant_id, kind, before, after) values (?, ?, ?, ?, ?)');
  const append = db.transaction((rows, states) => {
    for (const row of rows) insert.run(row);
    for (const state of states) insertState.run(state);
  }).immediate;
  // Batches chained onto one that failed carry its epoch (or an older one): they are refused unwritten.
  let failedEpoch = -1;
  return (request) => {
    switch (request.type) {
      case 'append':
        if (request.epoch <= failedEpoch) throw new Error('An earlier audit batch, which this one is chained onto, failed');
        try {
          append(request.rows, request.states);
        } catch (error) {
          failedEpoch = request.epoch;
          throw error;
        }
        return null;
      case 'heads':
        return request.tenants.map((tenant) => head.get(tenant) || null);
      case 'checkpoint':
        db.pragma('wal_checkpoint(PASSIVE)');
        return null;
      case 'autocheckpoint':
        db.pragma('wal_autocheckpoint = ' + Number(request.pages));
        return null;
      default:
        throw new Error('unknown request ' + request.type);
    }
  };
}`;

/** A committing writer waits this long for the write lock (a transaction on another connection). */
const BUSY_TIMEOUT_MS = 10_000;

export type ChainHead = { seq: number; hash: string };

export class SqliteAppender {
  private readonly worker: SqliteWorker;

  /** `onFail`: the thread died (see SqliteWorker). `insertSql`: a single-row insert into audit_log whose parameters are a row's values in the order `append` gets them. */
  constructor(file: string, options: { insertSql: string; synchronous: 'FULL' | 'NORMAL'; onFail?: (error: Error) => void }) {
    const { onFail, ...handlerOptions } = options;
    this.worker = new SqliteWorker(file, HANDLER, { busyTimeoutMs: BUSY_TIMEOUT_MS, options: handlerOptions, onFail });
  }

  /** False once the thread died: the caller writes on its own connection instead. */
  get usable(): boolean {
    return this.worker.usable;
  }

  /** The last entry of each chain (null: the chain is empty), read outside any transaction. */
  heads(tenants: string[]): Promise<(ChainHead | null)[]> {
    return this.worker.request({ type: 'heads', tenants });
  }

  /**
   * Inserts the rows (values in column order) and their states in one transaction; resolves once it
   * committed. Once a batch failed, every later one of the same or an older `epoch` is refused.
   */
  async append(epoch: number, rows: unknown[][], states: unknown[][]): Promise<void> {
    await this.worker.request({ type: 'append', epoch, rows, states });
  }

  /** One PASSIVE checkpoint of the database file, after the batches sent before it. */
  async checkpoint(): Promise<void> {
    await this.worker.request({ type: 'checkpoint' });
  }

  /** Automatic checkpoints back on: the background checkpointer is gone. */
  resumeAutocheckpoint(): void {
    if (this.worker.usable) this.worker.request({ type: 'autocheckpoint', pages: 1000 }).catch(() => {});
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
