import { Pool, type Dispatcher } from 'undici';
import type { KestraTarget } from './kestra-target.js';

/** Past this a JSON answer Perch reads for itself is refused: every read is bounded (a streamed one by what its caller keeps). */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Kestra could not tell: unreachable, an unexpected status, too large or not JSON. Never read as "allowed". */
export class KestraReadError extends Error {}

const codeOf = (error: unknown) => (error as { code?: string }).code ?? (error as Error).message;

/** What is read of an answer that is not a 200 before the connection is dropped instead (undici's `dump()` default). */
const MAX_DISCARDED_BYTES = 128 * 1024;

/**
 * One read, as undici's dispatch callbacks: the body goes chunk by chunk to `take` without a stream,
 * an async iterator and a promise per chunk in between (what `pool.request` builds for every call;
 * a change through the proxy makes two of these reads, the states before and after).
 */
class ReadCall implements Dispatcher.DispatchHandler {
  private abort: ((reason?: Error) => void) | null = null;
  private status = 0;
  private discarded = 0;
  private done = false;

  constructor(
    private readonly what: string,
    private readonly take: (chunk: Buffer) => void,
    private readonly resolve: (found: boolean) => void,
    private readonly reject: (error: KestraReadError) => void,
  ) {}

  onConnect(abort: (reason?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return false;
    if (this.status !== 200) {
      // Read to its end so the connection is kept, unless there is too much of it.
      this.discarded += chunk.length;
      if (this.discarded > MAX_DISCARDED_BYTES) this.settle(this.status === 404 ? null : this.statusError(), true);
      return true;
    }
    try {
      this.take(chunk);
    } catch (error) {
      this.settle(error instanceof KestraReadError ? error : this.cut(error), true);
      return false;
    }
    return true;
  }

  onComplete(): void {
    if (this.status === 200) this.settle(null);
    else if (this.status === 404) this.settle(null);
    else this.settle(this.statusError());
  }

  onError(error: Error): void {
    if (this.status === 0) this.settle(new KestraReadError(`Kestra could not be asked for ${this.what} (${codeOf(error)})`));
    // Another status's answer breaking off changes nothing: Kestra said what it had to say in its status.
    else if (this.status !== 200) this.settle(this.status === 404 ? null : this.statusError());
    else this.settle(this.cut(error));
  }

  private statusError(): KestraReadError {
    return new KestraReadError(`Kestra answered ${this.status} when asked for ${this.what}`);
  }

  private cut(error: unknown): KestraReadError {
    return new KestraReadError(`Kestra's answer for ${this.what} was cut (${codeOf(error)})`);
  }

  /** Resolves (null: found when a 200, none when a 404) or rejects once; `abort` drops the rest of the answer. */
  private settle(error: KestraReadError | null, abort = false): void {
    if (this.done) return;
    this.done = true;
    if (abort) this.abort?.(error ?? undefined);
    if (error) this.reject(error);
    else this.resolve(this.status === 200);
  }
}

/**
 * Perch's own calls to one Kestra, with Perch's own account: the execution and dashboard lookups of
 * the authorizer, the lists it pages, the states before a change, the copilot's plugin list and flow
 * checks. One bounded pool for all of them (the forwarded calls have their own, forward.ts).
 */
export class KestraReader {
  readonly pool: Pool;
  /** Sent with every read: Perch's account (when configured) and JSON. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    target: Pick<KestraTarget, 'origin' | 'authorization' | 'timeout'>,
    private readonly maxAnswerBytes = MAX_ANSWER_BYTES,
    connections = 16,
  ) {
    this.pool = new Pool(target.origin, { connections, headersTimeout: target.timeout, bodyTimeout: target.timeout });
    this.headers = { accept: 'application/json', ...(target.authorization ? { authorization: target.authorization } : {}) };
  }

  /**
   * Kestra's JSON answer to `path`: null when Kestra has no such thing (404), undefined when it answered
   * 200 with nothing. `what` names the thing asked for in the error. A `yaml` body makes it a POST;
   * `maxBytes` lowers the answer's bound for a caller that keeps less (never above the pool's).
   */
  async json(path: string, what: string, options: { yaml?: string; maxBytes?: number } = {}): Promise<unknown> {
    const { yaml } = options;
    const maxBytes = Math.min(options.maxBytes ?? this.maxAnswerBytes, this.maxAnswerBytes);
    const chunks: Buffer[] = [];
    let size = 0;
    const found = await this.answer(
      yaml === undefined
        ? { method: 'GET', path, headers: this.headers }
        : { method: 'POST', path, headers: { ...this.headers, 'content-type': 'application/x-yaml' }, body: yaml },
      what,
      (chunk) => {
        size += chunk.length;
        if (size > maxBytes) throw new KestraReadError(`Kestra's answer for ${what} is over ${maxBytes} bytes`);
        chunks.push(chunk);
      },
    );
    if (!found) return null;
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new KestraReadError(`Kestra's answer for ${what} is not JSON`);
    }
  }

  /**
   * Kestra's answer to a GET of `path`, chunk by chunk to `take`, whatever its type: false when Kestra
   * has no such thing (404). `take` bounds what it keeps (a namespace file: its digest past a size);
   * a KestraReadError it throws ends the read.
   */
  stream(path: string, what: string, take: (chunk: Buffer) => void): Promise<boolean> {
    return this.answer({ method: 'GET', path, headers: this.headers }, what, take);
  }

  /** A 200's body to `take`; false on 404; KestraReadError for any other status or a failed exchange. */
  private answer(request: Dispatcher.DispatchOptions, what: string, take: (chunk: Buffer) => void): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const call = new ReadCall(what, take, resolve, reject);
      try {
        this.pool.dispatch(request, call);
      } catch (error) {
        call.onError(error as Error);
      }
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
