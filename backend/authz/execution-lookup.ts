import { Pool } from 'undici';

/** An execution's namespace never changes, so answers are kept; the cap bounds memory. */
const MAX_ENTRIES = 50_000;

export class KestraLookupError extends Error {}

/**
 * Finds which namespace an execution belongs to by asking Kestra with Perch's own account:
 * the only way for routes that name an execution id alone. Concurrent asks for one id share a
 * request; failures are never cached and never read as "allowed".
 */
export class ExecutionNamespaceLookup {
  private readonly known = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string | null>>();
  private readonly pool: Pool;

  constructor(
    kestraUrl: string,
    private readonly authorization: string | undefined,
    timeoutMs: number,
  ) {
    this.pool = new Pool(new URL(kestraUrl).origin, { connections: 16, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  /** The namespace, or null when Kestra has no such execution. */
  async namespaceOf(executionId: string): Promise<string | null> {
    const cached = this.known.get(executionId);
    if (cached !== undefined) return cached;
    let ask = this.pending.get(executionId);
    if (!ask) {
      ask = this.ask(executionId).finally(() => this.pending.delete(executionId));
      this.pending.set(executionId, ask);
    }
    return ask;
  }

  private async ask(executionId: string): Promise<string | null> {
    let res;
    try {
      res = await this.pool.request({
        method: 'GET',
        path: `/api/v1/main/executions/${encodeURIComponent(executionId)}`,
        headers: this.authorization ? { authorization: this.authorization, accept: 'application/json' } : { accept: 'application/json' },
      });
    } catch (error) {
      throw new KestraLookupError(`Kestra could not be asked which namespace execution ${executionId} belongs to (${(error as { code?: string }).code ?? (error as Error).message})`);
    }
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new KestraLookupError(`Kestra answered ${res.statusCode} when asked about execution ${executionId}`);
    }
    const body = (await res.body.json()) as { namespace?: unknown };
    if (typeof body.namespace !== 'string') throw new KestraLookupError(`Kestra's answer for execution ${executionId} names no namespace`);
    if (this.known.size >= MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
    this.known.set(executionId, body.namespace);
    return body.namespace;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
