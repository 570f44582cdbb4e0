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
 *  - `subflows` (the query's values, each split at commas as Micronaut binds a `List<String>`) names Subflow
 *    nodes by uid: each becomes a SubflowGraphCluster of the same uid, led by its task node, holding the subflow's
 *    own graph (its tasks and triggers, with whole task definitions) read wherever it lives; a namespace or flow
 *    id with an expression cannot be expanded (422), an unknown subflow is a 404 (GraphService.of).
 * Not imitated: `If`/`Switch`/`Dag` branches (their children are not drawn), ForEachItem's inner subflow node.
 */
import { createHash } from 'node:crypto';
import { BASE62, type Ctx, type Route, notFound, sendJson, unprocessable } from './http.js';
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

/** What a graph expands: the subflow uids asked for, and where the subflows are read. */
interface Expansion {
  uids: ReadonlySet<string>;
  subflow(namespace: string, id: string, revision: number | undefined): Record<string, unknown> | undefined;
}

const NO_EXPANSION: Expansion = { uids: new Set(), subflow: () => undefined };

const tasksOf = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? (v as Record<string, unknown>[]).filter((t) => t && typeof t === 'object') : []);

/** The node (or cluster) of one task; answers what edges enter and leave. */
function taskGraph(g: GraphBuilder, x: Expansion, task: Record<string, unknown>, parent: Cluster, relationType: string, branch?: string): { entry: Node; exit: Node } {
  const uid = `${parent.uid}.${String(task.id)}`;
  const children = tasksOf(task.tasks);
  const common = { relationType, ...(branch ? { branchType: branch } : {}) };
  if (task.type === SUBFLOW_TASK && x.uids.has(uid)) return subflowCluster(g, x, task, uid, parent, common);
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
  chain(g, x, children, c, taskNode, own);
  for (const t of tasksOf(task.errors)) branchTo(g, x, t, c, 'ERROR');
  return { entry: c.start, exit: c.end };
}

