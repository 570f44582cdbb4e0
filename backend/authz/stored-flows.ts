import type { KestraReader } from '../proxy/kestra-reader.js';

/**
 * Flows as Kestra stores them, read with Perch's own account when a decision depends on a flow's content
 * (its FILE inputs, the subflows a graph would expand). Read per call, never kept: a flow changes with
 * its revisions.
 */
export interface StoredFlows {
  /** Flow `namespace`.`id` as Kestra answers it (JSON), at `revision`, else the latest; null when Kestra has none. */
  read(namespace: string, id: string, revision: string | undefined): Promise<unknown>;
}

export class KestraStoredFlows implements StoredFlows {
  constructor(private readonly kestra: KestraReader) {}

  read(namespace: string, id: string, revision: string | undefined): Promise<unknown> {
    const query = revision === undefined ? '' : `?revision=${encodeURIComponent(revision)}`;
    return this.kestra.json(`/api/v1/main/flows/${encodeURIComponent(namespace)}/${encodeURIComponent(id)}${query}`, `flow ${namespace}.${id}`);
  }
}
