/**
 * The last Kestra operations of issue 17.3 the double serves: flow graphs (of a stored flow and of a source), flow
 * import (YAML or ZIP), executions queued by a flow's concurrency limit, force-run and unqueue (one, by ids, by
 * query). Every answer is checked against the contract; then the same operations through Perch, refused to a viewer
 * and allowed to an editor of the namespace.
 */
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUpload, multipartForm } from '../support/multipart.js';
import { Browser, grantRole, startBehindKestra } from '../support/perch.js';
import { type KestraDouble, startKestraDouble } from './kestra-double.js';
import { flowKey } from './state.js';

let k: KestraDouble;

beforeAll(async () => {
  k = await startKestraDouble({ stepMs: 40 });
});

afterAll(async () => {
  expect(k.contractViolations).toEqual([]);
  await k?.close();
});

const api = (p: string): string => `${k.url}/api/v1/main${p}`;

async function call(method: string, p: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(api(p), { method, headers: { authorization: k.authorization, ...headers }, ...(body !== undefined ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

const yaml = { 'content-type': 'application/x-yaml' };
const json = { 'content-type': 'application/json' };
const flow = (ns: string, id: string, tasks: string, extra = ''): string => `id: ${id}\nnamespace: ${ns}\n${extra}tasks:\n${tasks}`;
const log = (id: string, indent = '  ') => `${indent}- id: ${id}\n${indent}  type: io.kestra.plugin.core.log.Log\n${indent}  message: hi\n`;

async function create(source: string): Promise<void> {
  const res = await call('POST', '/flows', source, yaml);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function run(ns: string, id: string): Promise<string> {
  const res = await fetch(api(`/executions/${ns}/${id}`), { method: 'POST', headers: { authorization: k.authorization }, body: new FormData() });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

const state = (id: string) => (k.getExecution(id)!.state as { current: string }).current;
const ran = (id: string) => (k.getExecution(id)!.taskRunList as unknown[] | undefined)?.length ?? 0;

type Graph = { nodes: { uid: string; type: string; branchType?: string; relationType?: string }[]; edges: { source: string; target: string; relation: { relationType?: string } }[]; clusters: { cluster: { uid: string }; nodes: string[]; parents: string[]; start: string; end: string }[] };
const H = 'io.kestra.core.models.hierarchies';
const node = (g: Graph, uid: string) => g.nodes.find((n) => n.uid === uid);
const startOf = (g: Graph, prefix: string) => g.nodes.find((n) => n.uid.startsWith(`${prefix}.root-`))!.uid;
const endOf = (g: Graph, prefix: string) => g.nodes.find((n) => n.uid.startsWith(`${prefix}.end-`))!.uid;
const relation = (g: Graph, source: string, target: string) => g.edges.find((e) => e.source === source && e.target === target)?.relation;

describe('Kestra double: flow graphs', () => {
  const graphed = flow(
    'graph.team',
    'shape',
    `${log('a')}${log('b')}  - id: both\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n${log('p1', '      ')}${log('p2', '      ')}  - id: child\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: graph.team\n    flowId: other\n`,
    'triggers:\n  - id: daily\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 9 * * *"\nerrors:\n' + log('oops'),
  );

  beforeAll(async () => {
    await create(flow('graph.team', 'shape', log('only')));
    expect((await call('PUT', '/flows/graph.team/shape', graphed, yaml)).status).toBe(200); // revision 2
  });

  it('draws a stored flow: triggers, the chain of tasks, a parallel cluster, a subflow, the errors branch', async () => {
    const res = await call('GET', '/flows/graph.team/shape/graph');
    expect(res.status).toBe(200);
    const g = res.body as Graph;
    const start = startOf(g, 'root');
    const end = endOf(g, 'root');
    expect(node(g, 'root.a')).toMatchObject({ type: `${H}.GraphTask`, relationType: 'SEQUENTIAL' });
    expect(node(g, 'root.child')).toMatchObject({ type: `${H}.SubflowGraphTask` });
    // The chain: start -> a (no relation at the top) -> b -> the parallel cluster -> child -> end.
    expect(relation(g, start, 'root.a')).toEqual({});
    expect(relation(g, 'root.a', 'root.b')).toEqual({ relationType: 'SEQUENTIAL' });
    expect(relation(g, 'root.b', startOf(g, 'root.both'))).toEqual({ relationType: 'SEQUENTIAL' });
    expect(relation(g, endOf(g, 'root.both'), 'root.child')).toEqual({ relationType: 'SEQUENTIAL' });
    expect(relation(g, 'root.child', end)).toEqual({});
    // The parallel cluster: its task node, then each child from it and to the cluster's end.
    const both = g.clusters.find((c) => c.cluster.uid === 'cluster_root.both')!;
    expect(both).toMatchObject({ parents: [], start: startOf(g, 'root.both'), end: endOf(g, 'root.both') });
    expect(both.nodes).toEqual(expect.arrayContaining(['root.both', 'root.both.p1', 'root.both.p2']));
    expect(relation(g, 'root.both', 'root.both.p1')).toEqual({ relationType: 'PARALLEL' });
    expect(relation(g, 'root.both.p2', endOf(g, 'root.both'))).toEqual({});
    // Triggers: their own cluster, whose end leads to the flow's start.
    const triggers = g.clusters.find((c) => c.cluster.uid === 'cluster_root.Triggers')!;
    expect(triggers.nodes).toContain('root.Triggers.daily');
    expect(node(g, 'root.Triggers.daily')!.type).toBe(`${H}.GraphTrigger`);
    expect(relation(g, triggers.end, start)).toEqual({});
    // Errors hang from the start.
    expect(node(g, 'root.oops')).toMatchObject({ branchType: 'ERROR' });
    expect(relation(g, start, 'root.oops')).toEqual({ relationType: 'ERROR' });
  });

  it('draws an older revision when asked, and answers 404 for an unknown flow or revision', async () => {
    const old = (await call('GET', '/flows/graph.team/shape/graph?revision=1')).body as Graph;
    expect(old.nodes.map((n) => n.uid)).toContain('root.only');
    expect(old.nodes.map((n) => n.uid)).not.toContain('root.a');
    expect(old.clusters).toEqual([]);
    const missing = await call('GET', '/flows/graph.team/nothing/graph');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toContain('graph.team_nothing');
    expect((await call('GET', '/flows/graph.team/shape/graph?revision=9')).status).toBe(404);
  });

  it('expands the subflows named in ?subflows= wherever they live, whole task definitions and triggers included', async () => {
    await create(flow('graph.other', 'deep', `  - id: secret_call\n    type: io.kestra.plugin.core.http.Request\n    uri: https://example.invalid/x\n`, 'triggers:\n  - id: hourly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 * * * *"\n'));
    await create(flow('graph.other', 'other', `${log('inner')}  - id: nested\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: graph.other\n    flowId: deep\n`));
    const caller = flow('graph.team', 'caller', `${log('first')}  - id: child\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: graph.other\n    flowId: other\n${log('last')}`);
    const collapsed = (await call('POST', '/flows/graph', caller, yaml)).body as Graph;
    expect(node(collapsed, 'root.child')!.type).toBe(`${H}.SubflowGraphTask`);
    expect(collapsed.nodes.some((n) => n.uid.startsWith('root.child.'))).toBe(false);

    // Both spellings Micronaut binds to a List<String>: the parameter repeated, or its values joined by commas.
    for (const query of ['subflows=root.child&subflows=root.child.nested', 'subflows=root.child,root.child.nested']) {
      const res = await call('POST', `/flows/graph?${query}`, caller, yaml);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const g = res.body as Graph;
      const cluster = g.clusters.find((c) => c.cluster.uid === 'cluster_root.child')!;
      expect(cluster.cluster).toMatchObject({ type: `${H}.SubflowGraphCluster` });
      expect(node(g, 'root.child')).toMatchObject({ type: `${H}.SubflowGraphTask` });
      expect(cluster.nodes).toEqual(expect.arrayContaining(['root.child', 'root.child.inner', 'cluster_root.child.nested']));
      expect(relation(g, startOf(g, 'root.child'), 'root.child')).toEqual({});
      expect(relation(g, 'root.child', 'root.child.inner')).toBeDefined();
      expect(relation(g, 'root.first', startOf(g, 'root.child'))).toEqual({ relationType: 'SEQUENTIAL' });
      expect(relation(g, endOf(g, 'root.child'), 'root.last')).toEqual({ relationType: 'SEQUENTIAL' });
      // The nested subflow's own tasks, with their properties, and its triggers.
      expect(node(g, 'root.child.nested.secret_call')).toMatchObject({ task: { uri: 'https://example.invalid/x' } });
      expect(node(g, 'root.child.nested.Triggers.hourly')).toMatchObject({ type: `${H}.GraphTrigger` });
    }
    // The stored flow's graph expands the same way.
    await create(caller);
    const stored = (await call('GET', '/flows/graph.team/caller/graph?subflows=root.child')).body as Graph;
    expect(node(stored, 'root.child.inner')).toBeDefined();

    const dynamic = flow('graph.team', 'dyn', `  - id: child\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: "{{ inputs.ns }}"\n    flowId: other\n`);
    expect((await call('POST', '/flows/graph', dynamic, yaml)).status).toBe(200);
    const refused = await call('POST', '/flows/graph?subflows=root.child', dynamic, yaml);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain("Can't expand subflow task 'child'");
    const unknown = await call('POST', '/flows/graph?subflows=root.child', caller.replace('flowId: other', 'flowId: nowhere'), yaml);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('Unable to find subflow graph.other.nowhere for task child');
  });

  it('draws a source without storing it, finally tasks last; an invalid source is 422', async () => {
    const before = k.store.flows.size;
    const source = flow('graph.team', 'draft', log('x'), `finally:\n${log('cleanup')}`);
    const res = await call('POST', '/flows/graph', source, yaml);
    expect(res.status).toBe(200);
    const g = res.body as Graph;
    const fin = g.nodes.find((n) => n.type === `${H}.GraphClusterFinally`)!;
    expect(relation(g, 'root.x', fin.uid)).toEqual({});
    expect(relation(g, fin.uid, 'root.cleanup')).toEqual({ relationType: 'FINALLY' });
    expect(node(g, 'root.cleanup')!.branchType).toBe('FINALLY');
    expect(relation(g, 'root.cleanup', endOf(g, 'root'))).toEqual({});
    expect(k.store.flows.size).toBe(before);
    expect((await call('POST', '/flows/graph', 'id: broken\nnamespace: graph.team\n', yaml)).status).toBe(422);
  });
});

describe('Kestra double: flow import', () => {
  const upload = (data: Uint8Array | string, name: string, query = '') => {
    const { body, headers } = fileUpload(data, name);
    return call('POST', `/flows/import${query}`, body, headers);
  };
  const revisionOf = (ns: string, id: string) => k.store.flows.get(flowKey(ns, id))?.revisions.length;

  it('imports a multi-document YAML: creates, overwrites with a new revision, and names the invalid one by index', async () => {
    await create(flow('imp.team', 'kept', log('v1')));
    const body = [flow('imp.team', 'fresh', log('a')), flow('imp.team', 'kept', log('v2')), 'id: broken\nnamespace: imp.team\n'].join('---\n');
    const res = await upload(body, 'flows.yml');
    expect(res).toEqual({ status: 200, body: ['2'] });
    expect((await call('GET', '/flows/imp.team/fresh')).status).toBe(200);
    expect(revisionOf('imp.team', 'kept')).toBe(2);
    expect((await call('GET', '/flows/imp.team/broken')).status).toBe(404);
  });

  it('imports the YAML entries of a ZIP, names the invalid ones by path, skips other files (entry names are case-sensitive)', async () => {
    const zip = zipSync({
      'a.yml': strToU8(flow('imp.zip', 'one', log('a'))),
      'sub/b.YAML': strToU8(flow('imp.zip', 'two', log('b'))),
      'bad.yaml': strToU8('id: bad\n'),
      'notes.txt': strToU8(flow('imp.zip', 'ignored', log('c'))),
    });
    const res = await upload(zip, 'Export.ZIP');
    expect(res).toEqual({ status: 200, body: ['bad.yaml'] });
    expect((await call('GET', '/flows/imp.zip/one')).status).toBe(200);
    // Kestra lower-cases the upload's name, not its entries': `.YAML` is not a flow file.
    expect((await call('GET', '/flows/imp.zip/two')).status).toBe(404);
    expect((await call('GET', '/flows/imp.zip/ignored')).status).toBe(404);
  });

  it('with failOnError answers 422 naming the invalid flows (the valid ones stay imported); other files and a missing part are refused', async () => {
    const res = await upload(`${flow('imp.fail', 'good', log('a'))}---\nid: nope\n`, 'f.yaml', '?failOnError=true');
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('Following invalid flows were not imported: 1');
    expect((await call('GET', '/flows/imp.fail/good')).status).toBe(200);
    const txt = await upload(flow('imp.fail', 'txt', log('a')), 'flows.txt');
    expect(txt.status).toBe(422);
    expect(txt.body.message).toContain('Cannot import file of type .txt');
    expect((await call('GET', '/flows/imp.fail/txt')).status).toBe(404);
    const { body, headers } = multipartForm([{ name: 'other', filename: 'a.yml', data: flow('imp.fail', 'other', log('a')) }]);
    expect((await call('POST', '/flows/import', body, headers)).status).toBe(400);
    expect((await call('GET', '/flows/imp.fail/other')).status).toBe(404);
  });
});

describe('Kestra double: concurrency queue, force-run and unqueue', () => {
  // Six steps of 40 ms: long enough for a test to act while the first execution still holds the slot.
  const limited = (id: string) => flow('queue.team', id, log('a') + log('b') + log('c') + log('d') + log('e') + log('f'), 'concurrency:\n  limit: 1\n  behavior: QUEUE\n');

  /** A running execution of `flowId` and a second one that its limit queued. */
  async function runningAndQueued(flowId: string): Promise<[string, string]> {
    const first = await run('queue.team', flowId);
    await k.waitForExecution(first, ['RUNNING']);
    const second = await run('queue.team', flowId);
    await k.waitForExecution(second, ['QUEUED']);
    return [first, second];
  }

  beforeAll(async () => {
    for (const id of ['fifo', 'unq', 'force', 'bulk', 'bulkq']) await create(limited(id));
    await create(flow('queue.team', 'free', log('a') + log('b') + log('c') + log('d')));
  });

  it('queues an execution beyond the limit and runs it when the running one ends', async () => {
    const [first, second] = await runningAndQueued('fifo');
    expect(ran(second)).toBe(0);
    await k.waitForExecution(first);
    const done = await k.waitForExecution(second);
    expect((done.state as { current: string }).current).toBe('SUCCESS');
    const histories = (done.state as { histories: { state: string }[] }).histories.map((h) => h.state);
    expect(histories.slice(0, 3)).toEqual(['CREATED', 'QUEUED', 'RUNNING']);
  });

  it('unqueues to RUNNING by default, to CANCELLED when asked; refuses another target, a non-queued and an unknown execution', async () => {
    const [first, second] = await runningAndQueued('unq');
    const res = await call('POST', `/executions/${second}/actions/unqueue`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: second, state: { current: 'RUNNING' } });
    expect(state(first)).not.toBe('SUCCESS'); // both run at once: past the limit
    await k.waitForExecution(second);
    expect(ran(second)).toBe(6);
    await k.waitForExecution(first);

    const [, third] = await runningAndQueued('unq');
    const wrong = await call('POST', `/executions/${third}/actions/unqueue?state=SUCCESS`);
    expect(wrong.status).toBe(422);
    expect(wrong.body.message).toContain('Invalid target state: SUCCESS');
    expect(state(third)).toBe('QUEUED');
    const cancelled = await call('POST', `/executions/${third}/actions/unqueue?state=CANCELLED`);
    expect(cancelled.body).toMatchObject({ state: { current: 'CANCELLED' } });
    expect(ran(third)).toBe(0);
    expect((await call('POST', `/executions/${third}/actions/unqueue`)).status).toBe(409);
    expect((await call('POST', '/executions/nope/actions/unqueue')).status).toBe(404);
  });

  it('force-runs a queued execution past the limit and resumes a paused one; refuses a terminated and an unknown execution', async () => {
    const [first, second] = await runningAndQueued('force');
    const res = await call('POST', `/executions/${second}/actions/force-run`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: second, state: { current: 'RUNNING' } });
    await k.waitForExecution(second);
    expect(ran(second)).toBe(6);
    await k.waitForExecution(first);

    const paused = await run('queue.team', 'free');
    await k.waitForExecution(paused, ['RUNNING']);
    expect((await call('POST', `/executions/${paused}/actions/pause`)).status).toBe(200);
    expect((await call('POST', `/executions/${paused}/actions/force-run`)).body).toMatchObject({ state: { current: 'RUNNING' } });
    expect((await k.waitForExecution(paused)).state).toMatchObject({ current: 'SUCCESS' });

    const ended = await call('POST', `/executions/${paused}/actions/force-run`);
    expect(ended.status).toBe(409);
    expect((await call('POST', '/executions/nope/actions/force-run')).status).toBe(404);
  });

  it('force-runs by ids: one invalid id refuses the lot (400, nothing changed); valid ones answer 202', async () => {
    const [first, second] = await runningAndQueued('bulk');
    const bad = await call('POST', '/executions/force-run/by-ids', JSON.stringify([second, 'nope']), json);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ message: 'invalid bulk force run', invalids: [{ invalidValue: 'nope', message: 'execution not found' }] });
    expect(state(second)).toBe('QUEUED');
    const ok = await call('POST', '/executions/force-run/by-ids', JSON.stringify([second]), json);
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ totalItems: 1 });
    expect(state(second)).toBe('RUNNING');
    await k.waitForExecution(second);
    await k.waitForExecution(first);
    const done = await call('POST', '/executions/force-run/by-ids', JSON.stringify([first]), json);
    expect(done.body).toMatchObject({ message: 'invalid bulk force run', invalids: [{ message: 'execution in a terminated state' }] });
  });

  it('unqueues by ids (a non-queued id refuses the lot) and by query with newState', async () => {
    const [first, second] = await runningAndQueued('bulkq');
    const bad = await call('POST', '/executions/unqueue/by-ids', JSON.stringify([first, second]), json);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ message: 'invalid bulk unqueue', invalids: [{ invalidValue: first, message: 'execution not in state QUEUED' }] });
    expect(state(second)).toBe('QUEUED');
    const third = await run('queue.team', 'bulkq');
    await k.waitForExecution(third, ['QUEUED']);
    // By query, every execution of the flow is selected: the running one makes the lot invalid.
    const mixed = await call('POST', '/executions/unqueue/by-query?filters[flowId][EQUALS]=bulkq&newState=FAILED');
    expect(mixed.status).toBe(400);
    const byQuery = await call('POST', '/executions/unqueue/by-query?filters[flowId][EQUALS]=bulkq&filters[state][EQUALS]=QUEUED&newState=FAILED');
    expect(byQuery.status).toBe(202);
    expect(byQuery.body).toMatchObject({ totalItems: 2 });
    expect([state(second), state(third)]).toEqual(['FAILED', 'FAILED']);
    expect((await call('POST', '/executions/unqueue/by-ids?state=KILLED', JSON.stringify([first]), json)).status).toBe(422);
    await k.waitForExecution(first);
  });
});

