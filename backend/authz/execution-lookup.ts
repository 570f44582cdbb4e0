import { KestraReadError, type KestraReader } from '../proxy/kestra-reader.js';

/** What Perch keeps of an execution: where it ran. */
export interface ExecutionPlace {
  namespace: string;
  /** Its flow, when Kestra's answer names one (it always does; only the file-input check needs it). */
  flowId?: string;
  /** The flow revision it ran, when Kestra's answer gives one. */
  flowRevision?: number;
}

/** An execution's namespace and flow never change, so answers are kept; the cap bounds memory. */
const MAX_ENTRIES = 50_000;

/**
 * Finds which namespace (and flow) an execution belongs to by asking Kestra with Perch's own account:
 * the only way for routes that name an execution id alone. Concurrent asks for one id share a
 * request; failures are never cached and never read as "allowed".
 */
export class ExecutionNamespaceLookup {
  private readonly known = new Map<string, ExecutionPlace>();
  private readonly pending = new Map<string, Promise<ExecutionPlace | null>>();

  constructor(private readonly kestra: KestraReader) {}

  /** The namespace, or null when Kestra has no such execution. */
  async namespaceOf(executionId: string): Promise<string | null> {
    return (await this.placeOf(executionId))?.namespace ?? null;
  }

  /** The namespace and flow, or null when Kestra has no such execution. */
  async placeOf(executionId: string): Promise<ExecutionPlace | null> {
    const cached = this.known.get(executionId);
    if (cached !== undefined) return cached;
    let ask = this.pending.get(executionId);
    if (!ask) {
      ask = this.ask(executionId).finally(() => this.pending.delete(executionId));
      this.pending.set(executionId, ask);
    }
    return ask;
  }

  private async ask(executionId: string): Promise<ExecutionPlace | null> {
    const body = (await this.kestra.json(`/api/v1/main/executions/${encodeURIComponent(executionId)}`, `execution ${executionId}`)) as
      | { namespace?: unknown; flowId?: unknown; flowRevision?: unknown }
      | null
      | undefined;
    if (body === null) return null;
    if (typeof body?.namespace !== 'string') throw new KestraReadError(`Kestra's answer for execution ${executionId} names no namespace`);
    const place: ExecutionPlace = { namespace: body.namespace, ...(typeof body.flowId === 'string' ? { flowId: body.flowId } : {}), ...(typeof body.flowRevision === 'number' ? { flowRevision: body.flowRevision } : {}) };
    if (this.known.size >= MAX_ENTRIES) this.known.delete(this.known.keys().next().value!);
    this.known.set(executionId, place);
    return place;
  }
}
