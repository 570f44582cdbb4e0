/**
 * Flow graphs (`FlowGraph`), as Kestra's GraphUtils, GraphCluster and FlowGraph build them (docs/compatibility.md):
 *  - the flow is a cluster `root`; every cluster has a start node `<cluster>.root-<id>` (GraphClusterRoot) and an end
 *    node `<cluster>.end-<id>` (GraphClusterEnd); a node's uid is its cluster's uid, a dot, its own id
 *    (`root.hello`, `root.parallel.a`); a cluster is listed by `cluster_<uid>`.
 *  - tasks are chained from the start node: the first edge has the cluster's relation (none at the top), the next
 *    ones `SEQUENTIAL`; the last task is linked to the end. In a `Parallel` cluster every task hangs from the start
 *    and is linked to the end (`PARALLEL`). `errors` hang from the start (`ERROR`, branchType ERROR) and end at the
 *    end; with `finally`, what led to the end leads to a `root.finally-<id>` node (GraphClusterFinally), then the
 *    finally tasks (`FINALLY`, branchType FINALLY) lead to the end.
 *  - a task with child `tasks` is a cluster (its task node first); a Subflow task is a `SubflowGraphTask`.
 *  - triggers form the cluster `root.Triggers` (one node per trigger between its start and end), whose end leads
 *    to the flow's start.
 * Not imitated: `If`/`Switch`/`Dag` branches (their children are not drawn), expanding `subflows`.
 */
import { createHash } from 'node:crypto';
import { BASE62, type Ctx, type Route, notFound, sendJson } from './http.js';
import { SUBFLOW_TASK } from './executions.js';
import { bodyText, currentRevision, findFlow, parseFlowSource } from './flows.js';
import { TENANT } from './state.js';

const H = 'io.kestra.core.models.hierarchies';
const PARALLEL_TASK = 'io.kestra.plugin.core.flow.Parallel';

type Relation = { relationType?: string };
type Node = Record<string, unknown> & { uid: string; type: string };

interface Cluster {
  uid: string;
  node: Node;
  parents: string[];
  start: Node;
  end: Node;
  members: string[];
}

/** What one graph collects while the flow is walked. */
class GraphBuilder {
  /**
   * Kestra gives the start, end and finally nodes a random id per call; the double derives them from
   * the flow and their order instead, so that two reads of one flow answer the same (tests compare
   * answers byte for byte). They keep Kestra's shape: 22 base-62 characters.
   */
  constructor(private readonly seed: string) {}
  private ids = 0;
  nextId(): string {
    const digest = createHash('sha256').update(`${this.seed}\0${this.ids++}`).digest();
    let id = '';
    for (const byte of digest.subarray(0, 22)) id += BASE62[byte % 62];
    return id;
  }

  nodes: Node[] = [];
  edges: { source: string; target: string; relation: Relation }[] = [];
  clusters: Cluster[] = [];

  add(node: Node, cluster: Cluster | null): Node {
    this.nodes.push(node);
    cluster?.members.push(node.uid);
    return node;
  }

  link(source: Node, target: Node, relationType?: string): void {
    this.edges.push({ source: source.uid, target: target.uid, relation: relationType ? { relationType } : {} });
  }

  /** A cluster `uid` inside `parent` (null: the flow's own cluster, which is not listed), with its start and end. */
  cluster(uid: string, parent: Cluster | null, extra: Record<string, unknown> = {}): Cluster {
    const c: Cluster = {
      uid,
      node: { uid: `cluster_${uid}`, type: `${H}.GraphCluster`, ...extra },
      parents: parent ? [...parent.parents, ...(parent.uid === 'root' ? [] : [`cluster_${parent.uid}`])] : [],
      start: { uid: `${uid}.root-${this.nextId()}`, type: `${H}.GraphClusterRoot` },
      end: { uid: `${uid}.end-${this.nextId()}`, type: `${H}.GraphClusterEnd` },
      members: [],
    };
    this.add(c.start, c);
    this.add(c.end, c);
    if (parent) {
      parent.members.push(c.node.uid);
      this.clusters.push(c);
    }
    return c;
  }
}

const tasksOf = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? (v as Record<string, unknown>[]).filter((t) => t && typeof t === 'object') : []);

