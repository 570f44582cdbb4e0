import { Pool } from 'undici';
import type { KestraTarget } from './kestra-target.js';

/** Past this an answer Perch reads for itself is refused: every read is bounded. */
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
   * 200 with nothing. `what` names the thing asked for in the error. A `yaml` body makes it a POST.
   */
  async json(path: string, what: string, yaml?: string): Promise<unknown> {
    let res;
    try {
      res = await this.pool.request(
        yaml === undefined
          ? { method: 'GET', path, headers: this.headers }
          : { method: 'POST', path, headers: { ...this.headers, 'content-type': 'application/x-yaml' }, body: yaml },
      );
    } catch (error) {
      throw new KestraReadError(`Kestra could not be asked for ${what} (${codeOf(error)})`);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      if (res.statusCode === 404) return null;
      throw new KestraReadError(`Kestra answered ${res.statusCode} when asked for ${what}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > this.maxAnswerBytes) {
          res.body.destroy();
          throw new KestraReadError(`Kestra's answer for ${what} is over ${this.maxAnswerBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      if (error instanceof KestraReadError) throw error;
      throw new KestraReadError(`Kestra's answer for ${what} was cut (${codeOf(error)})`);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new KestraReadError(`Kestra's answer for ${what} is not JSON`);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
