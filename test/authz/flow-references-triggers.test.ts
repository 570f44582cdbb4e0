/**
 * Flow triggers, conditions and task types (issue 29): which executions a Flow trigger hears (conditions,
 * preconditions/when groups, operands, prefixes, filters), which task types reach which resource, HTTP
 * types, namespaceFiles and plugin defaults. Each case is the whole list of references of a flow whose
 * body starts on line 3, with columns and words.
 */
import { describe, expect, it } from 'vitest';
import { analyseFlowSource } from '../../backend/authz/flow-references.js';

type Row = [line: number, column: number | undefined, resource: string, action: string, namespace: string | null, what: string];
const rowsOf = (body: string): Row[] => {
  const r = analyseFlowSource(`id: demo\nnamespace: company.team\n${body}`);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.documents[0]!.references.map((x) => [x.line, x.column, x.resource, x.action, x.namespace, x.what]);
};

const cases: Array<[string, string, Row[]]> = [
  ["a filter group whose operand is a number (Jackson may read an enum ordinal) is widened", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: f
          operand: 1
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.a
`, [
      [14, 22, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace (company.a under an Or/Not/Multiple condition or an OR filter group)"],
      [14, 22, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace (company.a under an Or/Not/Multiple condition or an OR filter group)"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["a filter group whose operand is an expression is widened", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: f
          operand: "{{ vars.op }}"
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.a
`, [
      [14, 22, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace (company.a under an Or/Not/Multiple condition or an OR filter group)"],
      [14, 22, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace (company.a under an Or/Not/Multiple condition or an OR filter group)"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["a filter group joined by a lower-case and stays bounded", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: f
          operand: and
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.a
`, [
      [14, 22, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [14, 22, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
  ]],
  ["preconditions that are no mapping bound nothing", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a
    preconditions: "{{ vars.p }}"
`, [
      [8, 20, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [8, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["when: flows and where given as single maps, IN values with a dynamic one", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    when:
      flows:
        namespace: company.a
        flowId: f
      where:
        id: w
        filters:
          - field: NAMESPACE
            type: IN
            values: [company.b, "{{ x }}"]
`, [
      [8, 20, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [8, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [15, 22, "EXECUTION", "VIEW", "company.b", "Flow trigger 't' listens to executions of company.b"],
      [15, 22, "EXECUTION", "ACCESS_OUTPUTS", "company.b", "Flow trigger 't' listens to executions of company.b"],
      [15, 33, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of a dynamic namespace ({{ x }})"],
      [15, 33, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of a dynamic namespace ({{ x }})"],
  ]],
  ["conditions that name no namespace: every namespace", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [FAILED]
`, [
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (no namespace condition)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (no namespace condition)"],
  ]],
  ["an upstream flow without a namespace hears every namespace, whatever the conditions", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a
    preconditions:
      id: p
      flows:
        - flowId: f
`, [
      [8, 20, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [8, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["only Kestra core Flow triggers (trigger or triggers package) listen to executions", `triggers:
  - id: a
    type: io.kestra.plugin.other.trigger.Flow
  - id: b
    type: io.kestra.plugin.core.trigger.Flows
  - id: c
    type: io.kestra.plugin.core.Flow
  - id: d
    type: io.kestra.plugin.core.triggers.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.d
  - id: e
    type: io.kestra.core.models.triggers.types.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.e
  - id: f
    type: io.kestra.plugin.corex.trigger.Flow
  - id: g
    type: xio.kestra.plugin.core.trigger.Flow
`, [
      [14, 20, "EXECUTION", "VIEW", "company.d", "Flow trigger 'd' listens to executions of company.d"],
      [14, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.d", "Flow trigger 'd' listens to executions of company.d"],
      [19, 20, "EXECUTION", "VIEW", "company.e", "Flow trigger 'e' listens to executions of company.e"],
      [19, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.e", "Flow trigger 'e' listens to executions of company.e"],
  ]],
  ["conditions outside a Flow trigger are named by their own id", `triggers:
  - id: s
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a
      - id: named
        type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.b
        comparison: PREFIX
`, [
      [9, 20, "EXECUTION", "VIEW", "company.a", "Condition '?' listens to executions of company.a"],
      [9, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Condition '?' listens to executions of company.a"],
      [12, 20, "EXECUTION", "VIEW", null, "Condition 'named' listens to executions of every namespace matching 'company.b' by PREFIX"],
      [12, 20, "EXECUTION", "ACCESS_OUTPUTS", null, "Condition 'named' listens to executions of every namespace matching 'company.b' by PREFIX"],
  ]],
  ["an Or under a Flow trigger but outside its conditions widens nothing", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a
    inputs:
      c:
        type: io.kestra.plugin.core.condition.Or
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionNamespace
            namespace: company.b
`, [
      [8, 20, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [8, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
  ]],
  ["prefix and comparison forms", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a.
        comparison: PREFIX
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.b
        comparison: EQUALS
        prefix: true
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.c
        prefix: "false"
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.d.
        prefix: false
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.e
        comparison: [PREFIX]
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: "{{ x }}"
        comparison: PREFIX
`, [
      [8, 20, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [8, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [11, 20, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace matching 'company.b' by EQUALS"],
      [11, 20, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace matching 'company.b' by EQUALS"],
      [15, 20, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace matching 'company.c' by PREFIX"],
      [15, 20, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace matching 'company.c' by PREFIX"],
      [18, 20, "EXECUTION", "VIEW", "company.d.", "Flow trigger 't' listens to executions of company.d."],
      [18, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.d.", "Flow trigger 't' listens to executions of company.d."],
      [21, 20, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace matching 'company.e' by (not a literal)"],
      [21, 20, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace matching 'company.e' by (not a literal)"],
      [24, 20, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of a dynamic namespace ({{ x }})"],
      [24, 20, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of a dynamic namespace ({{ x }})"],
  ]],
  ["where filters: a scalar IN value, no value, a field that is not NAMESPACE, another filter type", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      where:
        - id: w
          filters:
            - field: NAMESPACE
              type: IN
              values: company.s
            - field: NAMESPACE
              type: EQUAL_TO
            - field: namespace
              type: EQUAL_TO
              value: company.lower
            - field: FLOW_ID
              type: EQUAL_TO
              value: company.flow
            - field: NAMESPACE
              type: NOT_EQUAL_TO
              values: [company.x]
`, [
      [13, 23, "EXECUTION", "VIEW", "company.s", "Flow trigger 't' listens to executions of company.s"],
      [13, 23, "EXECUTION", "ACCESS_OUTPUTS", "company.s", "Flow trigger 't' listens to executions of company.s"],
      [14, 15, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace (none named)"],
      [14, 15, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace (none named)"],
      [24, 24, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace matching a NOT_EQUAL_TO filter"],
      [24, 24, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace matching a NOT_EQUAL_TO filter"],
  ]],
  ["a MultipleCondition widens the namespaces of its conditions", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.MultipleCondition
        conditions:
          a:
            type: io.kestra.plugin.core.condition.ExecutionFlow
            namespace: company.a
            flowId: f
`, [
      [11, 24, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of every namespace (company.a under an Or/Not/Multiple condition or an OR filter group)"],
      [11, 24, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of every namespace (company.a under an Or/Not/Multiple condition or an OR filter group)"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["tasks: Fetch, Resume, plugins naming a flow or a namespace, KV, namespace files, counts, toggles, API tasks, legacy types", `tasks:
  - id: fetch-none
    type: io.kestra.plugin.core.log.Fetch
  - id: resume-ns
    type: io.kestra.plugin.core.execution.Resume
    namespace: company.r
  - id: resume-none
    type: io.kestra.plugin.core.execution.Resume
  - id: plugin-flow
    type: io.kestra.plugin.other.Trigger
    namespace: company.o
    flowId: f
  - id: plugin-ns
    type: io.kestra.plugin.other.Thing
    namespace: company.p
  - id: kvx
    type: io.kestra.plugin.core.kvx.Get
  - id: ns-own
    type: io.kestra.plugin.core.namespace.DownloadFiles
  - id: purge-one
    type: io.kestra.plugin.core.execution.PurgeExecution
  - id: purges
    type: io.kestra.plugin.core.execution.Purges
  - id: countx
    type: io.kestra.plugin.core.execution.Countx
  - id: counts
    type: io.kestra.plugin.core.execution.Counts
    namespaces: [company.c]
  - id: toggle-ns
    type: io.kestra.plugin.core.flow.Toggle
    namespace: company.t
    flowId: f
  - id: toggle-other
    type: io.kestra.plugin.other.Toggle
    flowId: f
  - id: git
    type: io.kestra.plugin.git.SyncFlows
  - id: clone
    type: io.kestra.plugin.git.Clone
  - id: ai
    type: io.kestra.plugin.ai.tool.Kestra
  - id: templated
    type: io.kestra.plugin.core.templating.TemplatedTask
  - id: flowid-dynamic
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.s
    flowId: "{{ x }}"
  - id: legacy-kv
    type: io.kestra.core.tasks.kv.Set
  - id: legacy-ns
    type: io.kestra.core.tasks.namespace.Upload
  - type: io.kestra.plugin.core.kv.Delete
    namespaces: company.one
  - id: kv-delete-many
    type: io.kestra.plugin.core.kv.Delete
    namespaces: [company.x, company.y]
    namespacePattern: z
`, [
      [8, 16, "EXECUTION", "RESUME", "company.r", "Resume task 'resume-ns' acts on an execution of company.r"],
      [13, 16, "FLOW", "EXECUTE", "company.o", "Trigger task 'plugin-flow' runs company.o.f"],
      [21, 11, "NAMESPACE", "MANAGE_FILES", "company.team", "DownloadFiles task 'ns-own' handles the namespace files of company.team"],
      [30, 18, "EXECUTION", "LIST", "company.c", "Counts task 'counts' counts executions of company.c"],
      [33, 16, "FLOW", "UPDATE", "company.t", "Toggle task 'toggle-ns' acts on company.t"],
      [36, 11, "FLOW", "EXECUTE", null, "Toggle task 'toggle-other' runs f in every namespace (none named)"],
      [39, 11, "FLOW", "UPDATE", null, "SyncFlows task 'git' calls Kestra's API with the administrator's authority"],
      [43, 11, "FLOW", "UPDATE", null, "Kestra task 'ai' calls Kestra's API with the administrator's authority"],
      [45, 11, "FLOW", "UPDATE", null, "TemplatedTask task 'templated' calls Kestra's API with the administrator's authority"],
      [48, 16, "FLOW", "EXECUTE", "company.s", "Subflow task 'flowid-dynamic' runs company.s.{{ x }}"],
      [51, 11, "KVSTORE", "CREATE", "company.team", "Set task 'legacy-kv' uses the KV store of company.team"],
      [51, 11, "KVSTORE", "UPDATE", "company.team", "Set task 'legacy-kv' uses the KV store of company.team"],
      [53, 11, "NAMESPACE", "MANAGE_FILES", "company.team", "Upload task 'legacy-ns' handles the namespace files of company.team"],
      [55, 17, "KVSTORE", "DELETE", "company.one", "Delete task '?' uses the KV store of company.one"],
      [58, 18, "KVSTORE", "DELETE", "company.x", "Delete task 'kv-delete-many' uses the KV store of company.x"],
      [58, 29, "KVSTORE", "DELETE", "company.y", "Delete task 'kv-delete-many' uses the KV store of company.y"],
      [59, 23, "KVSTORE", "DELETE", null, "Delete task 'kv-delete-many' uses the KV store of every namespace matching a pattern"],
  ]],
  ["HTTP tasks and triggers by type; other types with a uri are not called", `tasks:
  - id: a
    type: io.kestra.plugin.core.http.Request
    uri: "{{ x }}"
  - id: b
    type: io.kestra.plugin.fs.http.Download
    uri: "{{ x }}"
  - id: c
    type: io.kestra.core.tasks.http.Request
    uri: "{{ x }}"
  - id: d
    type: io.kestra.core.models.triggers.http.Trigger
    uri: "{{ x }}"
  - id: e
    type: io.kestra.plugin.core.log.Log
    uri: "{{ x }}"
  - id: f
    type: io.kestra.plugin.core.http.Request
    url: 12
  - id: g
    type: io.kestra.plugin.corex.http.Request
    uri: "{{ x }}"
  - id: h
    type: xio.kestra.plugin.core.http.Request
    uri: "{{ x }}"
  - id: i
    type: io.kestra.plugin.core.http.Request
    uri: https://example.com/
triggers:
  - id: j
    type: io.kestra.plugin.core.trigger.Http
    uri: "{{ x }}"
  - id: k
    type: io.kestra.plugin.core.trigger.HttpX
    uri: http://localhost/
`, [
      [6, 10, "FLOW", "UPDATE", null, "Request task 'a' calls an address known only at run time, which may be Kestra's own"],
      [9, 10, "FLOW", "UPDATE", null, "Download task 'b' calls an address known only at run time, which may be Kestra's own"],
      [12, 10, "FLOW", "UPDATE", null, "Request task 'c' calls an address known only at run time, which may be Kestra's own"],
      [15, 10, "FLOW", "UPDATE", null, "Trigger task 'd' calls an address known only at run time, which may be Kestra's own"],
      [21, 10, "FLOW", "UPDATE", null, "Request task 'f' calls an address known only at run time, which may be Kestra's own"],
      [34, 10, "FLOW", "UPDATE", null, "Http task 'j' calls an address known only at run time, which may be Kestra's own"],
      [37, 10, "FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"],
  ]],
  ["namespaceFiles: enabled unless literally false, a map only, namespace and pattern", `tasks:
  - id: a
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: "false"
  - id: b
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles: true
  - id: c
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: false
      namespace: company.off
  - id: d
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      namespace: company.one
      namespacePattern: x
`, [
      [6, 5, "NAMESPACE", "MANAGE_FILES", "company.team", "namespaceFiles of 'a' reads the files of company.team"],
      [19, 18, "NAMESPACE", "MANAGE_FILES", "company.one", "namespaceFiles of 'd' reads the files of company.one"],
      [20, 25, "NAMESPACE", "MANAGE_FILES", null, "namespaceFiles of 'd' reads the files of every namespace matching a pattern"],
  ]],
  ["plugin defaults: values that are no map, patterns, addresses", `pluginDefaults:
  - just a string
  - type: io.kestra.plugin.core.kv
    values: [namespace]
  - type: io.kestra.plugin.core.kv
    values:
      namespacePattern: company
  - type: io.kestra.plugin.core.http
    values:
      uri: https://example.com/
      url: "{{ x }}"
  - type: io.kestra.plugin.core.http
    forced: true
    values:
      headers: {}
taskDefaults: not a list
`, [
      [9, 25, "FLOW", "UPDATE", null, "pluginDefaults for io.kestra.plugin.core.kv sets the namespace of its tasks to every namespace matching a pattern"],
      [13, 12, "FLOW", "UPDATE", null, "pluginDefaults for io.kestra.plugin.core.http calls an address known only at run time, which may be Kestra's own"],
  ]],
  ["a storage URI in a label condition names a namespace but bounds no execution heard", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionLabels
        labels:
          file: kestra:///company/a/f/executions/1/x
`, [
      [9, 17, "EXECUTION", "ACCESS_FILES", "company.a", "kestra:///company/a/f/executions/1/x is a file of an execution in company.a"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (no namespace condition)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (no namespace condition)"],
  ]],
  ["a namespace under preconditions but outside flows and where bounds nothing", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      other:
        type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company.a
`, [
      [10, 20, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [10, 20, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["each upstream flow is its own condition: one without a namespace hears every namespace", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      flows:
        - namespace: company.a
          flowId: f
        - flowId: g
`, [
      [9, 22, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [9, 22, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["a single upstream flow map without a namespace hears every namespace", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: p
      flows:
        flowId: g
      where:
        - id: w
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.b
`, [
      [15, 22, "EXECUTION", "VIEW", "company.b", "Flow trigger 't' listens to executions of company.b"],
      [15, 22, "EXECUTION", "ACCESS_OUTPUTS", "company.b", "Flow trigger 't' listens to executions of company.b"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["a kv() call in an expression condition bounds no execution heard", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ kv('k', 'company.x') == 'on' }}"
`, [
      [8, 21, "KVSTORE", "VIEW", "company.x", "kv() reads the KV store of company.x"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (no namespace condition)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (no namespace condition)"],
  ]],
  ["only a type ending in Or, Not or Multiple (with or without Condition) widens", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.other.condition.ConditionNot
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionNamespace
            namespace: company.a
`, [
      [10, 24, "EXECUTION", "VIEW", "company.a", "Flow trigger 't' listens to executions of company.a"],
      [10, 24, "EXECUTION", "ACCESS_OUTPUTS", "company.a", "Flow trigger 't' listens to executions of company.a"],
  ]],
  ["a dynamic namespace under an Or stays a dynamic namespace", `triggers:
  - id: t
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.Or
        conditions:
          - type: io.kestra.plugin.core.condition.ExecutionNamespace
            namespace: "{{ x }}"
`, [
      [10, 24, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to executions of a dynamic namespace ({{ x }})"],
      [10, 24, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to executions of a dynamic namespace ({{ x }})"],
      [5, 11, "EXECUTION", "VIEW", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
      [5, 11, "EXECUTION", "ACCESS_OUTPUTS", null, "Flow trigger 't' listens to the executions of every namespace (one of its conditions names no namespace)"],
  ]],
  ["task names are matched whole; a flowId that is no string is a dynamic flow", `tasks:
  - id: safe
    type: io.kestra.plugin.core.execution.SafePurge
  - id: rec
    type: io.kestra.plugin.core.execution.RecCount
  - id: dyn-in-ns
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.s
    flowId: 12
  - id: dyn
    type: io.kestra.plugin.core.flow.Subflow
    flowId: [a]
`, [
      [10, 16, "FLOW", "EXECUTE", "company.s", "Subflow task 'dyn-in-ns' runs company.s.(dynamic flow)"],
      [13, 11, "FLOW", "EXECUTE", null, "Subflow task 'dyn' runs (dynamic flow) in every namespace (none named)"],
  ]],
  ["HTTP addresses in literal blocks, prose before an address, and types that merely contain a Kestra HTTP type", `tasks:
  - id: block
    type: io.kestra.plugin.core.http.Request
    uri: |
      http://localhost/api
  - id: prose
    type: io.kestra.plugin.core.http.Request
    uri: see http://localhost/api
triggers:
  - id: x
    type: xio.kestra.plugin.core.trigger.Http
    uri: "{{ x }}"
pluginDefaults:
  - type: io.kestra.plugin.core.http
    values:
      uri: |
        http://localhost/api
`, [
      [6, 10, "FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"],
      [7, 1, "FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"],
      [10, 10, "FLOW", "UPDATE", null, "Request task 'prose' calls an address known only at run time, which may be Kestra's own"],
      [10, 10, "FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"],
      [19, 1, "FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"],
      [18, 12, "FLOW", "UPDATE", null, "calls Kestra's own address (localhost) directly, past Perch"],
  ]],
];

describe('flow references: triggers, conditions and task types', () => {
  it.each(cases)('%s', (_name, body, expected) => {
    expect(rowsOf(body)).toEqual(expected);
  });
});
