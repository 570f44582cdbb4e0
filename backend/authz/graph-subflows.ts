import { parseQuery } from './query-scope.js';

/**
 * Which flows a flow graph's `?subflows=` would show. Kestra's GraphService replaces each Subflow node named
 * there by the subflow's own graph, read wherever it lives and drawn whole (task definitions, triggers): EE
 * reads it through its ACL repository, so FLOW read in the subflow's namespace is needed; OSS checks nothing
 * (docs/compatibility.md). A node's uid is the dotted path of task ids that leads to it (`root.child`, then
 * `root.child.nested` inside the expanded child); ForEachItem's subflow node is `<id>_items`.
 *
 * Perch resolves each uid against the flows it passes through. Where a segment could be read two ways (a
 * cluster of the same flow, or a subflow to descend into) both are followed, so every flow Kestra could
 * expand is found; a uid whose last segment names no subflow task, or a subflow named by an expression
 * or by plugin defaults, cannot be told and is refused.
 */
export class SubflowExpansionError extends Error {}

export interface ExpandedSubflow {
  uid: string;
  namespace: string;
  flowId: string;
}

/** A stored flow as Kestra answers it (JSON), at `revision` or the latest; null when there is none. */
export type FlowRead = (namespace: string, id: string, revision: string | undefined) => Promise<unknown>;

/** Bounds on one request: the uids it names and the subflows Perch reads to follow them. */
export const MAX_EXPANDED_UIDS = 64;
export const MAX_SUBFLOW_READS = 16;

/**
 * The uids a graph request expands: every value of `subflows`, split at commas as Micronaut binds a
 * `List<String>`. Other spellings of the name (any case, `subflows[]`, `subflows[0]`) count too: Perch reads
 * more than Kestra may, never less.
 */
export function expandedUids(query: string): string[] {
  const uids = parseQuery(query)
    .filter((p) => /^subflows(?:\[[^\]]*\])?$/i.test(p.name))
    .flatMap((p) => p.value.split(','))
    .filter((uid) => uid !== '');
  return [...new Set(uids)];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const SUBFLOW_KEYS = ['namespace', 'flowId', 'revision'];

interface SubflowTask {
  id: string;
  namespace: string;
  flowId: string;
  revision: string | undefined;
}

/** A literal text (Jackson reads a number as its text), or null for anything else, expressions included. */
function literal(v: unknown): string | null {
  const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
  return text === null || text === '' || /\{[{%]/.test(text) ? null : text;
}

/** The tasks of `flow` that the graph node `segment` could be, as subflows: by id, or ForEachItem's `<id>_items`. */
function subflowTasksNamed(flow: unknown, segment: string): SubflowTask[] {
  const found: SubflowTask[] = [];
  const walk = (node: unknown, depth: number): void => {
    if (depth > 64) throw new SubflowExpansionError('The flow is nested too deeply for Perch to tell which subflows a graph would expand');
    if (Array.isArray(node)) {
      for (const item of node) walk(item, depth + 1);
      return;
    }
    if (!isRecord(node)) return;
    const forEachItem = typeof node.type === 'string' && /(?:^|\.)ForEachItem$/.test(node.type);
    if (typeof node.id === 'string' && ('flowId' in node || forEachItem) && (node.id === segment || (forEachItem && segment === `${node.id}_items`))) {
      const [namespace, flowId] = [literal(node.namespace), literal(node.flowId)];
      const revision = node.revision === undefined || node.revision === null ? undefined : literal(node.revision);
      if (namespace === null || flowId === null || revision === null) {
        throw new SubflowExpansionError(`Task ${node.id} names its subflow by an expression or not at all, so Perch cannot tell which flow the graph would show`);
      }
      found.push({ id: node.id, namespace, flowId, revision });
    }
    for (const value of Object.values(node)) walk(value, depth + 1);
  };
  walk(flow, 0);
  if (found.length > 0 && isRecord(flow)) {
    // A flow's plugin defaults may give its subflow tasks another namespace, flow or revision (`forced`).
    for (const key of ['pluginDefaults', 'taskDefaults']) {
      const list = flow[key];
      for (const entry of Array.isArray(list) ? list : []) {
        if (isRecord(entry) && isRecord(entry.values) && SUBFLOW_KEYS.some((k) => k in (entry.values as object))) {
          throw new SubflowExpansionError(`The flow's ${key} may set which flow its subflow tasks run, so Perch cannot tell which flow the graph would show`);
        }
      }
    }
  }
  return found;
}

/**
 * The subflows a graph of `top` would show with `uids` expanded, following each uid through the flows it
 * passes (read with `read`, at most MAX_SUBFLOW_READS of them). Throws SubflowExpansionError when that cannot
 * be told.
 */
export async function expandedSubflows(top: unknown, uids: readonly string[], read: FlowRead): Promise<ExpandedSubflow[]> {
  if (uids.length > MAX_EXPANDED_UIDS) throw new SubflowExpansionError(`A graph may expand at most ${MAX_EXPANDED_UIDS} subflows at once`);
  const out = new Map<string, ExpandedSubflow>();
  const reads = new Map<string, Promise<unknown>>();
  const readOnce = (t: SubflowTask) => {
    const key = `${t.namespace}\0${t.flowId}\0${t.revision ?? ''}`;
    let flow = reads.get(key);
    if (flow === undefined) {
      if (reads.size >= MAX_SUBFLOW_READS) throw new SubflowExpansionError(`A graph may reach at most ${MAX_SUBFLOW_READS} subflows for Perch to check`);
      flow = read(t.namespace, t.flowId, t.revision);
      reads.set(key, flow);
    }
    return flow;
  };
  for (const uid of uids) {
    const segments = uid.split('.');
    let flows: unknown[] = [top];
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      // The segment may be a task or cluster of the same flow: stay there too.
      const next: unknown[] = last ? [] : [...flows];
      let named = false;
      for (const flow of flows) {
        for (const task of subflowTasksNamed(flow, segment)) {
          named = true;
          out.set(`${task.namespace}\0${task.flowId}`, { uid: segments.slice(0, i + 1).join('.'), namespace: task.namespace, flowId: task.flowId });
          if (!last) {
            const subflow = await readOnce(task);
            if (subflow !== null) next.push(subflow);
          }
        }
      }
      if (last && !named) throw new SubflowExpansionError(`Perch cannot tell which subflow the graph node ${uid} is`);
      flows = [...new Set(next)];
    }
  }
  return [...out.values()];
}
