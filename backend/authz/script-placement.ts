/**
 * Where a flow's scripts would run (issue 25; docs/design/worker-groups.md §4): every task that runs
 * code through a task runner, with the runner and Docker host it names, read from the YAML at save
 * time. Pure: the rules (which namespace is bound to which group's hosts) are handed in by the
 * worker-groups feature as {@link PlacementRules}.
 */
import { isMap, isScalar, isSeq, type LineCounter, type Node, type YAMLMap } from 'yaml';

export const DOCKER_RUNNER = 'io.kestra.plugin.scripts.runner.docker.Docker';

/** Plugins whose tasks run code through a task runner (a Docker container on the worker's daemon when none is named). */
const SCRIPT_TASK_PREFIXES = ['io.kestra.plugin.scripts.', 'io.kestra.core.tasks.scripts.', 'io.kestra.plugin.dbt.', 'io.kestra.plugin.ansible.', 'io.kestra.plugin.terraform.'];
/** Its task is built from expressions at run time: it may become any script, on any runner. */
const TEMPLATED_TASK = 'io.kestra.plugin.core.templating.TemplatedTask';
/** Script tasks that always run inside the Kestra worker's own JVM, whatever runner is named. */
const IN_WORKER = /^io\.kestra\.plugin\.scripts\.(?:jvm|nashorn|groovy|jython|graalvm)\.|\.(?:Eval|FileTransform)$/;
/** Keys that make any task a script task: it would run code in a container or process. */
const SCRIPT_KEYS = ['taskRunner', 'containerImage', 'docker', 'runner'];
const EXPRESSION = /\{\{|\{%|\{#/;

/** `null`: absent. `dynamic`: not a plain literal (an expression, a map, a number). */
export type Named = { kind: 'absent' } | { kind: 'dynamic' } | { kind: 'literal'; value: string };

export interface ScriptTask {
  id: string;
  type: string;
  line: number;
  runnerType: Named;
  host: Named;
  /** Uses the pre-taskRunner `docker:` / `runner:` properties. */
  legacy: boolean;
  inWorker: boolean;
}

export interface Placement {
  scripts: ScriptTask[];
  /** Line of a `pluginDefaults`/`taskDefaults` block (could change runners behind the tasks' back). */
  defaultsLine?: number;
}

/** What the worker-groups feature decides from: the offending tasks of one flow, as readable sentences. */
export interface PlacementRules {
  refusals(namespace: string, placement: Placement): string[];
}
export const NO_PLACEMENT_RULES: PlacementRules = { refusals: () => [] };

type Literal = (n: unknown) => string | null;

function named(node: unknown, literal: Literal): Named {
  if (node === undefined || node === null) return { kind: 'absent' };
  const text = literal(node);
  return text === null || EXPRESSION.test(text) ? { kind: 'dynamic' } : { kind: 'literal', value: text };
}

/** Every script task of a flow, wherever it stands (tasks, errors, finally, triggers, nested flowables). */
export function placementOf(root: YAMLMap, lc: LineCounter, literal: Literal): Placement {
  const scripts: ScriptTask[] = [];
  const lineOf = (n: Node | null | undefined) => (n?.range ? lc.linePos(n.range[0]).line : 1);
  const walk = (node: unknown, runnerValue: boolean): void => {
    if (isSeq(node)) { for (const item of node.items) walk(item, false); return; }
    if (!isMap(node)) return;
    const type = literal(node.get('type', true));
    const has = (key: string) => node.has(key);
    if (!runnerValue && type === TEMPLATED_TASK) {
      scripts.push({ id: literal(node.get('id', true)) ?? '(no literal id)', type, line: lineOf(node), runnerType: { kind: 'dynamic' }, host: { kind: 'dynamic' }, legacy: false, inWorker: false });
    } else if (!runnerValue && type !== null && (SCRIPT_TASK_PREFIXES.some((p) => type.startsWith(p)) || SCRIPT_KEYS.some(has))) {
      const runner = node.get('taskRunner', true);
      scripts.push({
        id: literal(node.get('id', true)) ?? '(no literal id)',
        type,
        line: lineOf(node),
        runnerType: isMap(runner) ? named(runner.get('type', true), literal) : named(runner, literal),
        host: isMap(runner) ? named(runner.get('host', true), literal) : runner === undefined ? { kind: 'absent' } : { kind: 'dynamic' },
        legacy: has('docker') || has('runner'),
        inWorker: IN_WORKER.test(type),
      });
    } else if (!runnerValue && type === null && SCRIPT_KEYS.some(has)) {
      // A task whose type Perch cannot read, yet carrying runner properties: treat it as a script with no known runner.
      scripts.push({ id: literal(node.get('id', true)) ?? '(no literal id)', type: '(not a literal type)', line: lineOf(node), runnerType: { kind: 'dynamic' }, host: { kind: 'dynamic' }, legacy: false, inWorker: false });
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      walk(pair.value, key === 'taskRunner');
    }
  };
  walk(root, false);
  const defaults = root.items.find((p) => isScalar(p.key) && (p.key.value === 'pluginDefaults' || p.key.value === 'taskDefaults'));
  return { scripts, ...(defaults ? { defaultsLine: lineOf(defaults.key as Node) } : {}) };
}