/** An expanded Subflow task: a cluster led by its task node, then the subflow's own graph, as GraphService.of builds it. */
function subflowCluster(g: GraphBuilder, x: Expansion, task: Record<string, unknown>, uid: string, parent: Cluster, common: Record<string, unknown>): { entry: Node; exit: Node } {
  const [namespace, flowId] = [task.namespace, task.flowId].map((v) => String(v ?? ''));
  if (/\{[{%]/.test(`${namespace}.${flowId}`)) {
    throw unprocessable(`Illegal argument: Can't expand subflow task '${String(task.id)}' because namespace and/or flowId contains dynamic values. This can only be viewed on an execution.`);
  }
  const revision = task.revision === undefined || task.revision === null ? undefined : Number(task.revision);
  const subflow = x.subflow(namespace!, flowId!, revision);
  if (!subflow) throw notFound(`Unable to find subflow ${namespace}.${flowId}${revision === undefined ? '' : `_${revision}`} for task ${String(task.id)}`);
  const taskNode: Node = { uid, type: `${H}.SubflowGraphTask`, task, ...common };
  const c = g.cluster(uid, parent, { type: `${H}.SubflowGraphCluster`, relationType: 'SEQUENTIAL', taskNode, ...('branchType' in common ? { branchType: common.branchType } : {}) });
  g.add(taskNode, c);
  g.link(c.start, taskNode);
  fillFlow(g, x, subflow, c, taskNode);
  return { entry: c.start, exit: c.end };
}

/** Tasks of a cluster after `from`: chained (the first edge with `first`), or each from `from` when parallel. */
function chain(g: GraphBuilder, x: Expansion, tasks: Record<string, unknown>[], c: Cluster, from: Node, relationType: string, first?: string): void {
  let previous = from;
  tasks.forEach((t, i) => {
    const parallel = relationType === 'PARALLEL';
    const { entry, exit } = taskGraph(g, x, t, c, relationType);
    g.link(parallel ? from : previous, entry, parallel ? 'PARALLEL' : i === 0 ? first : 'SEQUENTIAL');
    if (parallel || i === tasks.length - 1) g.link(exit, c.end);
    previous = exit;
  });
}

function branchTo(g: GraphBuilder, x: Expansion, task: Record<string, unknown>, c: Cluster, branch: 'ERROR'): void {
  const { entry, exit } = taskGraph(g, x, task, c, branch, branch);
  g.link(c.start, entry, branch);
  g.link(exit, c.end);
}

/**
 * A flow's triggers and tasks inside cluster `c`, from `from` (the cluster's start, or an expanded subflow's task
 * node). With `finally`, the main path and the errors lead to a GraphClusterFinally node, then the finally tasks.
 */
function fillFlow(g: GraphBuilder, x: Expansion, doc: Record<string, unknown>, c: Cluster, from: Node): void {
  const triggers = tasksOf(doc.triggers);
  if (triggers.length > 0) {
    const t = g.cluster(`${c.uid}.Triggers`, c);
    for (const trigger of triggers) {
      const node = g.add({ uid: `${t.uid}.${String(trigger.id)}`, type: `${H}.GraphTrigger`, triggerDeclaration: trigger }, t);
      g.link(t.start, node);
      g.link(node, t.end);
    }
    g.link(t.end, c.start);
  }
  const fin = tasksOf(doc.finally);
  chain(g, x, tasksOf(doc.tasks), c, from, 'SEQUENTIAL');
  for (const t of tasksOf(doc.errors)) branchTo(g, x, t, c, 'ERROR');
  if (fin.length > 0) {
    const finallyNode = g.add({ uid: `${c.uid}.finally-${g.nextId()}`, type: `${H}.GraphClusterFinally` }, c);
    for (const e of g.edges) if (e.target === c.end.uid) e.target = finallyNode.uid;
    let previous: Node = finallyNode;
    for (const t of fin) {
      const { entry, exit } = taskGraph(g, x, t, c, 'FINALLY', 'FINALLY');
      g.link(previous, entry, 'FINALLY');
      previous = exit;
    }
    g.link(previous, c.end);
  }
}

/** The `FlowGraph` of a parsed flow, its `x.uids` subflows expanded. */
export function flowGraph(doc: Record<string, unknown>, x: Expansion = NO_EXPANSION): Record<string, unknown> {
  const g = new GraphBuilder(JSON.stringify(doc));
  const root = g.cluster('root', null);
  fillFlow(g, x, doc, root, root.start);
  return {
    nodes: g.nodes,
    edges: g.edges,
    clusters: g.clusters.map((c) => ({ cluster: c.node, nodes: c.members, parents: c.parents, start: c.start.uid, end: c.end.uid })),
  };
}

/** The subflows a graph request expands (`?subflows=a&subflows=b,c`), read from the double's flows. */
function expansionOf(ctx: Ctx): Expansion {
  const uids = new Set(ctx.query.getAll('subflows').flatMap((v) => v.split(',')).filter((v) => v !== ''));
  return {
    uids,
    subflow(namespace, id, revision) {
      const flow = findFlow(ctx.rt, namespace, id);
      const rev = !flow ? undefined : revision === undefined ? currentRevision(flow) : flow.revisions.find((r) => r.revision === revision);
      return rev?.doc;
    },
  };
}

function graphOfFlow(ctx: Ctx, p: Record<string, string>): void {
  const flow = findFlow(ctx.rt, p.namespace!, p.id!);
  const wanted = ctx.query.get('revision');
  const rev = !flow ? undefined : wanted === null ? currentRevision(flow) : flow.revisions.find((r) => r.revision === Number(wanted));
  // Kestra: NoSuchElementException("Unable to find flow <uid>"), the uid with the revision when one is asked.
  if (!rev) throw notFound(`Unable to find flow ${TENANT}_${p.namespace}_${p.id}${wanted === null ? '' : `_${wanted}`}`);
  sendJson(ctx, 200, flowGraph(rev.doc, expansionOf(ctx)));
}

function graphOfSource(ctx: Ctx): void {
  sendJson(ctx, 200, flowGraph(parseFlowSource(ctx.rt, bodyText(ctx)), expansionOf(ctx)));
}

export const flowGraphRoutes: Route[] = [
  { method: 'POST', path: '/api/v1/:tenant/flows/graph', handler: graphOfSource },
  { method: 'GET', path: '/api/v1/:tenant/flows/:namespace/:id/graph', handler: graphOfFlow },
];
