import type { KeyObject } from 'node:crypto';
import type { Store } from '../store/database.js';
import { appendCheckpoint, headsToSign, readNewestCheckpoint, signCheckpoint, type ChainPin, type Checkpoint, type RefusedHead } from './checkpoint.js';

/** Where a checkpoint goes besides the file: each audit sink (see shipper.ts). */
export interface CheckpointSink {
  readonly name: string;
  sendCheckpoint(checkpoint: Checkpoint): Promise<void>;
}

export interface CheckpointerOptions {
  db: Store;
  key: KeyObject;
  file: string;
  intervalMs: number;
  sinks?: readonly CheckpointSink[];
  onRefused?: (refused: RefusedHead) => void;
  onError?: (where: string, error: unknown) => void;
  now?: () => Date;
}

/**
 * Signs every chain's head at start, every `intervalMs`, and at close (after the log's last batch),
 * into the checkpoint file and to every sink. A sink that fails gets the next one: a newer checkpoint
 * supersedes an older. Reads a few rows per chain per run, never anything on an append.
 */
export class Checkpointer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  /** The pins of the newest checkpoint written or found (null: none yet). */
  private previous: ChainPin[] | null = null;
  private loaded = false;
  private closed = false;

  constructor(private readonly options: CheckpointerOptions) {}

  start(): this {
    void this.run();
    this.timer = setInterval(() => void this.run(), this.options.intervalMs);
    this.timer.unref();
    return this;
  }

  /** One checkpoint, after any other in progress. */
  run(): Promise<void> {
    this.running = this.running.then(() => this.write()).catch((error: unknown) => this.options.onError?.(this.options.file, error));
    return this.running;
  }

  private async write(): Promise<void> {
    const { db, key, file } = this.options;
    if (!this.loaded) {
      const newest = await readNewestCheckpoint(file, key);
      // A newest line the key did not sign is not built upon (verify reports it); the heads are checked afresh.
      if (newest.status === 'signed') this.previous = newest.checkpoint.chains;
      else if (newest.status !== 'missing') this.options.onError?.(file, new Error(`the newest checkpoint in ${file} is ${newest.status === 'forged' ? 'not signed by the audit key' : 'unreadable'}`));
      this.loaded = true;
    }
    const { pins, refused } = await headsToSign(db, key, this.previous);
    for (const r of refused) this.options.onRefused?.(r);
    const checkpoint = signCheckpoint(key, pins, (this.options.now ?? (() => new Date()))());
    await appendCheckpoint(file, checkpoint);
    this.previous = checkpoint.chains;
    await Promise.all(
      (this.options.sinks ?? []).map((sink) => sink.sendCheckpoint(checkpoint).catch((error: unknown) => this.options.onError?.(sink.name, error))),
    );
  }

  /** Stops the timer and writes the last checkpoint (call after the audit log flushed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.run();
  }
}
