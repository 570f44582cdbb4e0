/**
 * The Kestra operations the double serves beyond the basics (execution actions, bulk operations by ids and by
 * query, log deletion, flow validation and bulk changes, namespace-file revisions/search/export, secrets,
 * concurrency limits), and instants written as Kestra writes them. Every answer is checked against the contract.
 */
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kestraInstant } from './http.js';
import { type KestraDouble, startKestraDouble } from './kestra-double.js';

let k: KestraDouble;

beforeAll(async () => {
  k = await startKestraDouble({ stepMs: 40, secrets: ['SLACK_TOKEN', 'AWS_KEY'] });
});

afterAll(async () => {
  await k?.close();
});

const api = (p: string): string => `${k.url}/api/v1/main${p}`;

async function call(method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { authorization: k.authorization } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = contentType;
  }
  const res = await fetch(api(p), init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const flow = (ns: string, id: string, tasks: string, extra = ''): string => `id: ${id}\nnamespace: ${ns}\n${extra}tasks:\n${tasks}`;
const log = (id: string, message = 'hi', level = 'INFO') => `  - id: ${id}\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n    level: ${level}\n`;
const fail = (id: string) => `  - id: ${id}\n    type: io.kestra.plugin.core.execution.Fail\n`;

async function run(ns: string, id: string): Promise<string> {
  const res = await fetch(api(`/executions/${ns}/${id}`), { method: 'POST', headers: { authorization: k.authorization }, body: new FormData() });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$/;

describe('Kestra double: instants as Kestra writes them', () => {
  it('writes ISO_INSTANT: no fraction for whole seconds, 3 digits for milliseconds, 6 for microseconds', () => {
    const t = Date.UTC(2026, 0, 2, 3, 4, 5);
    expect(kestraInstant(t)).toBe('2026-01-02T03:04:05Z');
    expect(kestraInstant(t + 120)).toBe('2026-01-02T03:04:05.120Z');
    expect(kestraInstant(t + 120, 456)).toBe('2026-01-02T03:04:05.120456Z');
    expect(kestraInstant(t, 7)).toBe('2026-01-02T03:04:05.000007Z');
  });

  it('leaves out a running state\'s endDate (Kestra writes no nulls) and writes every date as an instant', async () => {
    expect((await call('POST', '/flows', flow('dates.team', 'slow', log('a') + log('b') + log('c') + log('d')), 'application/x-yaml')).status).toBe(200);
    const id = await run('dates.team', 'slow');
    const running = (await call('GET', `/executions/${id}`)).body;
    expect(running.state).not.toHaveProperty('endDate');
    for (const h of running.state.histories) expect(h.date).toMatch(INSTANT);
    const done = await k.waitForExecution(id);
    expect((done.state as { endDate: string }).endDate).toMatch(INSTANT);
  });
});

describe('Kestra double: execution actions', () => {
  beforeAll(async () => {
    expect((await call('POST', '/flows', flow('acts.team', 'four', log('a') + log('b') + log('c') + log('d')), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('acts.team', 'fails', log('first') + fail('boom')), 'application/x-yaml')).status).toBe(200);
  });

  it('pauses a running execution and resumes it at the same task: every task runs exactly once', async () => {
    const id = await run('acts.team', 'four');
    await k.waitForExecution(id, ['RUNNING']);
    const paused = await call('POST', `/executions/${id}/actions/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.state.current).toBe('PAUSED');
    const resumed = await fetch(api(`/executions/${id}/actions/resume`), { method: 'POST', headers: { authorization: k.authorization }, body: new FormData() });
    expect(resumed.status).toBe(200);
    const done = await k.waitForExecution(id);
    expect((done.state as { current: string }).current).toBe('SUCCESS');
    expect((done.taskRunList as { taskId: string }[]).map((tr) => tr.taskId)).toEqual(['a', 'b', 'c', 'd']);
    expect((await call('POST', `/executions/${id}/actions/pause`)).status).toBe(409); // finished: not running
  });

  it('restarts a failed execution from the task that failed, keeping the task runs that succeeded; not a running one', async () => {
    const id = await run('acts.team', 'fails');
    const failed = await k.waitForExecution(id);
    expect((failed.state as { current: string }).current).toBe('FAILED');
    const firstRun = (failed.taskRunList as { id: string }[])[0]!.id;
    const restarted = await call('POST', `/executions/${id}/actions/restart`);
    expect(restarted.status).toBe(200);
    expect(restarted.body.state.current).toBe('RESTARTED');
    const again = await k.waitForExecution(id);
    const runs = again.taskRunList as { id: string; taskId: string }[];
    expect(runs.map((tr) => tr.taskId)).toEqual(['first', 'boom']);
    expect(runs[0]!.id).toBe(firstRun);
    expect((again.state as { histories: { state: string }[] }).histories.map((h) => h.state)).toContain('RESTARTED');
    const running = await run('acts.team', 'four');
    await k.waitForExecution(running, ['RUNNING']);
    expect((await call('POST', `/executions/${running}/actions/restart`)).status).toBe(409);
  });

  it('replays an execution as a new one that names it as its original, and marks the replayed one', async () => {
    const id = await run('acts.team', 'four');
    await k.waitForExecution(id);
    const replay = await call('POST', `/executions/${id}/actions/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body.id).not.toBe(id);
    expect(replay.body.originalId).toBe(id);
    expect(k.getExecution(id)!.labels).toEqual(expect.arrayContaining([{ key: 'system.replayed', value: 'true' }]));
    expect(((await k.waitForExecution(replay.body.id)).state as { current: string }).current).toBe('SUCCESS');
    expect((await call('POST', `/executions/${id}/actions/replay?taskRunId=nope`)).status).toBe(422);
    expect((await call('POST', `/executions/${id}/actions/replay?revision=9`)).status).toBe(404);
  });

  it('sets the labels of a terminated execution only, keeping its system labels, refusing new ones', async () => {
    const id = await run('acts.team', 'four');
    expect((await call('POST', `/executions/${id}/actions/labels`, [{ key: 'team', value: 'a' }])).status).toBe(400);
    await k.waitForExecution(id);
    expect((await call('POST', `/executions/${id}/actions/labels`, [{ key: 'system.readOnly', value: 'true' }])).status).toBe(422);
    expect((await call('POST', `/executions/${id}/actions/labels`, [{ key: 'team', value: 'b' }, { key: 'tier', value: '1' }])).status).toBe(200);
    const reset = await call('POST', `/executions/${id}/actions/labels`, [{ key: 'team', value: 'c' }]);
    expect(reset.status).toBe(200);
    expect(reset.body.labels).toEqual([{ key: 'team', value: 'c' }, { key: 'system.correlationId', value: id }]);
  });

  it('evaluates an expression in an execution\'s context (and a task run\'s), answering an undefined variable as an error', async () => {
    const id = await run('acts.team', 'four');
    const done = await k.waitForExecution(id);
    const taskRun = (done.taskRunList as { id: string }[])[1]!.id;
    const text = (p: string, body: string) => call('POST', p, body, 'text/plain');
    expect(await text(`/executions/${id}/actions/eval`, '{{ flow.namespace }}/{{ flow.id }}')).toMatchObject({ status: 200, body: { result: 'acts.team/four' } });
    expect((await text(`/executions/${id}/actions/eval/${taskRun}`, 'run {{ execution.id }}')).body).toEqual({ result: `run ${id}` });
    const missing = await text(`/executions/${id}/actions/eval`, '{{ nope.x }}');
    expect(missing.status).toBe(200);
    expect(missing.body).toMatchObject({ error: expect.stringContaining('nope.x'), stackTrace: expect.any(String) });
    expect(missing.body).not.toHaveProperty('result');
    expect((await text(`/executions/${id}/actions/eval/unknown`, '{{ flow.id }}')).status).toBe(404);
  });

  it('changes the status of a terminated, not killed execution to a terminal state only', async () => {
    const id = await run('acts.team', 'four');
    expect((await call('POST', `/executions/${id}/actions/change-status?status=FAILED`)).status).toBe(409);
    await k.waitForExecution(id);
    expect((await call('POST', `/executions/${id}/actions/change-status?status=RUNNING`)).status).toBe(422);
    const changed = await call('POST', `/executions/${id}/actions/change-status?status=CANCELLED`);
    expect(changed.status).toBe(200);
    expect(changed.body.state.current).toBe('CANCELLED');
  });
});

describe('Kestra double: bulk operations (…/by-ids and …/by-query are operations, never object ids)', () => {
  beforeAll(async () => {
    expect((await call('POST', '/flows', flow('bulk.team', 'quick', log('a')), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('bulk.team', 'long', log('a') + log('b') + log('c') + log('d') + log('e') + log('f')), 'application/x-yaml')).status).toBe(200);
  });

  it('deletes executions by ids: one unknown id refuses the whole list (400, as the 2.0 controller answers), else all go (BulkResponse)', async () => {
    const id = await run('bulk.team', 'quick');
    await k.waitForExecution(id);
    const refused = await call('DELETE', '/executions/by-ids', [id, 'nope']);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ message: 'invalid bulk delete', invalids: [{ message: 'execution not found', invalidValue: 'nope' }] });
    expect(k.getExecution(id)).toBeDefined();
    const deleted = await call('DELETE', '/executions/by-ids', [id]);
    expect(deleted).toMatchObject({ status: 200, body: { count: 1 } });
    expect(k.getExecution(id)).toBeUndefined();
    expect((await call('DELETE', '/executions/by-ids', 'not json')).status).toBe(400);
    // A running execution is refused in the same words as a missing one, unless includeNonTerminated.
    const running = await run('bulk.team', 'long');
    const notYet = await call('DELETE', '/executions/by-ids', [running]);
    expect(notYet).toMatchObject({ status: 400, body: { invalids: [{ message: 'execution not found', invalidValue: running }] } });
    expect((await call('DELETE', `/executions/by-ids?includeNonTerminated=true`, [running])).status).toBe(200);
    expect(k.getExecution(running)).toBeUndefined();
  });

  it('kills running executions by ids (202, an asynchronous operation) and refuses finished ones (400)', async () => {
    const running = await run('bulk.team', 'long');
    const finished = await run('bulk.team', 'quick');
    await k.waitForExecution(finished);
    const refused = await call('DELETE', '/executions/kill/by-ids', [running, finished]);
    expect(refused.status).toBe(400);
    expect(refused.body.invalids).toEqual([{ message: 'execution already finished', invalidValue: finished }]);
    const killed = await call('DELETE', '/executions/kill/by-ids', [running]);
    expect(killed.status).toBe(202);
    expect(killed.body).toMatchObject({ totalItems: 1, operationId: expect.any(String) });
    expect(((await k.waitForExecution(running)).state as { current: string }).current).toBe('KILLED');
  });

  it('kills, changes the status of and deletes executions by query (the search filters)', async () => {
    const a = await run('bulk.team', 'long');
    const b = await run('bulk.team', 'long');
    const all = '/executions/kill/by-query?filters[flowId][EQUALS]=long&filters[namespace][EQUALS]=bulk.team';
    expect((await call('DELETE', all)).status).toBe(400); // the query also selects the finished ones: nothing killed
    expect(k.getExecution(a)!.state).not.toMatchObject({ current: 'KILLING' });
    const killed = await call('DELETE', `${all}&filters[state][IN]=CREATED,RUNNING`);
    expect(killed.status).toBe(202);
    expect(killed.body.totalItems).toBe(2);
    await k.waitForExecution(a);
    await k.waitForExecution(b);
    const refused = await call('POST', '/executions/change-status/by-ids?newStatus=CANCELLED', [a]);
    expect(refused.body.invalids).toEqual([{ message: 'execution not in a terminated state or is killed', invalidValue: a }]);
    const quick = await run('bulk.team', 'quick');
    await k.waitForExecution(quick);
    expect((await call('POST', '/executions/change-status/by-ids?newStatus=RUNNING', [quick])).status).toBe(422);
    expect((await call('POST', '/executions/change-status/by-ids?newStatus=CANCELLED', [quick])).status).toBe(202);
    expect((k.getExecution(quick)!.state as { current: string }).current).toBe('CANCELLED');
    const deleted = await call('DELETE', '/executions/by-query?filters[flowId][EQUALS]=long');
    expect(deleted.status).toBe(200);
    expect(deleted.body.count).toBeGreaterThanOrEqual(2);
    expect(k.getExecution(a)).toBeUndefined();
    expect(k.getExecution(b)).toBeUndefined();
  });

  it('pauses, resumes, sets labels on, restarts and replays executions in bulk', async () => {
    const id = await run('bulk.team', 'long');
    await k.waitForExecution(id, ['RUNNING']);
    expect((await call('POST', '/executions/resume/by-ids', [id])).body.invalids).toEqual([{ message: 'execution not in state PAUSED', invalidValue: id }]);
    expect((await call('POST', '/executions/pause/by-ids', [id])).status).toBe(202);
    expect((k.getExecution(id)!.state as { current: string }).current).toBe('PAUSED');
    expect((await call('POST', '/executions/resume/by-query?filters[state][EQUALS]=PAUSED&filters[flowId][EQUALS]=long')).body.totalItems).toBe(1);
    await k.waitForExecution(id);
    const labelled = await call('POST', '/executions/labels/by-ids', { executionsId: [id], executionLabels: [{ key: 'env', value: 'prod' }] });
    expect(labelled).toMatchObject({ status: 202, body: { totalItems: 1 } });
    expect(k.getExecution(id)!.labels).toEqual(expect.arrayContaining([{ key: 'env', value: 'prod' }]));
    expect((await call('POST', '/executions/restart/by-ids', [id])).status).toBe(202);
    await k.waitForExecution(id);
    const replayed = await call('POST', '/executions/replay/by-ids', [id, 'nope']);
    expect(replayed).toMatchObject({ status: 400, body: { message: 'invalid bulk replay' } });
    expect((await call('POST', '/executions/replay/by-ids', [id])).body.totalItems).toBe(1);
    expect([...k.store.executions.values()].filter((e) => e.originalId === id && e.id !== id)).toHaveLength(1);
  });

  it('deletes, disables and enables flows by ids and by query', async () => {
    expect((await call('POST', '/flows', flow('delete', 'by-ids', log('a')), 'application/x-yaml')).status).toBe(200);
    const disabled = await call('POST', '/flows/disable/by-query?filters[namespace][EQUALS]=bulk.team');
    expect(disabled).toMatchObject({ status: 200, body: { count: 2 } });
    const quick = (await call('GET', '/flows/bulk.team/quick')).body;
    expect(quick).toMatchObject({ disabled: true, revision: 2 });
    expect(quick.source).toMatch(/^disabled: true$/m);
    const enabled = await call('POST', '/flows/enable/by-ids', [{ namespace: 'bulk.team', id: 'quick' }, { namespace: 'bulk.team', id: 'ghost' }]);
    expect(enabled).toMatchObject({ status: 200, body: { count: 1 } });
    expect((await call('GET', '/flows/bulk.team/quick')).body).toMatchObject({ disabled: false, revision: 3 });
    // A flow in namespace `delete` with id `by-ids` is not what DELETE …/flows/delete/by-ids names.
    const deleted = await call('DELETE', '/flows/delete/by-ids', [{ namespace: 'bulk.team', id: 'quick' }]);
    expect(deleted).toMatchObject({ status: 200, body: { count: 1 } });
    expect((await call('GET', '/flows/bulk.team/quick')).status).toBe(404);
    expect((await call('GET', '/flows/delete/by-ids')).status).toBe(200);
    expect((await call('DELETE', '/flows/delete/by-query?filters[namespace][EQUALS]=bulk.team')).body.count).toBe(1);
    expect((await call('GET', '/flows/bulk.team/long')).status).toBe(404);
  });
});

