import type SqliteDatabase from 'better-sqlite3';

/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * crosses 1,000 WAL pages, on the committing connection: with better-sqlite3 that is the event
 * loop, stalled for the copy and the fsync of the database file (several ms every ~1,000 audit
 * entries, which is what a write's p99 latency felt). Instead, the automatic checkpoint is turned
 * off on Perch's connections and a worker thread, on its own connection, runs PASSIVE checkpoints
 * when asked and every few seconds: the audit log's commit thread, between its batches (a thread of
 * its own cost ~9 MB RSS). A PASSIVE checkpoint never blocks the writer; SQLite restarts the WAL
 * from its start once everything in it is checkpointed. Durability is unchanged: commits are durable
 * in the WAL (fsynced at each commit under synchronous=FULL), and the thread's connection, at
 * synchronous FULL or NORMAL, fsyncs the database file before the WAL may be reused.
 */
/** Ask for a checkpoint at most this often when nothing else asks. */
const PERIOD_MS = 5_000;

/**
 * Runs `wal_checkpoint(PASSIVE)` on another thread's connection to the same file (the audit log's
 * commit thread: one thread for both, see SqliteAppender), resolving once done.
 */
export type CheckpointRunner = () => Promise<void>;

export class BackgroundCheckpointer {
  private busy = false;
  private again = false;
  private failed = false;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly raw: SqliteDatabase.Database,
    private readonly runCheckpoint: CheckpointRunner,
    private readonly onFallBack: () => void,
  ) {
    this.timer = setInterval(() => this.request(), PERIOD_MS);
    this.timer.unref();
    raw.pragma('wal_autocheckpoint = 0');
  }

  /**
   * A checkpointer for this connection's file, or null (in-memory or not in WAL mode). `onFallBack`
   * runs if a checkpoint fails (the thread died): whoever else writes the file with automatic
   * checkpoints off (the audit log's appender) must turn them back on, or the WAL grows without bound.
   */
  static start(raw: SqliteDatabase.Database, runCheckpoint: CheckpointRunner, options: { onFallBack?: () => void } = {}): BackgroundCheckpointer | null {
    if (!isWalFile(raw)) return null;
    return new BackgroundCheckpointer(raw, runCheckpoint, options.onFallBack ?? (() => {}));
  }

  /** False once checkpoints went back to SQLite (the worker failed, or the checkpointer was closed). */
  get running(): boolean {
    return !this.failed && !this.closed;
  }

  /** Checkpoints soon, off the event loop (coalesced with one under way). */
  request(): void {
    if (this.closed || this.failed) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.again = false;
    this.runCheckpoint().then(
      () => {
        this.busy = false;
        if (this.again) this.request();
      },
      () => this.fallBack(),
    );
  }

  /** Hands checkpoints back to SQLite on the main connection (and the other writers'): the thread died. */
  fallBack(): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    clearInterval(this.timer);
    if (this.raw.open) this.raw.pragma('wal_autocheckpoint = 1000');
    this.onFallBack();
  }

  /** Hands checkpoints back to SQLite (the thread's owner closes it, letting a checkpoint under way finish). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.raw.open) this.raw.pragma('wal_autocheckpoint = 1000');
  }
}

/** A file database in WAL mode: what a second connection (a worker thread's) can share. */
export function isWalFile(raw: SqliteDatabase.Database): boolean {
  return !raw.memory && String(raw.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
}
