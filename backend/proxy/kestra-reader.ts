import { Pool, type Dispatcher } from 'undici';
import type { KestraTarget } from './kestra-target.js';

/** Past this a JSON answer Perch reads for itself is refused: every read is bounded (a streamed one by what its caller keeps). */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Kestra could not tell: unreachable, an unexpected status, too large or not JSON. Never read as "allowed". */
export class KestraReadError extends Error {}

const codeOf = (error: unknown) => (error as { code?: string }).code ?? (error as Error).message;

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
  private async answer(request: Dispatcher.RequestOptions, what: string, take: (chunk: Buffer) => void): Promise<boolean> {
    let res;
    try {
      res = await this.pool.request(request);
    } catch (error) {
      throw new KestraReadError(`Kestra could not be asked for ${what} (${codeOf(error)})`);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      if (res.statusCode === 404) return false;
      throw new KestraReadError(`Kestra answered ${res.statusCode} when asked for ${what}`);
    }
    try {
      for await (const chunk of res.body) take(chunk as Buffer);
    } catch (error) {
      res.body.destroy();
      if (error instanceof KestraReadError) throw error;
      throw new KestraReadError(`Kestra's answer for ${what} was cut (${codeOf(error)})`);
    }
    return true;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