describe('through Perch: graph, import, force-run and unqueue by role', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let viewer: Browser;
  let editor: Browser;

  beforeAll(async () => {
    env = await startBehindKestra();
    for (const [email, role] of [['viewer@example.com', 'viewer'], ['editor@example.com', 'editor']] as const) {
      const created = await env.admin.fetch('POST', '/api/v1/users', { json: { email, password: 'a good long password' } });
      await grantRole(env.perch.perch, created.json.id, role, 'perch.team');
    }
    viewer = new Browser(env.perch);
    await viewer.login('viewer@example.com', 'a good long password');
    editor = new Browser(env.perch);
    await editor.login('editor@example.com', 'a good long password');
    env.kestra.addFlow(flow('perch.team', 'limited', log('a') + log('b') + log('c') + log('d'), 'concurrency:\n  limit: 1\n  behavior: QUEUE\n'));
    env.kestra.addFlow(flow('other.team', 'elsewhere', log('a')));
  });
  afterAll(async () => {
    expect(env?.kestra.contractViolations).toEqual([]);
    await env?.close();
  });

  const reached = (fragment: string) => env.kestra.requests.filter((r) => r.method === 'POST' && r.url.includes(fragment)).length;

  it('a viewer of the namespace reads its graphs but not another namespace\'s', async () => {
    const g = await viewer.fetch('GET', '/api/v1/main/flows/perch.team/limited/graph');
    expect(g.status).toBe(200);
    expect(g.json.nodes.map((n: { uid: string }) => n.uid)).toContain('root.a');
    expect((await viewer.fetch('GET', '/api/v1/main/flows/other.team/elsewhere/graph')).status).toBe(403);
  });

  it('refuses import, force-run and unqueue to a viewer (nothing reaches Kestra) and lets an editor of the namespace do them', async () => {
    const { body, headers } = fileUpload(flow('perch.team', 'imported', log('a')), 'flows.yml');
    env.kestra.clear();
    expect((await viewer.fetch('POST', '/api/v1/main/flows/import', { body, headers })).status).toBe(403);
    expect(reached('/flows/import')).toBe(0);
    const imported = await editor.fetch('POST', '/api/v1/main/flows/import', { body, headers });
    expect(imported.status).toBe(200);
    expect(imported.json).toEqual([]);
    expect(env.kestra.store.flows.has(flowKey('perch.team', 'imported'))).toBe(true);

    const executions = env.kestra.store.executions;
    const runAs = async () => (await env.admin.fetch('POST', '/api/v1/main/executions/perch.team/limited', { ...multipartForm([]) })).json.id as string;
    const running = await runAs();
    await env.kestra.waitForExecution(running, ['RUNNING']);
    const queued = await runAs();
    await env.kestra.waitForExecution(queued, ['QUEUED']);
    env.kestra.clear();
    for (const action of ['force-run', 'unqueue']) {
      expect((await viewer.fetch('POST', `/api/v1/main/executions/${queued}/actions/${action}`)).status).toBe(403);
      expect(reached(`/actions/${action}`)).toBe(0);
    }
    expect((await viewer.fetch('POST', '/api/v1/main/executions/force-run/by-ids', { json: [queued] })).status).toBe(403);
    expect(reached('/force-run/by-ids')).toBe(0);
    expect((executions.get(queued)!.state as { current: string }).current).toBe('QUEUED');
    const forced = await editor.fetch('POST', `/api/v1/main/executions/${queued}/actions/force-run`);
    expect(forced.status).toBe(200);
    expect(forced.json.state.current).toBe('RUNNING');
    expect(reached(`/${queued}/actions/force-run`)).toBe(1);
    await env.kestra.waitForExecution(queued);
    await env.kestra.waitForExecution(running);
  });
});

