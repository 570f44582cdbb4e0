import { KestraReadError } from '../proxy/kestra-reader.js';
import type { ExecutionNamespaceLookup } from './execution-lookup.js';
import type { StoredFlows } from './stored-flows.js';

/**
 * Which inputs Kestra reads as files when they come as text: Kestra 2.0.0 opens any text given to a FILE input
 * that is not a `kestra:///` URI as a path on its own server's disk and copies it into the execution
 * (kestra-io/kestra#18557; docs/compatibility.md). Read from Kestra with Perch's own account, per call: a flow's
 * inputs change with its revisions, and only calls that give an input as text ask.
 */
export interface FileInputTypes {
  /** The FILE inputs of flow `namespace`.`id` (at `revision`, else the latest); null when Kestra has no such flow. */
  ofFlow(namespace: string, id: string, revision: string | undefined): Promise<ReadonlySet<string> | null>;
  /** The FILE inputs of the flow an execution ran (at `revision`, else the execution's), its pauses' `onResume` included. */
  ofExecution(executionId: string, revision: string | undefined): Promise<ReadonlySet<string> | null>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The ids of the FILE (or ARRAY of FILE) inputs a flow declares, and those of every `onResume` in it. */
export function fileInputIdsOf(flow: unknown): Set<string> {
  const ids = new Set<string>();
  const take = (list: unknown) => {
    for (const input of Array.isArray(list) ? list : []) {
      if (!isRecord(input)) continue;
      const id = typeof input.id === 'string' ? input.id : typeof input.name === 'string' ? input.name : null;
      if (id !== null && (input.type === 'FILE' || (input.type === 'ARRAY' && input.itemType === 'FILE'))) ids.add(id);
    }
  };
  const walk = (node: unknown, depth: number): void => {
    if (depth > 64) return;
    if (Array.isArray(node)) for (const item of node) walk(item, depth + 1);
    else if (isRecord(node)) {
      take(node.onResume);
      for (const value of Object.values(node)) walk(value, depth + 1);
    }
  };
  if (isRecord(flow)) {
    take(flow.inputs);
    walk(flow, 0);
  }
  return ids;
}

export class KestraFileInputTypes implements FileInputTypes {
  /** `executions`: the authorizer's own lookup, so an execution already read to decide is not read again. */
  constructor(
    private readonly flows: StoredFlows,
    private readonly executions: Pick<ExecutionNamespaceLookup, 'placeOf'>,
  ) {}

  async ofFlow(namespace: string, id: string, revision: string | undefined): Promise<ReadonlySet<string> | null> {
    const flow = await this.flows.read(namespace, id, revision);
    return flow === null ? null : fileInputIdsOf(flow);
  }

  async ofExecution(executionId: string, revision: string | undefined): Promise<ReadonlySet<string> | null> {
    const place = await this.executions.placeOf(executionId);
    if (place === null) return null;
    if (place.flowId === undefined) throw new KestraReadError(`Kestra's answer for execution ${executionId} names no flow`);
    return this.ofFlow(place.namespace, place.flowId, revision ?? (place.flowRevision === undefined ? undefined : String(place.flowRevision)));
  }
}