describe('Kestra double: flows, logs, files, secrets, concurrency limits', () => {
  it('validates flows one by one, by index, storing none', async () => {
    const source = `${flow('val.team', 'good', log('a'))}---\n${flow('val.team', 'bad', '  - id: t\n')}`;
    const res = await call('POST', '/flows/validate', source, 'application/x-yaml');
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
    expect(res.body[0]).toEqual({ index: 0, flow: 'good', namespace: 'val.team' });
    expect(res.body[1]).toMatchObject({ index: 1, flow: 'bad', namespace: 'val.team', constraints: expect.any(String) });
    expect((await call('GET', '/flows/val.team/good')).status).toBe(404);
  });

  it('updates a namespace in bulk: creates, updates, deletes what the body leaves out; one invalid flow stores none', async () => {
    for (const id of ['keep', 'drop']) expect((await call('POST', '/flows', flow('bulkns.team', id, log('a')), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('bulkns.team.sub', 'child', log('a')), 'application/x-yaml')).status).toBe(200);
    const invalid = `${flow('bulkns.team', 'fresh', log('a'))}---\n${flow('bulkns.team', 'broken', '  - id: t\n')}`;
    expect((await call('POST', '/flows/bulk?namespace=bulkns.team', invalid, 'application/x-yaml')).status).toBe(422);
    expect((await call('GET', '/flows/bulkns.team/fresh')).status).toBe(404);
    const outside = flow('elsewhere.team', 'x', log('a'));
    expect((await call('POST', '/flows/bulk?namespace=bulkns.team', outside, 'application/x-yaml')).status).toBe(422);
    const body = `${flow('bulkns.team', 'keep', log('a') + log('b'))}---\n${flow('bulkns.team', 'fresh', log('a'), 'labels:\n  team: data\n')}`;
    const res = await call('POST', '/flows/bulk?namespace=bulkns.team', body, 'application/x-yaml');
    expect(res.status).toBe(200);
    expect(res.body.map((f: { id: string; revision: number }) => [f.id, f.revision])).toEqual([['keep', 2], ['fresh', 1]]);
    expect(res.body[1].labels).toEqual([{ key: 'team', value: 'data' }]);
    expect((await call('GET', '/flows/bulkns.team/drop')).status).toBe(404);
    expect((await call('GET', '/flows/bulkns.team.sub/child')).status).toBe(200); // a child namespace only with allowNamespaceChild
  });

  it('deletes an execution\'s logs from a level up, and leaves them for a flow trigger deletion', async () => {
    expect((await call('POST', '/flows', flow('logs.team', 'two', log('i', 'info line') + log('w', 'warn line', 'WARN')), 'application/x-yaml')).status).toBe(200);
    const id = await run('logs.team', 'two');
    await k.waitForExecution(id);
    expect((await call('DELETE', '/logs/logs.team/two')).status).toBe(400); // triggerId is required
    expect((await call('DELETE', '/logs/logs.team/two?triggerId=schedule')).status).toBe(200);
    expect((await call('GET', `/logs/${id}`)).body.map((l: { message: string }) => l.message)).toEqual(expect.arrayContaining(['info line', 'warn line']));
    expect((await call('DELETE', `/logs/${id}?minLevel=WARN`)).status).toBe(200);
    const left = (await call('GET', `/logs/${id}`)).body.map((l: { message: string }) => l.message);
    expect(left).toContain('info line');
    expect(left).not.toContain('warn line');
  });

  it('keeps namespace-file revisions, searches paths and exports files and flows as a ZIP', async () => {
    const upload = async (path: string, text: string) => {
      const fd = new FormData();
      fd.append('fileContent', new Blob([text]), 'x');
      const res = await fetch(api(`/namespaces/files.team/files?path=${encodeURIComponent(path)}`), { method: 'POST', headers: { authorization: k.authorization }, body: fd });
      expect(res.status).toBe(200);
    };
    await upload('/scripts/run.py', 'v1');
    await upload('/scripts/run.py', 'v2');
    await upload('/readme.md', 'hello');
    expect((await call('POST', '/flows', flow('files.team', 'job', log('a')), 'application/x-yaml')).status).toBe(200);
    expect((await call('GET', '/namespaces/files.team/files/revisions?path=/scripts/run.py')).body).toEqual([{ revision: 1 }, { revision: 2 }]);
    expect((await call('GET', '/namespaces/files.team/files/revisions?path=/nope')).status).toBe(404);
    expect((await call('GET', '/namespaces/files.team/files/search?q=run')).body).toEqual(['/scripts/run.py']);
    const res = await fetch(api('/namespaces/files.team/files/export'), { headers: { authorization: k.authorization } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="files.team_files.zip"');
    const entries = unzipSync(new Uint8Array(await res.arrayBuffer()));
    expect(Object.keys(entries).sort()).toEqual(['_flows/job.yml', 'readme.md', 'scripts/run.py']);
    expect(Buffer.from(entries['scripts/run.py']!).toString()).toBe('v2');
    expect(Buffer.from(entries['_flows/job.yml']!).toString()).toContain('id: job');
  });

  it('draws flow dependencies: Subflow tasks and Flow triggers, one hop or all, both ways or destinations only', async () => {
    const subflow = `  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: deps.team\n    flowId: child\n`;
    const trigger = 'triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    preconditions:\n      flows:\n        - namespace: deps.team\n          flowId: child\n';
    expect((await call('POST', '/flows', flow('deps.team', 'child', log('a')), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('deps.team', 'parent', subflow), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('deps.other', 'listener', log('a'), trigger), 'application/x-yaml')).status).toBe(200);
    const uid = (ns: string, id: string) => `main_${ns}_${id}`;
    const calls = { source: uid('deps.team', 'parent'), target: uid('deps.team', 'child'), relation: 'FLOW_TASK' };
    const triggers = { source: uid('deps.team', 'child'), target: uid('deps.other', 'listener'), relation: 'FLOW_TRIGGER' };
    const child = (await call('GET', '/flows/deps.team/child/dependencies')).body;
    expect(child.edges).toEqual(expect.arrayContaining([calls, triggers]));
    expect(child.edges).toHaveLength(2);
    expect(child.nodes).toEqual(expect.arrayContaining([{ uid: uid('deps.other', 'listener'), namespace: 'deps.other', id: 'listener' }]));
    expect((await call('GET', '/flows/deps.team/child/dependencies?destinationOnly=true')).body.edges).toEqual([triggers]);
    expect((await call('GET', '/flows/deps.team/parent/dependencies')).body.edges).toEqual([calls]);
    expect((await call('GET', '/flows/deps.team/parent/dependencies?expandAll=true')).body.edges).toEqual(expect.arrayContaining([calls, triggers]));
    expect((await call('GET', '/namespaces/deps.other/dependencies')).body.edges).toEqual([triggers]);
    expect((await call('GET', '/flows/deps.team/ghost/dependencies')).status).toBe(404);
  });

  it('draws a 2.0 Flow trigger\'s dependsOn as a FLOW_TRIGGER edge from each flow an entry matches', async () => {
    const trigger = 'triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    dependsOn:\n      - namespace: dep2.team\n        flowId: up\n        states: [SUCCESS]\n';
    expect((await call('POST', '/flows', flow('dep2.team', 'up', log('a')), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('dep2.team', 'aside', log('a')), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('dep2.other', 'down', log('a'), trigger), 'application/x-yaml')).status).toBe(200);
    const edge = { source: 'main_dep2.team_up', target: 'main_dep2.other_down', relation: 'FLOW_TRIGGER' };
    expect((await call('GET', '/flows/dep2.team/up/dependencies')).body.edges).toEqual([edge]);
    expect((await call('GET', '/flows/dep2.team/aside/dependencies')).body.edges).toEqual([]);
    expect((await call('GET', '/namespaces/dep2.other/dependencies')).body.edges).toEqual([edge]);
  });

  it('disables, unlocks and deletes listed triggers (202, counting only those acted on; unknown ones skipped)', async () => {
    const schedules = 'triggers:\n  - id: a\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 2 * * *"\n  - id: b\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 3 * * *"\n';
    expect((await call('POST', '/flows', flow('trig.bulk', 'timed', log('x'), schedules), 'application/x-yaml')).status).toBe(200);
    const id = (triggerId: string) => ({ namespace: 'trig.bulk', flowId: 'timed', triggerId });
    const states = async () => (await call('GET', '/triggers/trig.bulk/timed')).body.results.map((t: any) => [t.triggerId, t.disabled, t.locked]);

    const off = await call('POST', '/triggers/set-disabled/by-triggers', { triggers: [id('a'), id('b'), id('ghost')], disabled: true });
    expect(off).toMatchObject({ status: 202, body: { totalItems: 2, operationId: expect.any(String) } });
    expect(await states()).toEqual([['a', true, false], ['b', true, false]]);
    expect((await call('POST', '/triggers/set-disabled/by-triggers', { triggers: [id('a')] })).status).toBe(400);

    k.lockTrigger('trig.bulk', 'timed', 'a');
    const unlocked = await call('POST', '/triggers/unlock/by-triggers', [id('a'), id('b')]);
    expect(unlocked).toMatchObject({ status: 202, body: { totalItems: 1 } });
    expect(await states()).toEqual([['a', true, false], ['b', true, false]]);

    const deleted = await call('DELETE', '/triggers/delete/by-triggers', [id('b'), { namespace: 'trig.bulk', flowId: 'nope', triggerId: 'b' }]);
    expect(deleted).toMatchObject({ status: 202, body: { totalItems: 1 } });
    // The deleted state starts afresh from the YAML; the other keeps its own.
    expect(await states()).toEqual([['a', true, false], ['b', false, false]]);
    expect((await call('DELETE', '/triggers/delete/by-triggers', 'not json')).status).toBe(400);
  });

  it('disables, unlocks and deletes the triggers a query selects (202, counting those acted on; others untouched)', async () => {
    const schedules = 'triggers:\n  - id: a\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 2 * * *"\n  - id: b\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 3 * * *"\n';
    expect((await call('POST', '/flows', flow('trigq.one', 'timed', log('x'), schedules), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('trigq.two', 'timed', log('x'), schedules), 'application/x-yaml')).status).toBe(200);
    const states = async (ns: string) => (await call('GET', `/triggers/${ns}/timed`)).body.results.map((t: any) => [t.triggerId, t.disabled, t.locked]);

    const off = await call('POST', '/triggers/set-disabled/by-query?filters[namespace][EQUALS]=trigq.one');
    expect(off).toMatchObject({ status: 202, body: { totalItems: 2, operationId: expect.any(String) } });
    expect(await states('trigq.one')).toEqual([['a', true, false], ['b', true, false]]);
    expect(await states('trigq.two')).toEqual([['a', false, false], ['b', false, false]]);
    const on = await call('POST', '/triggers/set-disabled/by-query?filters[namespace][EQUALS]=trigq.one&filters[triggerId][EQUALS]=b&disabled=false');
    expect(on).toMatchObject({ status: 202, body: { totalItems: 1 } });
    expect(await states('trigq.one')).toEqual([['a', true, false], ['b', false, false]]);

    k.lockTrigger('trigq.two', 'timed', 'a');
    const unlocked = await call('POST', '/triggers/unlock/by-query?filters[namespace][STARTS_WITH]=trigq.');
    expect(unlocked).toMatchObject({ status: 202, body: { totalItems: 1 } });
    expect(await states('trigq.two')).toEqual([['a', false, false], ['b', false, false]]);

    const deleted = await call('DELETE', '/triggers/delete/by-query?filters[namespace][EQUALS]=trigq.one&filters[q][EQUALS]=a');
    expect(deleted).toMatchObject({ status: 202, body: { totalItems: 1 } });
    // The deleted state starts afresh from the YAML (enabled); the other keeps its own.
    expect(await states('trigq.one')).toEqual([['a', false, false], ['b', false, false]]);
  });

  it('lists the secrets\' keys, read-only, never their values', async () => {
    const res = await call('GET', '/secrets');
    expect(res).toMatchObject({ status: 200, body: { readOnly: true, results: [{ key: 'AWS_KEY' }, { key: 'SLACK_TOKEN' }], total: 2 } });
  });

  it('searches the flows that declare a concurrency limit, with their running executions', async () => {
    expect((await call('POST', '/flows', flow('conc.team', 'limited', log('a') + log('b') + log('c'), 'concurrency:\n  limit: 1\n  behavior: QUEUE\n'), 'application/x-yaml')).status).toBe(200);
    expect((await call('POST', '/flows', flow('conc.team', 'free', log('a')), 'application/x-yaml')).status).toBe(200);
    const id = await run('conc.team', 'limited');
    await k.waitForExecution(id, ['RUNNING']);
    const res = await call('GET', '/concurrency-limit/search?filters[namespace][EQUALS]=conc.team');
    expect(res).toMatchObject({ status: 200, body: { total: 1, results: [{ tenantId: 'main', namespace: 'conc.team', flowId: 'limited', running: 1 }] } });
  });

  it('sent no response that breaks the OpenAPI contract', () => {
    expect(k.contractViolations).toEqual([]);
  });
});
