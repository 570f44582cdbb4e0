import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * crosses 1,000 WAL pages, on the committing connection: with better-sqlite3 that is the event
 * loop, stalled for the copy and the fsync of the database file (several ms every ~1,000 audit
 * entries, which is what a write's p99 latency felt). Instead, the automatic checkpoint is turned
 * off on Perch's connection and a worker thread, on its own connection, runs PASSIVE checkpoints
 * when asked and every few seconds. A PASSIVE checkpoint never blocks the writer; SQLite restarts
 * the WAL from its start once everything in it is checkpointed. Durability is unchanged: commits
 * are durable in the WAL (fsynced at each commit under synchronous=FULL), and the worker's
 * connection, at synchronous=FULL, fsyncs the database file before the WAL may be reused.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma('synchronous = FULL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let error = null;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    error = String(e && e.message || e);
  }
  parentPort.postMessage({ error });
});
`;

/** Ask for a checkpoint at most this often when nothing else asks. */
const PERIOD_MS = 5_000;

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private busy = false;
  private again = false;
  private failed = false;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly raw: SqliteDatabase.Database) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, file: raw.name } });
    this.worker.unref();
    this.worker.on('message', (message: { error: string | null }) => {
      this.busy = false;
      if (message.error) this.fallBack();
      else if (this.again) this.request();
    });
    this.worker.on('error', () => this.fallBack());
    this.worker.on('exit', () => this.fallBack());
    this.timer = setInterval(() => this.request(), PERIOD_MS);
    this.timer.unref();
    raw.pragma('wal_autocheckpoint = 0');
  }

  /** A checkpointer for this connection's file, or null (in-memory or not in WAL mode). */
  static start(raw: SqliteDatabase.Database): BackgroundCheckpointer | null {
    if (raw.memory || String(raw.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return null;
    return new BackgroundCheckpointer(raw);
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
    this.worker.postMessage('checkpoint');
  }

  /** Hands checkpoints back to SQLite on the main connection. */
  private fallBack(): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    clearInterval(this.timer);
    if (this.raw.open) this.raw.pragma('wal_autocheckpoint = 1000');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.raw.open) this.raw.pragma('wal_autocheckpoint = 1000');
    if (!this.failed) {
      // Let the worker finish a checkpoint under way and close its connection; the process waits for it.
      this.worker.ref();
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage('close');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }
}