describe('execution files and flow outputs (issue 23)', () => {
  it('keeps a FILE input in storage, serves it under the execution prefix only, and renders flow outputs at SUCCESS', async () => {
    k.addFlow('id: files\nnamespace: apps.double\ninputs:\n  - id: doc\n    type: FILE\n  - id: who\n    type: STRING\noutputs:\n  - id: copy\n    type: FILE\n    value: "{{ inputs.doc }}"\n  - id: hello\n    type: STRING\n    value: "hi {{ inputs.who }}"\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n');
    const form = multipartForm([{ name: 'who', data: 'Ada' }, { name: 'doc', filename: 'notes.txt', data: 'the bytes' }]);
    const created = await call('POST', '/executions/apps.double/files', form.body, form.headers);
    expect(created.status).toBe(200);
    const done = await k.waitForExecution(created.body.id, ['SUCCESS']);
    const uri = `kestra:///apps.double/files/executions/${created.body.id}/inputs/doc/notes.txt`;
    expect(done.outputs).toEqual({ copy: uri, hello: 'hi Ada' });
    const file = await fetch(api(`/executions/${created.body.id}/file?path=${encodeURIComponent(uri)}`), { headers: { authorization: k.authorization } });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="notes.txt"');
    expect(await file.text()).toBe('the bytes');
    const outside = await call('GET', `/executions/${created.body.id}/file?path=${encodeURIComponent('kestra:///apps.double/other/notes.txt')}`);
    expect(outside.status).toBe(422);
    expect(outside.body.message).toMatch(/Invalid prefix path/);
    expect((await call('GET', `/executions/${created.body.id}/file?path=${encodeURIComponent(`${uri}.missing`)}`)).status).toBe(404);
  });
});
