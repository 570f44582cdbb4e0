/**
 * Worker groups at flow save (issue 25, point 3; docs/design/worker-groups.md §4): in a namespace
 * bound to a group, every script task names the Docker task runner and one of the group's hosts,
 * literally; a host reserved by a group is used only from its namespaces. Anything else is refused
 * with 403 naming the task and its line, on create, update, import and `_flows/` files, and nothing
 * reaches Kestra. Flows are never rewritten: what is accepted is forwarded byte for byte.
 */
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { fileUpload } from '../support/multipart.js';
import { startBehindKestra, type Browser } from '../support/perch.js';

const yaml = { 'content-type': 'application/x-yaml' };
const GPU = 'tcp://gpu-1.internal:2375';
const CPU = 'tcp://cpu-1.internal:2375';

/** A flow with one task, `task` indented as a list item under `tasks:` (its first line is line 4). */
const flow = (namespace: string, id: string, task: string) => `id: ${id}\nnamespace: ${namespace}\ntasks:\n${task}`;
const python = (runner: string, extra = '') =>
  `  - id: fit\n    type: io.kestra.plugin.scripts.python.Script\n    containerImage: python:3.12\n${extra}${runner}    script: print(1)\n`;
const docker = (host: string) => `    taskRunner:\n      type: io.kestra.plugin.scripts.runner.docker.Docker\n      host: ${host}\n`;

