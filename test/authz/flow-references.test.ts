import { describe, expect, it } from 'vitest';
import { analyseFlowSource, KESTRA_API_TASK_PREFIXES, type FlowReference } from '../../backend/authz/flow-references.js';

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
    expect(r).toEqual({ ok: true, documents: [{ namespace: 'company.team', id: 'demo', line: 4, references: [] }] });
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
