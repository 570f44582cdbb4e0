import { KestraReadError, type KestraReader } from '../proxy/kestra-reader.js';

/** An execution's namespace never changes, so answers are kept; the cap bounds memory. */
const MAX_ENTRIES = 50_000;

/**
 * Finds which namespace an execution belongs to by asking Kestra with Perch's own account:
 * the only way for routes that name an execution id alone. Concurrent asks for one id share a
 * request; failures are never cached and never read as "allowed".
 */
export class ExecutionNamespaceLookup {
  private readonly known = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string | null>>();

  constructor(private readonly kestra: KestraReader) {}

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
    const body = (await this.kestra.json(`/api/v1/main/executions/${encodeURIComponent(executionId)}`, `execution ${executionId}`)) as { namespace?: unknown } | null | undefined;
    if (body === null) return null;
    if (typeof body?.namespace !== 'string') throw new KestraReadError(`Kestra's answer for execution ${executionId} names no namespace`);
    if (this.known.size >= MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
    this.known.set(executionId, body.namespace);
    return body.namespace;
  }
}