describe('script placement at flow save', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let kestra: KestraDouble;
  let admin: Browser;

  beforeAll(async () => {
    env = await startBehindKestra();
    ({ kestra, admin } = env);
    for (const group of [
      { id: 'gpu', name: 'GPU', subscriptions: [], targets: [{ id: 'g1', kind: 'docker', host: GPU }], namespaces: ['ml'] },
      { id: 'cpu', name: 'CPU', subscriptions: [], targets: [{ id: 'c1', kind: 'docker', host: CPU }], namespaces: ['etl'] },
    ]) expect((await admin.fetch('POST', '/api/v1/instance/worker-groups', { json: group })).status).toBe(200);
  });
  afterAll(() => env?.close());

  /** The four ways a flow is saved; every one must give the same refusal, and nothing reaches Kestra. */
  async function everySave(source: string, namespace: string, id: string) {
    kestra.clear();
    const answers = [
      await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml }),
      await admin.fetch('PUT', `/api/v1/main/flows/${namespace}/${id}`, { body: source, headers: yaml }),
      await admin.fetch('POST', '/api/v1/main/flows/import', fileUpload(zipSync({ 'flow.yml': strToU8(source) }), 'flows.zip')),
      await admin.fetch('POST', `/api/v1/main/namespaces/${namespace}/files?path=${encodeURIComponent(`/_flows/${id}.yml`)}`, fileUpload(source, `${id}.yml`, 'fileContent')),
    ];
    return answers;
  }

  it.each([
    ['a script task with no runner (it would run on the worker’s own Docker)', 'ml', python(''), /task "fit" \(line 4\) names no taskRunner; it must run on worker group "gpu"; set taskRunner \{type: io\.kestra\.plugin\.scripts\.runner\.docker\.Docker, host: tcp:\/\/gpu-1\.internal:2375\}/],
    ['the Process runner', 'ml', python('    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n'), /task "fit" \(line 4\) uses the task runner io\.kestra\.plugin\.core\.runner\.Process/],
    ['a Docker runner without host', 'ml', python('    taskRunner:\n      type: io.kestra.plugin.scripts.runner.docker.Docker\n'), /names no Docker host/],
    ['the host spelled in capitals', 'ml', python(docker('tcp://GPU-1.internal:2375')), /uses the Docker host tcp:\/\/GPU-1\.internal:2375, not a target of worker group "gpu"/],
    ['the host with a trailing dot', 'ml', python(docker('tcp://gpu-1.internal.:2375')), /not a target of worker group "gpu"/],
    ['the host with user info', 'ml', python(docker('tcp://gpu-1.internal:2375@evil:2375')), /not a target of worker group "gpu"/],
    ['the host from an expression', 'ml', python(docker('"{{ inputs.host }}"')), /names its Docker host by an expression/],
    ['the host from an expression in a literal prefix', 'ml', python(docker('tcp://gpu-1.internal:2375{{ "" }}')), /names its Docker host by an expression/],
    ['the runner type from an expression', 'ml', python('    taskRunner:\n      type: "{{ vars.runner }}"\n      host: tcp://gpu-1.internal:2375\n'), /names its taskRunner by an expression/],
    ['the other group’s host', 'ml.train', python(docker(CPU)), /uses the Docker host tcp:\/\/cpu-1\.internal:2375, not a target of worker group "gpu"/],
    ['the legacy docker property', 'ml', python(docker(GPU), '    docker:\n      host: tcp://elsewhere:2375\n'), /uses the legacy docker\/runner properties/],
    ['an in-worker script engine', 'ml', '  - id: fit\n    type: io.kestra.plugin.scripts.jvm.Eval\n    script: 1\n', /runs inside Kestra's worker/],
    ['a group’s host from a namespace not bound to it', 'finance', python(docker(GPU)), /uses the Docker host tcp:\/\/gpu-1\.internal:2375 of worker group "gpu", which namespace finance is not bound to/],
    ['a templated task (built at run time, it may become any script)', 'ml', '  - id: fit\n    type: io.kestra.plugin.core.templating.TemplatedTask\n    spec: "{{ vars.task }}"\n', /task "fit" \(line 4\) names its taskRunner by an expression/],
    ['a script under a pre-0.11 type name', 'ml', '  - id: fit\n    type: io.kestra.core.tasks.scripts.Bash\n    commands: [echo]\n', /task "fit" \(line 4\) names no taskRunner/],
    ['a script nested in a flowable task’s errors', 'ml', `  - id: seq\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks:\n      - id: ok\n        type: io.kestra.plugin.core.log.Log\n        message: hi\n    errors:\n      - id: fit\n        type: io.kestra.plugin.scripts.shell.Commands\n        commands: [echo]\n`, /task "fit" \(line 11\) names no taskRunner/],
  ])('refuses %s on create, update, import and _flows/ files, naming the task and line', async (_name, namespace, task, why) => {
    const id = 'placed';
    const answers = await everySave(flow(namespace, id, task), namespace, id);
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(403);
      expect(answer.json.message).toMatch(/^This flow would run code outside its worker group: flow /);
      expect(answer.json.message).toMatch(why);
    }
    expect(kestra.requests).toEqual([]);
  });

  it.each([
    ['a script on the group’s host', 'ml', python(docker(GPU))],
    ['a script on the group’s host from a child namespace', 'ml.train.nightly', python(docker(GPU))],
    ['a script on the group’s host, quoted', 'ml', python(docker(`"${GPU}"`))],
    ['a task that runs no code', 'ml', '  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n'],
    ['a script without runner in an unbound namespace', 'finance', python('')],
    ['a script on an unregistered host in an unbound namespace', 'finance', python(docker('tcp://mine:2375'))],
  ])('lets %s through, unchanged', async (name, namespace, task) => {
    kestra.clear();
    const source = flow(namespace, `fine${name.length}`, task);
    const res = await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml });
    expect(res.status, res.text).toBe(200);
    expect(kestra.requests).toHaveLength(1);
    expect(kestra.requests[0]!.body.toString('utf8')).toBe(source);
  });

  it('follows registry changes at once: unbinding a namespace lifts its rule', async () => {
    const source = flow('etl', 'load', python(''));
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml })).status).toBe(403);
    expect((await admin.fetch('PUT', '/api/v1/instance/worker-groups/cpu', { json: { name: 'CPU', subscriptions: [], targets: [{ id: 'c1', kind: 'docker', host: CPU }], namespaces: [] } })).status).toBe(200);
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml })).status).toBe(200);
  });
});