/** The node (or cluster) of one task; answers what edges enter and leave. */
function taskGraph(g: GraphBuilder, task: Record<string, unknown>, parent: Cluster, relationType: string, branch?: string): { entry: Node; exit: Node } {
  const uid = `${parent.uid}.${String(task.id)}`;
  const children = tasksOf(task.tasks);
  const common = { relationType, ...(branch ? { branchType: branch } : {}) };
  if (children.length === 0) {
    const type = task.type === SUBFLOW_TASK ? `${H}.SubflowGraphTask` : `${H}.GraphTask`;
    const node = g.add({ uid, type, task, ...common }, parent);
    return { entry: node, exit: node };
  }
  const taskNode: Node = { uid, type: `${H}.GraphTask`, task, ...common };
  const parallel = task.type === PARALLEL_TASK;
  const own = parallel ? 'PARALLEL' : 'SEQUENTIAL';
  const c = g.cluster(uid, parent, { relationType: own, taskNode, ...(branch ? { branchType: branch } : {}) });
  g.add(taskNode, c);
  g.link(c.start, taskNode);
  chain(g, children, c, taskNode, own);
  for (const t of tasksOf(task.errors)) branchTo(g, t, c, 'ERROR');
  return { entry: c.start, exit: c.end };
}

/** Tasks of a cluster after `from`: chained (the first edge with `first`), or each from `from` when parallel. */
function chain(g: GraphBuilder, tasks: Record<string, unknown>[], c: Cluster, from: Node, relationType: string, first?: string): void {
  let previous = from;
  tasks.forEach((t, i) => {
    const parallel = relationType === 'PARALLEL';
    const { entry, exit } = taskGraph(g, t, c, relationType);
    g.link(parallel ? from : previous, entry, parallel ? 'PARALLEL' : i === 0 ? first : 'SEQUENTIAL');
    if (parallel || i === tasks.length - 1) g.link(exit, c.end);
    previous = exit;
  });
}

function branchTo(g: GraphBuilder, task: Record<string, unknown>, c: Cluster, branch: 'ERROR'): void {
  const { entry, exit } = taskGraph(g, task, c, branch, branch);
  g.link(c.start, entry, branch);
  g.link(exit, c.end);
}

/** The `FlowGraph` of a parsed flow. */
export function flowGraph(doc: Record<string, unknown>): Record<string, unknown> {
  const g = new GraphBuilder(JSON.stringify(doc));
  const root = g.cluster('root', null);
  const triggers = tasksOf(doc.triggers);
  if (triggers.length > 0) {
    const t = g.cluster('root.Triggers', root);
    for (const trigger of triggers) {
      const node = g.add({ uid: `root.Triggers.${String(trigger.id)}`, type: `${H}.GraphTrigger`, triggerDeclaration: trigger }, t);
      g.link(t.start, node);
      g.link(node, t.end);
    }
    g.link(t.end, root.start);
  }
  // With `finally`, the main path and the errors lead to a GraphClusterFinally node, then the finally tasks.
  const fin = tasksOf(doc.finally);
  chain(g, tasksOf(doc.tasks), root, root.start, 'SEQUENTIAL');
  for (const t of tasksOf(doc.errors)) branchTo(g, t, root, 'ERROR');
  if (fin.length > 0) {
    const finallyNode = g.add({ uid: `root.finally-${g.nextId()}`, type: `${H}.GraphClusterFinally` }, root);
    for (const e of g.edges) if (e.target === root.end.uid) e.target = finallyNode.uid;
    let previous: Node = finallyNode;
    for (const t of fin) {
      const { entry, exit } = taskGraph(g, t, root, 'FINALLY', 'FINALLY');
      g.link(previous, entry, 'FINALLY');
      previous = exit;
    }
    g.link(previous, root.end);
  }
  return {
    nodes: g.nodes,
    edges: g.edges,
    clusters: g.clusters.map((c) => ({ cluster: c.node, nodes: c.members, parents: c.parents, start: c.start.uid, end: c.end.uid })),
  };
}

function graphOfFlow(ctx: Ctx, p: Record<string, string>): void {
  const flow = findFlow(ctx.rt, p.namespace!, p.id!);
  const wanted = ctx.query.get('revision');
  const rev = !flow ? undefined : wanted === null ? currentRevision(flow) : flow.revisions.find((r) => r.revision === Number(wanted));
  // Kestra: NoSuchElementException("Unable to find flow <uid>"), the uid with the revision when one is asked.
  if (!rev) throw notFound(`Unable to find flow ${TENANT}_${p.namespace}_${p.id}${wanted === null ? '' : `_${wanted}`}`);
  sendJson(ctx, 200, flowGraph(rev.doc));
}

function graphOfSource(ctx: Ctx): void {
  sendJson(ctx, 200, flowGraph(parseFlowSource(ctx.rt, bodyText(ctx))));
}

export const flowGraphRoutes: Route[] = [
  { method: 'POST', path: '/api/v1/:tenant/flows/graph', handler: graphOfSource },
  { method: 'GET', path: '/api/v1/:tenant/flows/:namespace/:id/graph', handler: graphOfFlow },
];
