import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread with its own better-sqlite3 connection on a database file, for work that must not
 * run on the event loop (a commit's fsync, a WAL checkpoint). `handler` is CommonJS source of a
 * function `(db, options) => (message) => result`: it is called once with the open connection and
 * returns the function that serves each request. Requests are served one at a time and answered in
 * FIFO order; a request that throws is rejected with the error's message (the worker lives on).
 *
 * If the thread fails (an uncaught error, or it exits unasked), every request waiting is rejected,
 * later ones are refused at once, and `onFail` runs: the owner falls back to doing the work itself.
 */
let liveThreads = 0;
/** Worker threads started and not yet exited (each holds its own V8 heap): reported on /perch/metrics. */
export const liveSqliteWorkers = (): number => liveThreads;

export class SqliteWorker {
  private readonly worker: Worker;
  private readonly waiting: { resolve: (value: never) => void; reject: (error: Error) => void }[] = [];
  private state: 'open' | 'failed' | 'closed' = 'open';

  constructor(
    file: string,
    handler: string,
    options: { busyTimeoutMs: number; options?: unknown; onFail?: (error: Error) => void },
  ) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(workerSource(handler), {
      eval: true,
      workerData: { module, file, busyTimeoutMs: options.busyTimeoutMs, options: options.options },
    });
    liveThreads++;
    this.worker.once('exit', () => liveThreads--);
    // The thread keeps the process alive only while a request waits (see `request`).
    this.worker.unref();
    this.worker.on('message', (reply: { result?: unknown; error?: string }) => {
      const next = this.waiting.shift();
      if (!this.waiting.length) this.worker.unref();
      if (!next) return;
      if (reply.error !== undefined) next.reject(new Error(reply.error));
      else next.resolve(reply.result as never);
    });
    const fail = (error: Error) => {
      if (this.state !== 'open') return;
      this.state = 'failed';
      for (const w of this.waiting.splice(0)) w.reject(error);
      options.onFail?.(error);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`The SQLite worker thread exited (code ${code})`)));
  }

  /** False once the thread failed or was closed. */
  get usable(): boolean {
    return this.state === 'open';
  }

  /** Sends a request; resolves with the handler's result, in the order requests were sent. */
  request<T>(message: unknown): Promise<T> {
    if (this.state !== 'open') return Promise.reject(new Error(`The SQLite worker thread is ${this.state}`));
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (value: never) => void, reject });
      this.worker.ref();
      this.worker.postMessage(message);
    });
  }

  /** Lets the requests under way finish, closes the worker's connection and ends the thread (at most ~2 s). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const open = this.state === 'open';
    this.state = 'closed';
    if (open) {
      this.worker.ref();
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage({ close: true });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
      clearTimeout(timer);
    }
    await this.worker.terminate();
    for (const w of this.waiting.splice(0)) w.reject(new Error('The SQLite worker thread was closed'));
  }
}

const workerSource = (handler: string) => `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = ' + Number(workerData.busyTimeoutMs));
const handle = (${handler})(db, workerData.options);
parentPort.on('message', (message) => {
  if (message && message.close === true) {
    db.close();
    parentPort.close();
    return;
  }
  let reply;
  try {
    reply = { result: handle(message) };
  } catch (e) {
    reply = { error: String((e && e.message) || e) };
  }
  parentPort.postMessage(reply);
});
`;
