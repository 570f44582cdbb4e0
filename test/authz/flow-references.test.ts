import { describe, expect, it } from 'vitest';
import { analyseFlowSource, KESTRA_API_TASK_PREFIXES, type FlowReference } from '../../backend/authz/flow-references.js';
import { KestraHosts } from '../../backend/authz/kestra-hosts.js';

/** `head` is lines 1–2; the body starts on line 3. */
const head = 'id: demo\nnamespace: company.team\n';
const flow = (body: string) => head + body;

type Ref = Pick<FlowReference, 'line' | 'resource' | 'action' | 'namespace'>;
const refsOf = (source: string): Ref[] => {
  const r = analyseFlowSource(source);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.documents[0]!.references.map(({ line, resource, action, namespace }) => ({ line, resource, action, namespace }));
};
const ref = (line: number, resource: Ref['resource'], action: Ref['action'], namespace: string | null): Ref => ({ line, resource, action, namespace });

describe('analyseFlowSource: references', () => {
  const cases: Array<[string, string, Ref[]]> = [
    ['a plain flow has none', flow(`tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.name }} from {{ flow.namespace }}"
`), []],
    ['subflow to another namespace', flow(`tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.finance
    flowId: payroll
`), [ref(6, 'FLOW', 'EXECUTE', 'company.finance')]],
    ['legacy Flow task and ForEachItem', flow(`tasks:
  - id: old
    type: io.kestra.core.tasks.flows.Flow
    namespace: legacy.ns
    flowId: f
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{ inputs.file }}"
    namespace: batch.ns
    flowId: g
`), [ref(6, 'FLOW', 'EXECUTE', 'legacy.ns'), ref(11, 'FLOW', 'EXECUTE', 'batch.ns')]],
    ['subflow to its own namespace is still listed', flow(`tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: other
`), [ref(6, 'FLOW', 'EXECUTE', 'company.team')]],
    ['dynamic subflow namespace', flow(`tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: "{{ inputs.ns }}"
    flowId: payroll
`), [ref(6, 'FLOW', 'EXECUTE', null)]],
    ['flow trigger with 2.0 when', flow(`triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    when:
      flows:
        - namespace: company.sales
          flowId: orders
`), [ref(8, 'EXECUTION', 'VIEW', 'company.sales'), ref(8, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.sales')]],
    ['flow trigger with 1.x conditions', flow(`triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.sales
        flowId: orders
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.ops
`), [ref(8, 'EXECUTION', 'VIEW', 'company.sales'), ref(8, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.sales'),
      ref(11, 'EXECUTION', 'VIEW', 'company.ops'), ref(11, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.ops')]],
    ['flow trigger preconditions where-filter', flow(`triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: f
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.sales
            - field: NAMESPACE
              type: STARTS_WITH
              value: comp
`), [ref(13, 'EXECUTION', 'VIEW', 'company.sales'), ref(13, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.sales'),
      ref(16, 'EXECUTION', 'VIEW', null), ref(16, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['namespace string prefix is unbounded unless it ends with a dot', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company
        comparison: PREFIX
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.sales.
        prefix: true
`), [ref(8, 'EXECUTION', 'VIEW', null), ref(8, 'EXECUTION', 'ACCESS_OUTPUTS', null),
      ref(11, 'EXECUTION', 'VIEW', 'company.sales'), ref(11, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.sales')]],
    ['flow trigger without any namespace condition listens everywhere', flow(`triggers:
  - id: any
    type: io.kestra.plugin.core.trigger.Flow
    when:
      states: [FAILED]
`), [ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['kv() keyword, positional, own and dynamic', flow(`tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('a', namespace='company.hr') }}"
  - id: log2
    type: io.kestra.plugin.core.log.Log
    message: '{{ kv("b", "company.it", errorOnMissing=false) }}'
  - id: log3
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('c') }} {{ kv('d', namespace=inputs.ns) }} {{ kv('e', namespace='comp' ~ 'any') }}"
`), [ref(6, 'KVSTORE', 'VIEW', 'company.hr'), ref(9, 'KVSTORE', 'VIEW', 'company.it'),
      ref(12, 'KVSTORE', 'VIEW', 'company.team'), ref(12, 'KVSTORE', 'VIEW', null), ref(12, 'KVSTORE', 'VIEW', null)]],
    ['kv() in a literal block reports its own line; prose outside {{ }} is ignored', flow(`tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    script: |
      # calls kv('x', 'nowhere') and read it later
      token = "{{ kv('api', namespace='company.secrets') }}"
`), [ref(8, 'KVSTORE', 'VIEW', 'company.secrets')]],
    ['read() of another namespace file and a built-up URI', flow(`tasks:
  - id: r
    type: io.kestra.plugin.core.log.Log
    message: "{{ read('nsfile://company.data/a.csv') }} {{ read('nsfile:///own.txt') }}"
  - id: r2
    type: io.kestra.plugin.core.log.Log
    message: "{{ read('ns' ~ 'file://x/y') }} {{ read(outputs.dl.uri) }}"
`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.data'), ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.team'),
      ref(9, 'NAMESPACE', 'MANAGE_FILES', null), ref(9, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['nsfile URI with a dynamic namespace', flow(`tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      a.csv: "nsfile://{{ inputs.ns }}/a.csv"
`), [ref(7, 'NAMESPACE', 'MANAGE_FILES', null)]],
    ['namespaceFiles namespaces list', flow(`tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
      namespaces:
        - company.shared
        - "{{ inputs.ns }}"
    commands: [python main.py]
`), [ref(9, 'NAMESPACE', 'MANAGE_FILES', 'company.shared'), ref(10, 'NAMESPACE', 'MANAGE_FILES', null)]],
    ['namespaceFiles without a list reads its own namespace; disabled reads none', flow(`tasks:
  - id: a
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
  - id: b
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: false
      namespaces: [company.shared]
`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.team')]],
    ['KV tasks', flow(`tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    namespace: company.hr
    key: k
    value: v
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: k
  - id: del
    type: io.kestra.plugin.core.kv.Delete
    namespace: "{{ inputs.ns }}"
    key: k
`), [ref(6, 'KVSTORE', 'CREATE', 'company.hr'), ref(6, 'KVSTORE', 'UPDATE', 'company.hr'),
      ref(10, 'KVSTORE', 'VIEW', 'company.team'), ref(14, 'KVSTORE', 'DELETE', null)]],
    ['Kestra API tasks need tenant-wide FLOW UPDATE', flow(`tasks:
  - id: api
    type: io.kestra.plugin.kestra.flows.Export
  - id: git
    type: io.kestra.plugin.git.SyncFlows
    targetNamespace: company.team
`), [ref(5, 'FLOW', 'UPDATE', null), ref(7, 'FLOW', 'UPDATE', null)]],
    ['purging executions without a namespace is tenant-wide', flow(`tasks:
  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
    endDate: "{{ now() }}"
`), [ref(5, 'EXECUTION', 'DELETE', null)]],
    ['secret() is instance-wide', flow(`tasks:
  - id: s
    type: io.kestra.plugin.core.log.Log
    message: "{{ secret('GITHUB_TOKEN') }}"
`), [ref(6, 'SECRET', 'VIEW', null)]],
    ['render() of run-time text', flow(`tasks:
  - id: s
    type: io.kestra.plugin.core.log.Log
    message: "{{ render(inputs.expr) }}"
`), [ref(6, 'KVSTORE', 'VIEW', null), ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'SECRET', 'VIEW', null)]],
    ['nested tasks in Parallel/If/Switch/Loop/Dag, errors, finally, afterExecution', flow(`tasks:
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: if
        type: io.kestra.plugin.core.flow.If
        condition: "{{ true }}"
        then:
          - id: a
            type: io.kestra.plugin.core.flow.Subflow
            namespace: ns.a
            flowId: f
        else:
          - id: sw
            type: io.kestra.plugin.core.flow.Switch
            value: x
            cases:
              x:
                - id: b
                  type: io.kestra.plugin.core.flow.Subflow
                  namespace: ns.b
                  flowId: f
  - id: loop
    type: io.kestra.plugin.core.flow.Loop
    tasks:
      - id: c
        type: io.kestra.plugin.core.flow.Subflow
        namespace: ns.c
        flowId: f
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: d
          type: io.kestra.plugin.core.flow.Subflow
          namespace: ns.d
          flowId: f
errors:
  - id: e
    type: io.kestra.plugin.core.flow.Subflow
    namespace: ns.e
    flowId: f
finally:
  - id: g
    type: io.kestra.plugin.core.kv.Get
    namespace: ns.g
    key: k
afterExecution:
  - id: h
    type: io.kestra.plugin.core.flow.Subflow
    namespace: ns.h
    flowId: f
`), [ref(13, 'FLOW', 'EXECUTE', 'ns.a'), ref(23, 'FLOW', 'EXECUTE', 'ns.b'), ref(30, 'FLOW', 'EXECUTE', 'ns.c'),
      ref(38, 'FLOW', 'EXECUTE', 'ns.d'), ref(43, 'FLOW', 'EXECUTE', 'ns.e'), ref(48, 'KVSTORE', 'VIEW', 'ns.g'),
      ref(53, 'FLOW', 'EXECUTE', 'ns.h')]],
    ['namespace-file tasks, trigger toggling, current-execution purge', flow(`tasks:
  - id: up
    type: io.kestra.plugin.core.namespace.UploadFiles
    namespace: company.web
    files: ["{{ inputs.f }}"]
  - id: toggle
    type: io.kestra.plugin.core.trigger.Toggle
    namespace: company.ops
    flowId: nightly
    trigger: schedule
  - id: clean
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
  - id: logs
    type: io.kestra.plugin.core.log.PurgeLogs
    namespace: company.hr
`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.web'), ref(10, 'FLOW', 'UPDATE', 'company.ops'),
      ref(17, 'EXECUTION', 'DELETE', 'company.hr')]],
    ['an unknown task naming a flow is read as running it', flow(`tasks:
  - id: x
    type: io.kestra.plugin.core.flow.SomethingNew
    namespace: company.x
    flowId: y
`), [ref(6, 'FLOW', 'EXECUTE', 'company.x')]],
    ['escaped YAML text and Pebble whitespace do not hide a call', flow(`tasks:
  - id: s
    type: io.kestra.plugin.core.log.Log
    message: "{{ \\u006bv ( 'k' , namespace = 'company.hr' ) }} {{ \\"}}\\" ~ kv('j', 'company.it') }}"
`), [ref(6, 'KVSTORE', 'VIEW', 'company.hr'), ref(6, 'KVSTORE', 'VIEW', 'company.it')]],
    ['non-Kestra plugins with a namespace property (Kubernetes) are not Kestra namespaces', flow(`tasks:
  - id: pod
    type: io.kestra.plugin.kubernetes.PodCreate
    namespace: default
`), []],
  ];

  it.each(cases)('%s', (_name, source, expected) => {
    expect(refsOf(source)).toEqual(expected);
  });

  it('describes references in words a person can act on', () => {
    const r = analyseFlowSource(cases[1]![1]);
    expect(r.ok && r.documents[0]!.references[0]!.what).toBe("Subflow task 'call' runs company.finance.payroll");
    const d = analyseFlowSource(cases[4]![1]);
    expect(d.ok && d.documents[0]!.references[0]!.what).toMatch(/dynamic namespace \(\{\{ inputs\.ns \}\}\)/);
  });

  it('exports the Kestra API task prefixes', () => {
    expect(KESTRA_API_TASK_PREFIXES).toContain('io.kestra.plugin.kestra.');
  });
});

describe('analyseFlowSource: documents and refusals', () => {
  it('reports the flow and the line of its namespace', () => {
    const r = analyseFlowSource('# comment\nid: demo\n\nnamespace: company.team\ntasks: []\n');
    expect(r).toEqual({ ok: true, documents: [{ namespace: 'company.team', id: 'demo', line: 4, references: [], placement: { scripts: [] } }] });
  });

  const refusals: Array<[string, string, number | undefined, RegExp]> = [
    ['duplicate namespace keys', 'id: a\nnamespace: company.team\nnamespace: company.finance\n', 3, /unique/],
    ['duplicate keys differing only in quoting', 'id: a\nnamespace: x\n"namespace": y\n', 3, /unique/],
    ['duplicate keys in a JSON body', '{"id":"a","namespace":"x","namespace":"y"}', 1, /unique/],
    ['duplicate keys deep inside a task', flow('tasks:\n  - id: t\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: a\n    namespace: b\n    flowId: f\n'), 7, /unique/],
    ['merge key', 'base: {namespace: company.finance}\n<<: {x: 1}\nid: a\nnamespace: company.team\n', 2, /merge/],
    ['anchor', 'id: a\nnamespace: &ns company.team\n', 2, /anchor/],
    ['alias', 'id: a\nnamespace: company.team\nvars: {a: *ns}\n', 3, /alias/],
    ['custom tag', 'id: a\nnamespace: !ns company.team\n', 2, /tag/i],
    ['binary tag', 'id: a\nnamespace: company.team\nx: !!binary aGk=\n', 3, /tag/],
    ['%YAML directive', '%YAML 1.1\n---\nid: a\nnamespace: company.team\n', 3, /directive/],
    ['multi-document stream', 'id: a\nnamespace: x\n---\nid: b\nnamespace: y\n', 3, /documents/],
    ['sequence root', '- id: a\n  namespace: x\n', 1, /mapping/],
    ['scalar root', 'hello', 1, /mapping/],
    ['empty source', '', undefined, /empty/],
    ['missing namespace', 'id: a\n', 1, /namespace/],
    ['numeric namespace', 'id: a\nnamespace: 42\n', 2, /namespace/],
    ['YAML 1.1 boolean namespace', 'id: a\nnamespace: on\n', 2, /namespace/],
    ['mapping namespace', 'id: a\nnamespace: {x: 1}\n', 2, /namespace/],
    ['expression namespace', 'id: a\nnamespace: "{{ inputs.ns }}"\n', 2, /namespace/],
    ['missing id', 'namespace: company.team\n', 1, /id/],
    ['duplicate keys hidden by YAML escapes', 'id: a\nnamespace: x\n"n\\u0061mespace": y\n', 3, /unique/],
    ['complex key', '? [a]\n: 1\nid: a\nnamespace: x\n', 1, /key/],
  ];
  it.each(refusals)('refuses %s', (_name, source, line, message) => {
    const r = analyseFlowSource(source);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toMatch(message);
      expect(r.line).toBe(line);
    }
  });

  it('analyses each document of a stream when allowed', () => {
    const source = `id: a
namespace: company.team
---
id: b
namespace: company.ops
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.finance
    flowId: payroll
---
`;
    const r = analyseFlowSource(source, { multiDocument: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.documents.map((d) => [d.namespace, d.id, d.line])).toEqual([['company.team', 'a', 2], ['company.ops', 'b', 5]]);
    expect(r.documents[1]!.references).toMatchObject([{ line: 9, resource: 'FLOW', action: 'EXECUTE', namespace: 'company.finance' }]);
  });

  it('refuses the whole stream when one document is bad', () => {
    const r = analyseFlowSource('id: a\nnamespace: x\n---\nid: b\nnamespace: y\nnamespace: z\n', { multiDocument: true });
    expect(r).toMatchObject({ ok: false, line: 6 });
  });

  it('accepts a single document with an explicit start marker and a trailing marker', () => {
    const r = analyseFlowSource('---\nid: a\nnamespace: x\n---\n');
    expect(r).toMatchObject({ ok: true, documents: [{ namespace: 'x', id: 'a', line: 3 }] });
  });
});

const task = (type: string, props: string) => flow(`tasks:\n  - id: t\n    type: ${type}\n${props}`);
const log = (message: string) => task('io.kestra.plugin.core.log.Log', `    message: ${message}\n`);

/** Issue 16.2: every Pebble file function, storage URI and call to Kestra's own address. */
describe('analyseFlowSource: files and calls that reach past the flow', () => {
  const cases: Array<[string, string, Ref[]]> = [
    ['read() with namespace=', log(`"{{ read('a.txt', namespace='team.b') }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'team.b')]],
    ['fileExists() with path= and namespace=', log(`"{{ fileExists(path='a.txt', namespace='company.hr') }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.hr')]],
    ['fileSize() with a positional namespace', log(`"{{ fileSize('a.txt', 'company.hr') }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.hr')]],
    ['isFileEmpty(), fileURI() and fileEmpty()', log(`"{{ isFileEmpty('x', namespace='ns.a') }} {{ fileURI('y', namespace='ns.b') }} {{ fileEmpty('z', namespace='ns.c') }}"`),
      [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'ns.a'), ref(6, 'NAMESPACE', 'MANAGE_FILES', 'ns.b'), ref(6, 'NAMESPACE', 'MANAGE_FILES', 'ns.c')]],
    ['a bare path is a file of the flow’s own namespace', log(`"{{ read('conf/a.json') }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.team')]],
    ['a dynamic namespace=', log(`"{{ fileExists('a', namespace=inputs.ns) }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', null)]],
    ['nsfile:/// with namespace= opens that namespace', log(`"{{ read('nsfile:///a.txt', namespace='team.b') }}"`),
      [ref(6, 'NAMESPACE', 'MANAGE_FILES', 'team.b'), ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.team')]],
    ['a path climbing out with ..', log(`"{{ read('../../company/finance/_files/x') }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', null)]],
    ['a file of the Kestra server', log(`"{{ read('file:///app/confs/application.yml') }}"`), [ref(6, 'FLOW', 'UPDATE', null)]],
    ['another scheme', log(`"{{ read('s3://bucket/a') }}"`), [ref(6, 'NAMESPACE', 'MANAGE_FILES', null)]],
    ['a run-time path from an input or a task’s value', log(`"{{ read(inputs.path) }} {{ fileSize(outputs.t.vars.uri) }}"`),
      [ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null), ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['files this execution stored are its own', flow(`inputs:
  - id: upload
    type: FILE
  - id: text
    type: STRING
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.upload) }} {{ read(outputs.dl.uri) }} {{ fileSize(outputs.py.outputFiles['out.csv']) }} {{ isFileEmpty(outputs.py.outputFiles.log) }}"
`), []],
    ['a STRING input holding a URI is not', flow(`inputs:
  - id: text
    type: STRING
tasks:
  - id: t
    type: io.kestra.plugin.core.log.Log
    message: "{{ read(inputs.text) }}"
`), [ref(9, 'NAMESPACE', 'MANAGE_FILES', null), ref(9, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['a storage URI of another namespace’s execution, in a function and in a task property', flow(`tasks:
  - id: r
    type: io.kestra.plugin.core.log.Log
    message: "{{ read('kestra:///company/finance/payroll/executions/4Xx/tasks/t/1a/o.ion') }}"
  - id: split
    type: io.kestra.plugin.core.storage.Split
    from: kestra:///company/hr/people/executions/5Yy/tasks/t/2b/list.csv
`), [ref(6, 'EXECUTION', 'ACCESS_FILES', 'company.finance'), ref(9, 'EXECUTION', 'ACCESS_FILES', 'company.hr')]],
    ['storage URIs of the flow’s own namespace', log(`"kestra:///company/team/demo/executions/1/tasks/t/2/a kestra:///company/team/_files/b.txt"`),
      [ref(6, 'EXECUTION', 'ACCESS_FILES', 'company.team'), ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.team')]],
    ['storage URIs Perch cannot place', flow(`tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      a: kestra:///company/team/demo/executions/1/tasks/t/../../../../finance/p/executions/2/tasks/t/3/x
      b: "kestra:///{{ inputs.ns }}/f/executions/1/tasks/t/2/x"
      c: kestra://company/finance/p/executions/1/tasks/t/2/x
      d: KESTRA:///company/finance/p/executions/1/tasks/t/2/x
      e: kestra:///company/finance/_files/secret.txt
`), [ref(7, 'EXECUTION', 'ACCESS_FILES', null), ref(8, 'EXECUTION', 'ACCESS_FILES', null), ref(9, 'EXECUTION', 'ACCESS_FILES', null),
      ref(10, 'EXECUTION', 'ACCESS_FILES', null), ref(11, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['a storage URI with a single slash', flow(`tasks:
  - id: split
    type: io.kestra.plugin.core.storage.Split
    from: kestra:/company/finance/p/executions/1/tasks/t/2/rows.csv
`), [ref(6, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['plugin defaults that set a namespace or an address for every task of a type', flow(`tasks:
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: k
pluginDefaults:
  - type: io.kestra.plugin.core.kv
    forced: true
    values:
      namespace: company.hr
  - type: io.kestra.plugin.core.http
    values:
      uri: http://127.0.0.1:8080/api/v1/main/kv
  - type: io.kestra.plugin.core.http.Request
    values:
      uri: "{{ vars.target }}"
  - type: io.kestra.plugin.scripts
    values:
      namespaceFiles:
        enabled: true
        namespaces: [company.shared]
`), [ref(5, 'KVSTORE', 'VIEW', 'company.team'), ref(14, 'FLOW', 'UPDATE', null), ref(22, 'NAMESPACE', 'MANAGE_FILES', 'company.shared'),
      ref(11, 'FLOW', 'UPDATE', 'company.hr'), ref(17, 'FLOW', 'UPDATE', null)]],
    ['subflow() runs a flow of its namespace', flow(`inputs:
  - id: pick
    type: SELECT
    values: "{{ subflow('company.finance', 'payroll').outputs.list }}"
  - id: pick2
    type: SELECT
    values: "{{ subflow(id='x', namespace=inputs.ns).outputs.list }}"
`), [ref(6, 'FLOW', 'EXECUTE', 'company.finance'), ref(9, 'FLOW', 'EXECUTE', null)]],
    ['an unknown function given namespace=', log(`"{{ someNewFunction('k', namespace='company.hr') }}"`), [ref(6, 'FLOW', 'UPDATE', 'company.hr')]],
    ['http() to Kestra, to elsewhere and to a run-time address', log(`"{{ http('http://localhost:8080/api/v1/main/flows/search') }} {{ http(uri='https://api.example.com/x') }} {{ http('https://api.example.com/' ~ inputs.p) }} {{ http(inputs.url) }} {{ http('http://' ~ inputs.host) }}"`),
      [ref(6, 'FLOW', 'UPDATE', null), ref(6, 'FLOW', 'UPDATE', null), ref(6, 'FLOW', 'UPDATE', null)]],
    ['HTTP tasks (core, 1.x) aimed at Kestra or at a run-time address', flow(`tasks:
  - id: a
    type: io.kestra.plugin.core.http.Request
    uri: http://0x7f.1:8080/api/v1/main/executions
  - id: b
    type: io.kestra.plugin.fs.http.Download
    uri: "http://[::ffff:127.0.0.1]/api"
  - id: c
    type: io.kestra.plugin.core.http.Request
    uri: "{{ vars.base }}/api"
  - id: d
    type: io.kestra.plugin.core.http.Request
    uri: https://api.example.com/{{ inputs.id }}
`), [ref(6, 'FLOW', 'UPDATE', null), ref(9, 'FLOW', 'UPDATE', null), ref(12, 'FLOW', 'UPDATE', null)]],
    ['FILE inputs’ defaults: a host path is read from Kestra’s disk, a storage or namespace-file URI where it points', flow(`inputs:
  - id: env
    type: FILE
    defaults: /proc/self/environ
  - id: relative
    type: ARRAY
    itemType: FILE
    defaults: ["confs/application.yml"]
  - id: local
    type: FILE
    defaults: file:///etc/passwd
  - id: stored
    type: FILE
    defaults: kestra:///company/finance/payroll/executions/abc/inputs/data/x.csv
  - id: shared
    type: FILE
    defaults: nsfile://company.shared/template.csv
  - id: none
    type: FILE
  - id: text
    type: STRING
    defaults: /etc/hosts
  - id: upper
    type: FILE
    defaults: KESTRA:///company/team/x.csv
`), [ref(16, 'EXECUTION', 'ACCESS_FILES', 'company.finance'), ref(19, 'NAMESPACE', 'MANAGE_FILES', 'company.shared'), ref(27, 'EXECUTION', 'ACCESS_FILES', null), ref(6, 'FLOW', 'UPDATE', null), ref(10, 'FLOW', 'UPDATE', null), ref(13, 'FLOW', 'UPDATE', null), ref(27, 'FLOW', 'UPDATE', null)]],
    ['a script calling Kestra’s address', flow(`tasks:
  - id: sh
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo start
      - curl -s http://2130706433:8080/api/v1/main/flows/company.finance/payroll
      - websocat WS://LOCALHOST:8080/api/v1/main/executions/x/follow
`), [ref(8, 'FLOW', 'UPDATE', null), ref(9, 'FLOW', 'UPDATE', null)]],
  ];
  it.each(cases)('%s', (_name, source, expected) => {
    expect(refsOf(source)).toEqual(expected);
  });

  it.each([
    ['LOCALHOST.'], ['127.1'], ['0177.0.0.1'], ['[::1]'], ['[0:0:0:0:0:0:0:1]'], ['%6cocalhost'], ['api.localhost'], ['0.0.0.0'], ['[::]'],
    ['kestra'], ['KESTRA.internal.'], ['10.0.0.5'], ['167772165'], ['0xa.0.0.5'], ['[::ffff:10.0.0.5]'], ['kestra.example.com'],
  ])('refuses a call to Kestra’s address spelled %s', (host) => {
    const hosts = KestraHosts.of(['https://kestra.example.com', 'kestra', 'kestra.internal', '10.0.0.5']);
    const r = analyseFlowSource(task('io.kestra.plugin.core.http.Request', `    uri: http://${host}:8080/api/v1/main/flows\n`), { kestraHosts: hosts });
    expect(r.ok && r.documents[0]!.references).toMatchObject([{ line: 6, resource: 'FLOW', action: 'UPDATE', namespace: null, what: expect.stringMatching(/Kestra's own address/) }]);
  });

  it.each([['api.example.com'], ['kestra.example.com.evil.io'], ['10.0.0.50'], ['127.0.0.1.nip.io'], ['kestra-internal']])('lets %s through', (host) => {
    const hosts = KestraHosts.of(['https://kestra.example.com', 'kestra.internal', '10.0.0.5']);
    const r = analyseFlowSource(task('io.kestra.plugin.core.http.Request', `    uri: http://${host}/x\n`), { kestraHosts: hosts });
    expect(r.ok && r.documents[0]!.references).toEqual([]);
  });

  it('names the function, the file and the namespace in its words', () => {
    const r = analyseFlowSource(log(`"{{ read('a.txt', namespace='team.b') }} {{ read('file:///etc/passwd') }} kestra:///a/b/f/executions/1/tasks/t/2/x"`));
    expect(r.ok && r.documents[0]!.references.map((x) => x.what)).toEqual([
      'read() opens the files of team.b', 'read() opens file:///etc/passwd, a file of the Kestra server itself',
      'kestra:///a/b/f/executions/1/tasks/t/2/x is a file of an execution in a.b',
    ]);
  });
});

/** Issue 29: defects and untested branches of the reference checks. */
describe('analyseFlowSource: issue 29 defects and branches', () => {
  const cases: Array<[string, string, Ref[]]> = [
    ['a Flow trigger after a task touching executions still listens everywhere', flow(`tasks:
  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
    namespace: company.team
triggers:
  - id: any
    type: io.kestra.plugin.core.trigger.Flow
    states: [FAILED]
`), [ref(6, 'EXECUTION', 'DELETE', 'company.team'), ref(9, 'EXECUTION', 'VIEW', null), ref(9, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['a namespace in a Flow trigger’s inputs or labels is no condition', flow(`triggers:
  - id: any
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      namespace: company.team
      conditions: {namespace: company.team}
    labels:
      namespace: company.team
`), [ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['Or and Not conditions do not bound the namespaces heard', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionNamespace
            namespace: company.team
      - type: io.kestra.core.models.conditions.types.OrCondition
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionFlow
            namespace: company.team
            flowId: x
`), [ref(10, 'EXECUTION', 'VIEW', null), ref(10, 'EXECUTION', 'ACCESS_OUTPUTS', null),
      ref(14, 'EXECUTION', 'VIEW', null), ref(14, 'EXECUTION', 'ACCESS_OUTPUTS', null), ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['a where-filter group joined by OR does not bound them either', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: f
          operand: OR
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.team
            - field: FLOW_ID
              type: EQUAL_TO
              value: etl
`), [ref(14, 'EXECUTION', 'VIEW', null), ref(14, 'EXECUTION', 'ACCESS_OUTPUTS', null), ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['an upstream flow and a filter group are heard separately: a group naming no namespace hears all', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      flows:
        - namespace: company.team
          flowId: a
      where:
        - id: f
          filters:
            - field: FLOW_ID
              type: EQUAL_TO
              value: payroll
`), [ref(9, 'EXECUTION', 'VIEW', 'company.team'), ref(9, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.team'), ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['a MultipleCondition is met by separate executions', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.MultipleCondition
        window: P1D
        conditions:
          a:
            type: io.kestra.plugin.core.condition.ExecutionNamespace
            namespace: company.team
          b:
            type: io.kestra.plugin.core.condition.ExecutionStatus
            in: [SUCCESS]
`), [ref(12, 'EXECUTION', 'VIEW', null), ref(12, 'EXECUTION', 'ACCESS_OUTPUTS', null), ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['SUFFIX conditions match anywhere', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.team
        comparison: SUFFIX
`), [ref(8, 'EXECUTION', 'VIEW', null), ref(8, 'EXECUTION', 'ACCESS_OUTPUTS', null), ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['legacy io.kestra.core.* trigger, condition and purge types', flow(`tasks:
  - id: purge
    type: io.kestra.core.tasks.storages.Purge
  - id: count
    type: io.kestra.core.tasks.executions.Counts
triggers:
  - id: t
    type: io.kestra.core.models.triggers.types.Flow
    conditions:
      - type: io.kestra.core.models.conditions.types.ExecutionNamespaceCondition
        namespace: company.sales
`), [ref(5, 'EXECUTION', 'DELETE', null), ref(7, 'EXECUTION', 'LIST', null),
      ref(13, 'EXECUTION', 'VIEW', 'company.sales'), ref(13, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.sales')]],
    ['PurgeKV: no namespaces is every namespace; a pattern is unbounded; a list is each', flow(`tasks:
  - id: all
    type: io.kestra.plugin.core.kv.PurgeKV
  - id: pattern
    type: io.kestra.plugin.core.kv.PurgeKV
    namespacePattern: "company.*"
  - id: list
    type: io.kestra.plugin.core.kv.PurgeKV
    namespaces: [company.hr]
  - id: get
    type: io.kestra.plugin.core.kv.GetKeys
    namespacePattern: company.team
`), [ref(5, 'KVSTORE', 'UPDATE', null), ref(5, 'KVSTORE', 'DELETE', null), ref(8, 'KVSTORE', 'UPDATE', null), ref(8, 'KVSTORE', 'DELETE', null),
      ref(11, 'KVSTORE', 'UPDATE', 'company.hr'), ref(11, 'KVSTORE', 'DELETE', 'company.hr'), ref(14, 'KVSTORE', 'LIST', null)]],
    ['Count with and without namespaces', flow(`tasks:
  - id: a
    type: io.kestra.plugin.core.execution.Count
    namespaces: [company.sales]
    expression: "{{ count > 0 }}"
  - id: b
    type: io.kestra.plugin.core.execution.Count
    expression: "{{ count > 0 }}"
`), [ref(6, 'EXECUTION', 'LIST', 'company.sales'), ref(9, 'EXECUTION', 'LIST', null)]],
    ['Fetch and Resume of another execution; Fetch of its own', flow(`tasks:
  - id: f
    type: io.kestra.plugin.core.log.Fetch
    executionId: "{{ inputs.id }}"
  - id: g
    type: io.kestra.plugin.core.log.Fetch
    namespace: company.ops
    executionId: abc
  - id: h
    type: io.kestra.plugin.core.log.Fetch
  - id: r
    type: io.kestra.plugin.core.execution.Resume
    executionId: "{{ inputs.id }}"
`), [ref(5, 'EXECUTION', 'ACCESS_LOGS', null), ref(9, 'EXECUTION', 'ACCESS_LOGS', 'company.ops'), ref(14, 'EXECUTION', 'RESUME', null)]],
    ['a scalar namespaces: is one namespace', flow(`tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
      namespaces: company.shared
`), [ref(8, 'NAMESPACE', 'MANAGE_FILES', 'company.shared')]],
    ['YAML 1.1 scalars are no namespace names', flow(`tasks:
  - id: a
    type: io.kestra.plugin.core.flow.Subflow
    namespace: yes
    flowId: f
  - id: b
    type: io.kestra.plugin.core.flow.Subflow
    namespace: 1e3
    flowId: f
  - id: c
    type: io.kestra.plugin.core.flow.Subflow
    namespace: 0o17
    flowId: f
  - id: d
    type: io.kestra.plugin.core.flow.Subflow
    namespace: 1_000
    flowId: f
  - id: e
    type: io.kestra.plugin.core.flow.Subflow
    namespace: "yes"
    flowId: f
  - id: g
    type: io.kestra.plugin.core.flow.Subflow
    namespace: 2001-01-01
    flowId: f
`), [ref(6, 'FLOW', 'EXECUTE', null), ref(10, 'FLOW', 'EXECUTE', null), ref(14, 'FLOW', 'EXECUTE', null),
      ref(18, 'FLOW', 'EXECUTE', null), ref(22, 'FLOW', 'EXECUTE', 'yes'), ref(26, 'FLOW', 'EXECUTE', null)]],
    ['nested brackets do not end a tag early', log(`"{{ {'a': {'b': 1}} ~ kv('k', 'company.hr') }} {% set x = {'a': {'b': 1}} ~ kv('j', 'company.it') %}"`),
      [ref(6, 'KVSTORE', 'VIEW', 'company.hr'), ref(6, 'KVSTORE', 'VIEW', 'company.it')]],
    ['quotes and interpolation do not end a tag early', log(`'{{ "#{ "}}" }" ~ kv("k", "company.hr") }} {{ "}}" ~ kv("j", "company.it") }} {{ ''}}'' ~ kv(''i'', ''company.ops'') }}'`),
      [ref(6, 'KVSTORE', 'VIEW', 'company.hr'), ref(6, 'KVSTORE', 'VIEW', 'company.it'), ref(6, 'KVSTORE', 'VIEW', 'company.ops')]],
    ['a namespace given twice, or after a named argument, is not guessed', log(`"{{ kv('k', 'company.it', namespace='company.hr') }} {{ kv(key='k', 'company.hr') }} {{ kv('k', namespace='a', namespace='b') }}"`),
      [ref(6, 'KVSTORE', 'VIEW', null)]],
    ['quotes and brackets inside arguments do not move the namespace', log(`"{{ kv('a,b)', ('company.hr')) }} {{ kv(\\"x'\\", 'company.it') }} {{ kv(['a', 'b'][0], 'company.ops') }}"`),
      [ref(6, 'KVSTORE', 'VIEW', null), ref(6, 'KVSTORE', 'VIEW', 'company.it'), ref(6, 'KVSTORE', 'VIEW', 'company.ops')]],
  ];
  it.each(cases)('%s', (_name, source, expected) => {
    expect(refsOf(source)).toEqual(expected);
  });
});

/** Branches the tables above leave alone (issue 29 point 2: mutants that no test would notice). */
describe('analyseFlowSource: edges', () => {
  const cases: Array<[string, string, Ref[]]> = [
    ['a where-filter IN list and a filter without a type', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: f
          operand: AND
          filters:
            - field: NAMESPACE
              type: IN
              values: [company.a, company.b]
            - field: NAMESPACE
              value: company.c
`), [ref(14, 'EXECUTION', 'VIEW', 'company.a'), ref(14, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.a'), ref(14, 'EXECUTION', 'VIEW', 'company.b'),
      ref(14, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.b'), ref(16, 'EXECUTION', 'VIEW', null), ref(16, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['comparisons in any case, a prefix flag that is not false, and subflow() given its namespace twice', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.team
        comparison: suffix
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.team
        prefix: "true"
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.team
        comparison: equals
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.ops
        prefix: false
inputs:
  - id: x
    type: SELECT
    values: "{{ subflow('company.a', 'f', namespace='company.b') }}"
`), [ref(8, 'EXECUTION', 'VIEW', null), ref(8, 'EXECUTION', 'ACCESS_OUTPUTS', null), ref(11, 'EXECUTION', 'VIEW', null), ref(11, 'EXECUTION', 'ACCESS_OUTPUTS', null),
      ref(14, 'EXECUTION', 'VIEW', 'company.team'), ref(14, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.team'),
      ref(17, 'EXECUTION', 'VIEW', 'company.ops'), ref(17, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.ops'), ref(22, 'FLOW', 'EXECUTE', null)]],
    ['a legacy NotCondition widens too', flow(`triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.core.models.conditions.types.NotCondition
        conditions:
          - type: io.kestra.core.models.conditions.types.ExecutionNamespaceCondition
            namespace: company.team
`), [ref(10, 'EXECUTION', 'VIEW', null), ref(10, 'EXECUTION', 'ACCESS_OUTPUTS', null), ref(5, 'EXECUTION', 'VIEW', null), ref(5, 'EXECUTION', 'ACCESS_OUTPUTS', null)]],
    ['escapes and braces inside a quoted namespace are not a name', log(`"{{ kv('k', 'company\\\\.hr') }} {{ kv('k', '#{x}') }}"`),
      [ref(6, 'KVSTORE', 'VIEW', null), ref(6, 'KVSTORE', 'VIEW', null)]],
    ['an unclosed tag runs to the end of the text', log(`"{{ 'a' ~ kv('k', 'company.hr')"`), [ref(6, 'KVSTORE', 'VIEW', 'company.hr')]],
    ['prose after a closed tag is not Pebble', log(`"{{ x }} kv('k', 'company.hr') {% if y %}{% endif %} read('a', namespace='b')"`), []],
    ['nsfile URIs without a path or with a malformed namespace', log(`"nsfile://company.hr nsfile://-x/a"`),
      [ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'NAMESPACE', 'MANAGE_FILES', null)]],
    ['file functions: a malformed namespace, a local path sent elsewhere, both forms of namespace', log(`"{{ read('a', namespace='bad name') }} {{ read(outputs.x.uri, namespace='company.hr') }} {{ read('nsfile://company.it/a', namespace='company.hr') }} {{ read('kestra:///company/team/demo/executions/1/tasks/t/2/a', namespace='company.ops') }}"`),
      [ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null),
        ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.ops'), ref(6, 'NAMESPACE', 'MANAGE_FILES', 'company.it'), ref(6, 'EXECUTION', 'ACCESS_FILES', 'company.team')]],
    ['storage URIs Kestra would cut differently, or not at all', log(`"kestra:///executions/1/tasks/t/2/a kestra:///a/f/executions/1 kestra:///-a/f/executions/1/tasks/t kestra:///a/executions/f/executions/1/tasks/t/x"`),
      [ref(6, 'EXECUTION', 'ACCESS_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['calls with no arguments', log(`"{{ http() }} {{ subflow() }} {{ read() }}"`),
      [ref(6, 'FLOW', 'UPDATE', null), ref(6, 'FLOW', 'EXECUTE', null), ref(6, 'NAMESPACE', 'MANAGE_FILES', null), ref(6, 'EXECUTION', 'ACCESS_FILES', null)]],
    ['an unknown function given a dynamic namespace', log(`"{{ other(namespace=inputs.ns) }}"`), [ref(6, 'FLOW', 'UPDATE', null)]],
    ['an HTTP task with a URL no parser reads', task('io.kestra.plugin.core.http.Request', '    uri: "http://exa mple.com/"\n'), [ref(6, 'FLOW', 'UPDATE', null)]],
    ['an HTTP task with a url property and a non-string uri', task('io.kestra.plugin.core.http.Download', '    url: http://localhost/x\n    uri: [a]\n'),
      [ref(7, 'FLOW', 'UPDATE', null), ref(6, 'FLOW', 'UPDATE', null)]],
  ];
  it.each(cases)('%s', (_name, source, expected) => {
    expect(refsOf(source)).toEqual(expected);
  });

  it('reads configured hosts given as URLs, names, IPv6 with or without brackets', () => {
    const hosts = KestraHosts.of(['https://Kestra.Example.com:8443/', 'fd00::5', '[fd00::6]', 'node-1.']);
    for (const host of ['kestra.example.com', 'fd00::5', 'fd00::6', 'node-1', '127.0.0.9', 'x.localhost']) expect(hosts.isKestra(host)).toBe(true);
    for (const host of ['example.com', 'fd00::7', 'node-2', '128.0.0.1']) expect(hosts.isKestra(host)).toBe(false);
    expect(() => KestraHosts.of(['exa mple'])).toThrow(/Not a host/);
  });

  it('refuses %TAG directives and a --- that is not a line of its own', () => {
    expect(analyseFlowSource('%TAG !x! tag:example.com,2000:\n---\nid: a\nnamespace: x\n')).toMatchObject({ ok: false, message: expect.stringMatching(/directive/) });
    expect(analyseFlowSource('id: a\nnamespace: x\nd: "a --- b"\n', { multiDocument: true })).toMatchObject({ ok: false, line: 3, message: expect.stringMatching(/line of its own/) });
    expect(analyseFlowSource('id: a\nnamespace: x\n--- \nid: b\nnamespace: z\n', { multiDocument: true })).toMatchObject({ ok: true });
  });
});
