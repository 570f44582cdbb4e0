/**
 * What each reference of a flow says and where it points (issue 29): the words a refusal shows a person
 * ("line 7: Subflow task 'sub' runs company.sub.child") and the column it names, for every kind of
 * reference backend/authz/flow-references.ts and pebble-file-functions.ts list. The other flow-reference
 * tests compare lines, resources, actions and namespaces; these pin the rest of each reference.
 */
import { describe, expect, it } from 'vitest';
import { analyseFlowSource } from '../../backend/authz/flow-references.js';
import { KestraHosts } from '../../backend/authz/kestra-hosts.js';

type Row = [line: number, column: number | undefined, resource: string, action: string, namespace: string | null, what: string];
const rowsOf = (source: string, hosts = KestraHosts.of(['kestra.internal'])): Row[] => {
  const r = analyseFlowSource(source, { kestraHosts: hosts });
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.documents[0]!.references.map((x) => [x.line, x.column, x.resource, x.action, x.namespace, x.what]);
};

describe('flow references: words and columns', () => {
  it('names every kind of reference in words, at its line and column', () => {
    const source = `id: words
namespace: company.team
inputs:
  - id: up
    type: FILE
tasks:
  - id: files
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
      namespaces: [company.shared, "{{ inputs.ns }}"]
  - id: off
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: false
      namespaces: [company.hidden]
  - id: own
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles: {}
  - id: api
    type: io.kestra.plugin.kestra.flows.Export
  - id: set
    type: io.kestra.plugin.core.kv.Set
    namespace: company.kv
  - id: get
    type: io.kestra.plugin.core.kv.Get
  - id: keys
    type: io.kestra.plugin.core.kv.GetKeys
    namespace: [x]
  - id: del
    type: io.kestra.plugin.core.kv.Delete
    namespacePattern: "company.*"
  - id: purgekv
    type: io.kestra.plugin.core.kv.PurgeKV
  - id: nsfiles
    type: io.kestra.plugin.core.namespace.UploadFiles
    namespace: company.files
  - id: purge
    type: io.kestra.plugin.core.execution.PurgeExecutions
  - id: logs
    type: io.kestra.plugin.core.log.PurgeLogs
    namespace: company.logs
  - id: count
    type: io.kestra.plugin.core.execution.Count
  - id: fetch
    type: io.kestra.plugin.core.log.Fetch
    executionId: abc
  - id: resume
    type: io.kestra.plugin.core.execution.Resume
    namespace: company.resume
  - id: sub
    type: io.kestra.plugin.core.flow.Subflow
    flowId: "{{ inputs.f }}"
  - id: sub2
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.sub
    flowId: child
  - id: toggle
    type: io.kestra.plugin.core.flow.Toggle
    flowId: x
  - id: gone
    type: io.kestra.plugin.core.storage.Removed
    namespace: company.gone
  - id: http
    type: io.kestra.plugin.core.http.Request
    uri: "{{ vars.u }}"
  - id: http2
    type: io.kestra.plugin.core.http.Request
    uri: http://kestra.internal/api
  - id: exprs
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('a') }} {{ kv('b', 'company.kv2') }} {{ kv('c', inputs.ns) }} {{ secret('TOKEN') }} {{ secret() }} {{ render(x) }} {{ renderOnce(y) }} {{ subflow('company.s', 'f') }} {{ subflow(inputs.ns, 'f') }} {{ http('http://localhost/x') }} {{ http(inputs.u) }} {{ other(namespace='company.o') }} {{ other2(namespace=x) }} nsfile://company.nf/a nsfile://{{x}}/a kestra:///company/team/_files/a kestra:///a/b/f/executions/1/x kestra://x https://kestra.internal/x"
  - id: filefns
    type: io.kestra.plugin.core.log.Log
    message: "{{ read('a') }} {{ read('a', namespace='company.r') }} {{ read('a', namespace=x) }} {{ read('a', namespace='bad name') }} {{ read(x) }} {{ read(inputs.up) }} {{ read('file:///etc/passwd') }} {{ read('s3://b/a') }} {{ read('../a') }} {{ read('nsfile:///a', namespace='company.n') }}"
triggers:
  - id: any
    type: io.kestra.plugin.core.trigger.Flow
  - id: some
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a
        comparison: PREFIX
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.b.
        prefix: true
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.c
        comparison: "{{ x }}"
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: "{{ y }}"
      - type: io.kestra.plugin.core.condition.Or
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionNamespace
            namespace: company.d
  - id: pre
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: w
          filters:
            - field: NAMESPACE
              type: STARTS_WITH
              value: company.e
            - field: NAMESPACE
              value: company.f
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.g
  - id: cond
    type: io.kestra.plugin.core.condition.ExecutionNamespace
    namespace: company.h
pluginDefaults:
  - type: io.kestra.plugin.core.kv
    values:
      namespace: company.pd
      uri: "{{ x }}"
  - values:
      namespaces: [company.pd2]
  - type: io.kestra.plugin.core.http
    values:
      url: http://127.0.0.1/
taskDefaults:
  - type: io.kestra.plugin.core.kv
    values:
      namespacePattern: x
`;
    expect(rowsOf(source)).toEqual([
      [11, 20, 'NAMESPACE', 'MANAGE_FILES', 'company.shared', "namespaceFiles of 'files' reads the files of company.shared"],
      [11, 36, 'NAMESPACE', 'MANAGE_FILES', null, "namespaceFiles of 'files' reads the files of a dynamic namespace ({{ inputs.ns }})"],
      [19, 5, 'NAMESPACE', 'MANAGE_FILES', 'company.team', "namespaceFiles of 'own' reads the files of company.team"],
      [21, 11, 'FLOW', 'UPDATE', null, "Export task 'api' calls Kestra's API with the administrator's authority"],
      [24, 16, 'KVSTORE', 'CREATE', 'company.kv', "Set task 'set' uses the KV store of company.kv"],
      [24, 16, 'KVSTORE', 'UPDATE', 'company.kv', "Set task 'set' uses the KV store of company.kv"],
      [26, 11, 'KVSTORE', 'VIEW', 'company.team', "Get task 'get' uses the KV store of company.team"],
      [29, 16, 'KVSTORE', 'LIST', null, "GetKeys task 'keys' uses the KV store of a dynamic namespace (not a literal)"],
      [32, 23, 'KVSTORE', 'DELETE', null, "Delete task 'del' uses the KV store of every namespace matching a pattern"],
      [34, 11, 'KVSTORE', 'UPDATE', null, "PurgeKV task 'purgekv' uses the KV store of every namespace (none named)"],
      [34, 11, 'KVSTORE', 'DELETE', null, "PurgeKV task 'purgekv' uses the KV store of every namespace (none named)"],
      [37, 16, 'NAMESPACE', 'MANAGE_FILES', 'company.files', "UploadFiles task 'nsfiles' handles the namespace files of company.files"],
      [39, 11, 'EXECUTION', 'DELETE', null, "PurgeExecutions task 'purge' purges executions of every namespace (none named)"],
      [42, 16, 'EXECUTION', 'DELETE', 'company.logs', "PurgeLogs task 'logs' purges executions of company.logs"],
      [44, 11, 'EXECUTION', 'LIST', null, "Count task 'count' counts executions of every namespace (none named)"],
      [46, 11, 'EXECUTION', 'ACCESS_LOGS', null, "Fetch task 'fetch' acts on an execution of every namespace (none named)"],
      [50, 16, 'EXECUTION', 'RESUME', 'company.resume', "Resume task 'resume' acts on an execution of company.resume"],
      [52, 11, 'FLOW', 'EXECUTE', null, "Subflow task 'sub' runs {{ inputs.f }} in every namespace (none named)"],
      [56, 16, 'FLOW', 'EXECUTE', 'company.sub', "Subflow task 'sub2' runs company.sub.child"],
      [59, 11, 'FLOW', 'UPDATE', 'company.team', "Toggle task 'toggle' acts on company.team"],
      [63, 16, 'FLOW', 'UPDATE', 'company.gone', "Removed task 'gone' acts on company.gone"],
      [66, 10, 'FLOW', 'UPDATE', null, "Request task 'http' calls an address known only at run time, which may be Kestra's own"],
      [69, 10, 'FLOW', 'UPDATE', null, "calls Kestra's own address (kestra.internal) directly, past Perch"],
      [72, 14, 'KVSTORE', 'VIEW', 'company.team', 'kv() reads the KV store of company.team'],
      [72, 14, 'KVSTORE', 'VIEW', 'company.kv2', 'kv() reads the KV store of company.kv2'],
      [72, 14, 'KVSTORE', 'VIEW', null, 'kv() reads the KV store of a dynamic namespace (inputs.ns)'],
      [72, 14, 'SECRET', 'VIEW', null, "secret('TOKEN') reads an instance-wide secret"],
      [72, 14, 'SECRET', 'VIEW', null, 'secret() names its secret at run time'],
      [72, 14, 'KVSTORE', 'VIEW', null, 'render() evaluates an expression known only at run time'],
      [72, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'render() evaluates an expression known only at run time'],
      [72, 14, 'SECRET', 'VIEW', null, 'render() evaluates an expression known only at run time'],
      [72, 14, 'KVSTORE', 'VIEW', null, 'renderOnce() evaluates an expression known only at run time'],
      [72, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'renderOnce() evaluates an expression known only at run time'],
      [72, 14, 'SECRET', 'VIEW', null, 'renderOnce() evaluates an expression known only at run time'],
      [72, 14, 'FLOW', 'EXECUTE', 'company.s', 'subflow() runs a flow of company.s'],
      [72, 14, 'FLOW', 'EXECUTE', null, 'subflow() runs a flow of a dynamic namespace (inputs.ns)'],
      [72, 14, 'FLOW', 'UPDATE', null, "calls Kestra's own address (localhost) directly, past Perch"],
      [72, 14, 'FLOW', 'UPDATE', null, "http() calls an address known only at run time (inputs.u), which may be Kestra's own"],
      [72, 14, 'FLOW', 'UPDATE', 'company.o', 'other() acts on company.o'],
      [72, 14, 'FLOW', 'UPDATE', null, 'other2() acts on a dynamic namespace (x)'],
      [72, 14, 'NAMESPACE', 'MANAGE_FILES', 'company.nf', 'nsfile:// reads the files of company.nf'],
      [72, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'nsfile:// reads the files of a dynamic namespace (nsfile://{{x}}/)'],
      [72, 14, 'NAMESPACE', 'MANAGE_FILES', 'company.team', 'kestra:///company/team/_files/a is a namespace file of company.team'],
      [72, 14, 'EXECUTION', 'ACCESS_FILES', 'a.b', 'kestra:///a/b/f/executions/1/x is a file of an execution in a.b'],
      [72, 14, 'EXECUTION', 'ACCESS_FILES', null, 'kestra://x is a storage URI Perch cannot place in one namespace'],
      [72, 14, 'FLOW', 'UPDATE', null, "calls Kestra's own address (kestra.internal) directly, past Perch"],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', 'company.team', 'read() opens the files of company.team'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', 'company.r', 'read() opens the files of company.r'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'read() opens the files of a namespace known only at run time'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'read() opens the files of a malformed namespace (bad name)'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'read() opens a file whose path is built at run time'],
      [75, 14, 'EXECUTION', 'ACCESS_FILES', null, 'read() opens a file whose path is built at run time'],
      [75, 14, 'FLOW', 'UPDATE', null, 'read() opens file:///etc/passwd, a file of the Kestra server itself'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'read() opens s3://b/a, a URI Perch cannot place in one namespace'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', null, 'read() opens ../a, a path that may climb out of its namespace'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', 'company.n', 'read() opens the files of company.n'],
      [75, 14, 'NAMESPACE', 'MANAGE_FILES', 'company.team', 'nsfile:// reads the files of company.team'],
      [78, 11, 'EXECUTION', 'VIEW', null, "Flow trigger 'any' listens to the executions of every namespace (no namespace condition)"],
      [78, 11, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'any' listens to the executions of every namespace (no namespace condition)"],
      [83, 20, 'EXECUTION', 'VIEW', null, "Flow trigger 'some' listens to executions of every namespace matching 'company.a' by PREFIX"],
      [83, 20, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'some' listens to executions of every namespace matching 'company.a' by PREFIX"],
      [86, 20, 'EXECUTION', 'VIEW', 'company.b', "Flow trigger 'some' listens to executions of company.b"],
      [86, 20, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.b', "Flow trigger 'some' listens to executions of company.b"],
      [89, 20, 'EXECUTION', 'VIEW', null, "Flow trigger 'some' listens to executions of every namespace matching 'company.c' by {{ X }}"],
      [89, 20, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'some' listens to executions of every namespace matching 'company.c' by {{ X }}"],
      [92, 20, 'EXECUTION', 'VIEW', null, "Flow trigger 'some' listens to executions of a dynamic namespace ({{ y }})"],
      [92, 20, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'some' listens to executions of a dynamic namespace ({{ y }})"],
      [96, 24, 'EXECUTION', 'VIEW', null, "Flow trigger 'some' listens to executions of every namespace (company.d under an Or/Not/Multiple condition or an OR filter group)"],
      [96, 24, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'some' listens to executions of every namespace (company.d under an Or/Not/Multiple condition or an OR filter group)"],
      [106, 22, 'EXECUTION', 'VIEW', null, "Flow trigger 'pre' listens to executions of every namespace matching a STARTS_WITH filter"],
      [106, 22, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'pre' listens to executions of every namespace matching a STARTS_WITH filter"],
      [108, 22, 'EXECUTION', 'VIEW', null, "Flow trigger 'pre' listens to executions of every namespace matching a missing filter"],
      [108, 22, 'EXECUTION', 'ACCESS_OUTPUTS', null, "Flow trigger 'pre' listens to executions of every namespace matching a missing filter"],
      [111, 22, 'EXECUTION', 'VIEW', 'company.g', "Flow trigger 'pre' listens to executions of company.g"],
      [111, 22, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.g', "Flow trigger 'pre' listens to executions of company.g"],
      [114, 16, 'EXECUTION', 'VIEW', 'company.h', "Condition 'cond' listens to executions of company.h"],
      [114, 16, 'EXECUTION', 'ACCESS_OUTPUTS', 'company.h', "Condition 'cond' listens to executions of company.h"],
      [124, 12, 'FLOW', 'UPDATE', null, "calls Kestra's own address (127.0.0.1) directly, past Perch"],
      [118, 18, 'FLOW', 'UPDATE', 'company.pd', 'pluginDefaults for io.kestra.plugin.core.kv sets the namespace of its tasks to company.pd'],
      [119, 12, 'FLOW', 'UPDATE', null, "pluginDefaults for io.kestra.plugin.core.kv calls an address known only at run time, which may be Kestra's own"],
      [121, 20, 'FLOW', 'UPDATE', 'company.pd2', 'pluginDefaults for (any type) sets the namespace of its tasks to company.pd2'],
      [128, 25, 'FLOW', 'UPDATE', null, 'taskDefaults for io.kestra.plugin.core.kv sets the namespace of its tasks to every namespace matching a pattern'],
    ]);
  });
});
