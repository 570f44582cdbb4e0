/**
 * What a flow's YAML reaches beyond itself (kestra-oss-notes §3.2, §10 risk 2): a proxy cannot contain
 * a flow at run time, so Perch reads the source at save/import/validate time and lists every reference
 * to another namespace's flows, executions, KV, files or secrets, with the permission it stands for.
 * The caller refuses (403) those its author does not hold. Pure and synchronous.
 *
 * Parsing refuses whatever could make Perch read a different flow than Kestra will (anchors.md §4.4
 * item 17): duplicate keys, aliases/anchors, merge keys, non-default tags, directives, several documents
 * unless asked for, and scalars that YAML 1.1 (Kestra's Jackson/SnakeYAML) would type differently.
 */
import { isMap, isScalar, isSeq, LineCounter, parse, parseAllDocuments, stringify, visit } from 'yaml';
import type { Document, Node, Scalar, YAMLMap } from 'yaml';
import type { Action } from '../../lib/authz/catalogue.js';
import { canonicalHost, LOOPBACK_ONLY, type KestraHosts } from './kestra-hosts.js';
import { OTHER_LINE_BREAK_REFUSAL, otherLineBreakLine } from './kestra-yaml.js';
import { FILE_FUNCTIONS, fileFunctionTargets, fileUrisIn, isFileUriText, NAMESPACE_NAME } from './pebble-file-functions.js';
import { placementOf, type Placement } from './script-placement.js';

export interface FlowDocument { namespace: string; id: string; line: number /* of namespace: */ }
export interface FlowReference {
  line: number;
  column?: number;
  what: string;
  resource: 'FLOW' | 'KVSTORE' | 'NAMESPACE' | 'EXECUTION' | 'SECRET';
  action: Action;
  /** null: the namespace is dynamic or unbounded, so only a tenant-wide binding can allow it. */
  namespace: string | null;
  /**
   * `secret()`: the key named (null when it is built at run time) and the flow's namespace, which
   * must see the secret (its own or a parent's; the caller checks against the secrets Perch keeps).
   */
  secret?: { key: string | null; flowNamespace: string };
}
export interface AnalyseOptions {
  /** A stream of flows (`---` between them), as flow imports take. */
  multiDocument?: boolean;
  /** Kestra's own addresses; loopback and localhost when not given. */
  kestraHosts?: KestraHosts;
}
/** A flow as read at save time: what it reaches, and where its scripts would run. */
export type AnalysedFlow = FlowDocument & { references: FlowReference[]; placement: Placement };
export type FlowParseResult =
  | { ok: true; documents: AnalysedFlow[] }
  | { ok: false; line?: number; message: string };

/**
 * Tasks that call Kestra's API with the admin's basic-auth credentials (oss-notes §3.4, 2.0 SDK auth).
 * They need tenant-wide FLOW UPDATE: whoever may rewrite every flow can already make any flow do anything.
 */
export const KESTRA_API_TASK_PREFIXES: readonly string[] = [
  'io.kestra.plugin.kestra.',
  'io.kestra.plugin.git.SyncFlow', 'io.kestra.plugin.git.SyncNamespaceFiles', 'io.kestra.plugin.git.SyncDashboards',
  'io.kestra.plugin.git.PushFlows', 'io.kestra.plugin.git.PushNamespaceFiles', 'io.kestra.plugin.git.PushDashboards',
  'io.kestra.plugin.git.NamespaceSync', 'io.kestra.plugin.git.TenantSync',
  'io.kestra.plugin.ai.tool.Kestra',
  // Its task is built from expressions at run time, so it may become any task, API tasks included.
  'io.kestra.plugin.core.templating.TemplatedTask',
];

/** Kestra's own namespace/flow-id pattern (and nothing a homoglyph or space could slip through). */
const NAME = NAMESPACE_NAME;
const YAML11_WORDS = /^(y|yes|n|no|true|false|on|off|null)$/i;
const DEFAULT_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);

/**
 * `trigger`: label of the enclosing Flow trigger. `condition`: where in it the walk is: outside its
 * conditions (`none`), inside conditions that all must hold (`and`), or under an Or/Not that lets
 * executions of other namespaces through (`widened`).
 */
type Ctx = {
  refs: FlowReference[]; own: string; lc: LineCounter; trigger: string | null; condition: 'none' | 'and' | 'widened';
  hosts: KestraHosts; fileInputs: ReadonlySet<string>;
};
type Found = { ns: string | null; detail: string };

class Refused extends Error { constructor(message: string, readonly line?: number) { super(message); } }

/**
 * Kestra cuts a multi-flow source into flows at every `---` in its text, wherever it stands, where
 * YAML sees a document marker only on a line of its own: `---` inside a value would hide a second
 * flow from a YAML parser. So every `---` must be a line of its own, and both readings agree.
 */
function strayDocumentMarker(source: string): number | undefined {
  for (let at = source.indexOf('---'); at >= 0; at = source.indexOf('---', at + 1)) {
    const lineStart = at === 0 || source[at - 1] === '\n';
    const lineEnd = source.indexOf('\n', at);
    const rest = source.slice(at + 3, lineEnd < 0 ? source.length : lineEnd);
    if (!lineStart || !/^[ \t]*\r?$/.test(rest)) return source.slice(0, at).split('\n').length;
  }
  return undefined;
}

export function analyseFlowSource(source: string, options: AnalyseOptions = {}): FlowParseResult {
  const lc = new LineCounter();
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lc.linePos(offset).line);
  const breakLine = otherLineBreakLine(source);
  if (breakLine !== null) return { ok: false, line: breakLine, message: `${OTHER_LINE_BREAK_REFUSAL[0]!.toUpperCase()}${OTHER_LINE_BREAK_REFUSAL.slice(1)}.` };
  try {
    if (options.multiDocument) {
      const line = strayDocumentMarker(source);
      if (line !== undefined) throw new Refused('"---" may only stand on a line of its own, between flows (Kestra splits a multi-flow source at every "---").', line);
    }
    // Duplicate keys are found below, in one pass per map: the parser's own check compares every key
    // with every other one, minutes of event loop for a body of 60,000 keys.
    const docs = parseAllDocuments(source, { lineCounter: lc, merge: false, uniqueKeys: false });
    // A stream's empty documents (a trailing `---`) carry no flow.
    const empty = (d: Document) => d.contents === null || (isScalar(d.contents) && d.contents.source === '');
    const list = docs.filter((d, _i, all) => !(all.length > 1 && empty(d)));
    if (list.length === 0) throw new Refused('The flow source is empty.');
    if (list.length > 1 && !options.multiDocument) {
      throw new Refused('Several YAML documents (---) where one flow was expected.', lineOf(list[1]!.range[0]));
    }
    return { ok: true, documents: list.map((doc) => analyseDocument(doc, lc, options.kestraHosts ?? LOOPBACK_ONLY)) };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, line: e.line, message: e.message };
    throw e;
  }
}

/**
 * What a text Kestra renders as Pebble in `namespace` outside any flow reaches (a backfill's inputs and labels,
 * which the scheduler renders for each execution it starts): read exactly as a flow's expressions are, as the
 * message of a task of a flow in that namespace. Refused (ok: false) where a flow's text would be.
 */
export function referencesInText(text: string, namespace: string, kestraHosts: KestraHosts = LOOPBACK_ONLY): { ok: true; references: FlowReference[] } | { ok: false; message: string } {
  const source = stringify({ id: 'rendered', namespace, tasks: [{ id: 'text', type: 'io.kestra.plugin.core.log.Log', message: text }] });
  const result = analyseFlowSource(source, { kestraHosts });
  return result.ok ? { ok: true, references: result.documents[0]!.references } : { ok: false, message: result.message };
}

function analyseDocument(doc: Document, lc: LineCounter, hosts: KestraHosts): AnalysedFlow {
  const at = (n: { range?: [number, number, number] | null } | null | undefined) =>
    n?.range ? lc.linePos(n.range[0]).line : undefined;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new Refused(problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '.'), problem.linePos?.[0].line);
  const dir = doc.directives;
  if (dir && (dir.yaml.explicit || Object.keys(dir.tags).some((t) => t !== '!' && t !== '!!'))) {
    throw new Refused('YAML directives (%YAML, %TAG) are not accepted.', at(doc.contents));
  }
  // Aliases, anchors, merge keys and explicit tags can make a value mean something else upstream.
  visit(doc, {
    Alias(_k, n) { throw new Refused('YAML aliases (*name) are not accepted.', at(n)); },
    // One visitor for every node, maps included (a `Map` visitor would replace this one for maps).
    Node(_k, n) {
      if (n.anchor) throw new Refused('YAML anchors (&name) are not accepted.', at(n));
      if (n.tag && !DEFAULT_TAGS.has(n.tag)) throw new Refused(`YAML tag ${n.tag} is not accepted.`, at(n));
      if (!isMap(n)) return;
      // Keys compare by their text, the way Jackson sees them (`1` and "1" collide).
      const seen = new Set<string>();
      for (const pair of n.items) {
        const text = keyText(pair.key);
        if (seen.has(text)) throw new Refused('Map keys must be unique.', at(pair.key as Node));
        seen.add(text);
      }
    },
    Pair(_k, p) {
      if (!isScalar(p.key)) throw new Refused('Only plain keys are accepted.', at(p.key as Node));
      if (p.key.value === '<<') throw new Refused('YAML merge keys (<<) are not accepted.', at(p.key));
    },
  });
  const root = doc.contents;
  if (!isMap(root)) throw new Refused('A flow must be a YAML mapping.', at(root));
  const nsNode = root.get('namespace', true);
  const idNode = root.get('id', true);
  const namespace = literal(nsNode);
  const id = literal(idNode);
  if (namespace === null || !NAME.test(namespace)) throw new Refused('The flow needs a literal `namespace:` name.', at(nsNode) ?? at(root));
  if (id === null || !NAME.test(id)) throw new Refused('The flow needs a literal `id:` name.', at(idNode) ?? at(root));
  const ctx: Ctx = { refs: [], own: namespace, lc, trigger: null, condition: 'none', hosts, fileInputs: fileInputsOf(root) };
  walk(root, ctx);
  pluginDefaults(root, ctx);
  fileInputDefaults(root, ctx);
  return { namespace, id, line: at(keyNode(root, 'namespace'))!, references: dedupe(ctx.refs), placement: placementOf(root, lc, literal) };
}

function keyText(n: unknown): string {
  return isScalar(n) ? String(n.value) : JSON.stringify(n);
}

/** A string Kestra will read exactly as Perch does: plain scalars must stay strings under YAML 1.1 too. */
function literal(n: unknown): string | null {
  if (!isScalar(n) || typeof n.value !== 'string') return null;
  if (n.type !== 'PLAIN' || (/^[A-Za-z_][\w.-]*$/.test(n.value) && !YAML11_WORDS.test(n.value))) return n.value;
  try { return typeof parse(n.value, { version: '1.1' }) === 'string' ? n.value : null; } catch { return null; }
}

function keyNode(map: YAMLMap, key: string): Scalar | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key)?.key as Scalar | undefined;
}

/** A referenced namespace: a literal name, or null (dynamic, unbounded, malformed) with why. */
function nsValue(n: unknown, ctx: Ctx, absent: 'own' | 'null'): Found {
  if (n === undefined || n === null) return absent === 'own' ? { ns: ctx.own, detail: ctx.own } : { ns: null, detail: 'every namespace (none named)' };
  const s = literal(n);
  if (s !== null && NAME.test(s)) return { ns: s, detail: s };
  return { ns: null, detail: `a dynamic namespace (${isScalar(n) ? String(n.value) : 'not a literal'})` };
}

function push(ctx: Ctx, node: Node | undefined | null, resource: FlowReference['resource'], actions: Action[], what: string, ns: string | null) {
  const pos = node?.range ? ctx.lc.linePos(node.range[0]) : { line: 1, col: 1 };
  for (const action of actions) ctx.refs.push({ line: pos.line, column: pos.col, what, resource, action, namespace: ns });
}

function walk(node: unknown, ctx: Ctx): void {
  if (isScalar(node)) { if (typeof node.value === 'string') scanExpressions(node, ctx); return; }
  if (isSeq(node)) { for (const item of node.items) walk(item, ctx); return; }
  if (!isMap(node)) return;
  const type = literal(node.get('type', true));
  let inner = ctx;
  if (ctx.trigger !== null) {
    if (ctx.condition !== 'none') listen(node, ctx);
    inner = widening(node, type, ctx);
  } else if (type !== null && type.includes('.condition.')) listen(node, ctx);
  else if (type !== null && isFlowTrigger(type)) inner = { ...ctx, trigger: `Flow trigger ${taskName(node)}`, condition: 'none' };
  else if (type !== null) classify(node, type, ctx);
  if (type !== null && isHttpTask(type)) checkHttpTask(node, `${simpleName(type)} task ${taskName(node)}`, ctx);
  const nsFiles = node.get('namespaceFiles', true);
  if (isMap(nsFiles) && !(isScalar(nsFiles.get('enabled', true)) && (nsFiles.get('enabled', true) as Scalar).value === false)) {
    for (const { node: at, f } of targets(nsFiles, ctx, 'own')) {
      push(ctx, at ?? keyNode(node, 'namespaceFiles'), 'NAMESPACE', ['MANAGE_FILES'], `namespaceFiles of ${taskName(node)} reads the files of ${f.detail}`, f.ns);
    }
  }
  const before = ctx.refs.length;
  const startsTrigger = inner !== ctx && ctx.trigger === null;
  for (const pair of node.items) {
    walk(pair.key, inner);
    // Only what stands under a Flow trigger's conditions narrows the executions it listens to.
    const key = isScalar(pair.key) ? pair.key.value : null;
    const scope = startsTrigger && typeof key === 'string' && TRIGGER_CONDITION_KEYS.has(key) ? { ...inner, condition: 'and' as const } : inner;
    walk(pair.value, scope);
  }
  // A Flow trigger with a condition that names no namespace fires on executions of the whole instance.
  if (startsTrigger) {
    const groups = conditionGroups(node);
    const none = !ctx.refs.slice(before).some(isListening);
    if (none || groups.length === 0 || groups.some((g) => !bounds(g, inner))) {
      push(ctx, node.get('type', true) as Node, 'EXECUTION', ['VIEW', 'ACCESS_OUTPUTS'],
        `${inner.trigger} listens to the executions of every namespace (${none ? 'no namespace condition' : 'one of its conditions names no namespace'})`, null);
    }
  }
}

/**
 * The parts of a Flow trigger that executions satisfy separately: its `conditions` list (all hold for
 * one execution), each upstream flow and each `where` filter group of `preconditions`/`when`, which
 * Kestra counts as independent conditions of one window (kestra core/.../trigger/Flow.java,
 * Preconditions.getConditions), and each entry of 2.0's `dependsOn` (Flow.java @ c94e7743: one
 * DependencyCondition per entry, its `namespace` compared for equality, none meaning any): any of them
 * heard from every namespace makes the trigger hear it. A text `when` is 2.0's Pebble gate of every
 * trigger (AbstractTrigger.when, ANDed with the rest): it narrows, so it is no group of its own.
 */
function conditionGroups(trigger: YAMLMap): Node[] {
  const groups: Node[] = [];
  const conditions = trigger.get('conditions', true) as Node | undefined;
  if (conditions !== undefined) groups.push(conditions);
  const dependsOn = trigger.get('dependsOn', true) as Node | undefined;
  if (isSeq(dependsOn)) groups.push(...(dependsOn.items as Node[]));
  else if (dependsOn !== undefined) groups.push(dependsOn);
  for (const key of ['preconditions', 'when']) {
    const pre = trigger.get(key, true);
    if (key === 'when' && isScalar(pre) && typeof pre.value === 'string') continue;
    if (!isMap(pre)) { if (pre !== undefined) groups.push(pre as Node); continue; }
    for (const part of ['flows', 'where']) {
      const list = pre.get(part, true);
      if (isSeq(list)) groups.push(...(list.items as Node[]));
      else if (list !== undefined) groups.push(list as Node);
    }
  }
  return groups;
}

/**
 * A reference `listen` made: the executions a trigger or condition hears. Other execution references
 * (a storage URI in a label filter, a purge task) name a namespace without bounding what is heard.
 */
const isListening = (r: FlowReference) => r.resource === 'EXECUTION' && r.action === 'VIEW';

/** Whether a condition group bounds the namespaces heard: it names one, not widened by Or/Not/Multiple. */
function bounds(group: Node, trigger: Ctx): boolean {
  const scratch: Ctx = { ...trigger, refs: [], condition: 'and' };
  walk(group, scratch);
  return scratch.refs.some((r) => isListening(r) && r.namespace !== null);
}

/** The keys of a Flow trigger (1.x `conditions`, 2.0 `preconditions`/`when`, later 2.0 `dependsOn`) whose conditions must all hold. */
const TRIGGER_CONDITION_KEYS: ReadonlySet<string> = new Set(['conditions', 'preconditions', 'when', 'dependsOn']);

/** Under an Or/Not/Multiple condition, or a filter group joined by OR, a namespace no longer bounds what is heard. */
function widening(m: YAMLMap, type: string | null, ctx: Ctx): Ctx {
  if (ctx.condition !== 'and') return ctx;
  const name = type === null ? '' : simpleName(type).replace(/Condition$/, '');
  // An operand other than a literal AND (OR, an expression, a number Jackson could read as an enum ordinal) widens.
  const operandNode = m.get('operand', true);
  const widens = operandNode !== undefined && literal(operandNode)?.toUpperCase() !== 'AND';
  // MultipleCondition: its conditions are met by separate executions, like an Or for this purpose.
  return name === 'Or' || name === 'Not' || name === 'Multiple' || widens ? { ...ctx, condition: 'widened' } : ctx;
}

const taskName = (m: YAMLMap) => `'${literal(m.get('id', true)) ?? '?'}'`;
const simpleName = (type: string) => type.slice(type.lastIndexOf('.') + 1);
const isKestraCore = (type: string) => type.startsWith('io.kestra.plugin.core.') || type.startsWith('io.kestra.core.');
const isFlowTrigger = (type: string) => isKestraCore(type) && /\.triggers?\./.test(type) && simpleName(type) === 'Flow';

/** Task/trigger types with a known meaning; anything else naming a flow or namespace fails closed. */
function classify(m: YAMLMap, type: string, ctx: Ctx): void {
  const typeNode = m.get('type', true) as Node;
  const nsNode = m.get('namespace', true) as Node | undefined;
  const name = simpleName(type);
  const label = `${name} task ${taskName(m)}`;
  if (KESTRA_API_TASK_PREFIXES.some((p) => type.startsWith(p))) {
    push(ctx, typeNode, 'FLOW', ['UPDATE'], `${label} calls Kestra's API with the administrator's authority`, null);
    return;
  }
  const where = (absent: 'own' | 'null') => nsValue(nsNode, ctx, absent);
  const core = isKestraCore(type);
  const each = (resource: FlowReference['resource'], actions: Action[], verb: string, absent: 'own' | 'null') => {
    for (const { node, f } of targets(m, ctx, absent)) push(ctx, node ?? typeNode, resource, actions, `${label} ${verb} ${f.detail}`, f.ns);
  };
  if (core && type.includes('.kv.')) {
    // PurgeKV without `namespaces` purges every namespace (kestra core/.../kv/PurgeKV.java df05f04e).
    each('KVSTORE', name === 'Set' ? ['CREATE', 'UPDATE'] : name === 'Get' ? ['VIEW'] : name === 'GetKeys' ? ['LIST']
      : name === 'Delete' ? ['DELETE'] : ['UPDATE', 'DELETE'], 'uses the KV store of', name === 'PurgeKV' ? 'null' : 'own');
  } else if (core && type.includes('.namespace.')) {
    each('NAMESPACE', ['MANAGE_FILES'], 'handles the namespace files of', 'own');
  } else if (core && /^Purge(Executions|Logs)?$/.test(name)) {
    // `Purge` is the 1.x name of PurgeExecutions (io.kestra.core.tasks.storages.Purge).
    each('EXECUTION', ['DELETE'], 'purges executions of', 'null');
  } else if (core && /^Counts?$/.test(name)) {
    each('EXECUTION', ['LIST'], 'counts executions of', 'null');
  } else if (core && (name === 'Fetch' || name === 'Resume') && (m.has('executionId') || nsNode)) {
    each('EXECUTION', [name === 'Fetch' ? 'ACCESS_LOGS' : 'RESUME'], 'acts on an execution of', 'null');
  } else if (m.has('flowId') && !(core && name === 'Toggle')) {
    // Subflow, legacy Flow, ForEachItem, Loop… and any unknown task naming a flow: it starts that flow.
    const f = where('null');
    const flow = literal(m.get('flowId', true)) ?? '(dynamic flow)';
    push(ctx, nsNode ?? typeNode, 'FLOW', ['EXECUTE'], f.ns === null ? `${label} runs ${flow} in ${f.detail}` : `${label} runs ${f.ns}.${flow}`, f.ns);
  } else if (core && (nsNode || name === 'Toggle')) {
    // An unknown (or removed) Kestra task aimed at a namespace: demand edit rights there, which already imply anything.
    const f = where('own');
    push(ctx, nsNode ?? typeNode, 'FLOW', ['UPDATE'], `${label} acts on ${f.detail}`, f.ns);
  }
}

/** Namespaces a Kestra task aims at: `namespace`, each of `namespaces`, a `namespacePattern` (unbounded). */
function targets(m: YAMLMap, ctx: Ctx, absent: 'own' | 'null'): Array<{ node: Node | undefined; f: Found }> {
  const out: Array<{ node: Node | undefined; f: Found }> = [];
  const one = m.get('namespace', true) as Node | undefined;
  if (one !== undefined) out.push({ node: one, f: nsValue(one, ctx, absent) });
  const list = m.get('namespaces', true);
  for (const n of isSeq(list) ? list.items : list === undefined ? [] : [list]) out.push({ node: n as Node, f: nsValue(n, ctx, absent) });
  const pattern = m.get('namespacePattern', true) as Node | undefined;
  if (pattern !== undefined) out.push({ node: pattern, f: { ns: null, detail: 'every namespace matching a pattern' } });
  return out.length > 0 ? out : [{ node: undefined, f: nsValue(undefined, ctx, absent) }];
}

/** Inside a Flow trigger (or a condition): every namespace named is one whose executions it observes. */
function listen(m: YAMLMap, ctx: Ctx): void {
  const label = ctx.trigger ?? `Condition ${taskName(m)}`;
  const nsNode = m.get('namespace', true) as Node | undefined;
  if (nsNode !== undefined) {
    let f = nsValue(nsNode, ctx, 'null');
    // Compared as Jackson may read them: enum names in any case, `prefix: "true"` coerced to a boolean.
    const cmpNode = m.get('comparison', true);
    const cmp = cmpNode === undefined ? null : literal(cmpNode)?.toUpperCase() ?? '(not a literal)';
    const prefixNode = m.get('prefix', true);
    const prefix = cmp === 'PREFIX' || (prefixNode !== undefined && !(isScalar(prefixNode) && prefixNode.value === false));
    // A string prefix "a.b" also matches "a.bc"; a suffix matches anywhere. Only "a.b." stays inside a.b.
    if (f.ns !== null && ((cmp !== null && cmp !== 'EQUALS' && cmp !== 'PREFIX') || (prefix && !f.ns.endsWith('.')))) f = { ns: null, detail: `every namespace matching '${f.ns}' by ${cmp ?? 'PREFIX'}` };
    else if (f.ns !== null && prefix) f = { ns: f.ns.slice(0, -1), detail: f.ns.slice(0, -1) };
    f = widened(f, ctx);
    push(ctx, nsNode, 'EXECUTION', ['VIEW', 'ACCESS_OUTPUTS'], `${label} listens to executions of ${f.detail}`, f.ns);
  }
  // preconditions/when `where` filters: {field: NAMESPACE, type: EQUAL_TO|IN…, value|values}.
  if (literal(m.get('field', true)) === 'NAMESPACE') {
    const op = literal(m.get('type', true));
    const v = m.get('values', true) ?? m.get('value', true);
    const items = isSeq(v) ? v.items : [v];
    for (const n of items) {
      let f = nsValue(n, ctx, 'null');
      if (op !== 'EQUAL_TO' && op !== 'IN') f = { ns: null, detail: `every namespace matching a ${op ?? 'missing'} filter` };
      f = widened(f, ctx);
      push(ctx, (n as Node) ?? m, 'EXECUTION', ['VIEW', 'ACCESS_OUTPUTS'], `${label} listens to executions of ${f.detail}`, f.ns);
    }
  }
}

function widened(f: Found, ctx: Ctx): Found {
  return ctx.condition === 'widened' && f.ns !== null ? { ns: null, detail: `every namespace (${f.ns} under an Or/Not/Multiple condition or an OR filter group)` } : f;
}

/** Pebble calls that reach other namespaces, found in any string (keys included; fail closed). */
function scanExpressions(s: Scalar, ctx: Ctx): void {
  const text = s.value as string;
  // Nothing is evaluated outside {{ }} / {% %}; URIs are read as they are, so they are checked everywhere.
  const inPebble = pebbleRegions(text);
  const lineAt = (index: number): Node => {
    // A literal block maps value lines 1:1 onto source lines below its header; elsewhere, the scalar's start.
    if (s.type !== 'BLOCK_LITERAL' || !s.range) return s;
    const header = ctx.lc.linePos(s.range[0]).line;
    const line = header + 1 + (text.slice(0, index).match(/\n/g)?.length ?? 0);
    return { range: [ctx.lc.lineStarts[line - 1] ?? s.range[0], 0, 0] } as unknown as Node;
  };
  for (const m of text.matchAll(/(?<![\w$])([A-Za-z_]\w*)\s*\(/g)) {
    if (!inPebble(m.index)) continue;
    pebbleCall(m[1]!, callArgs(text, m.index + m[0].length), lineAt(m.index), ctx);
  }
  // File URIs, for file functions and for every task or input that takes a file (inputFiles, from, items, defaults…).
  for (const { index, target: t } of fileUrisIn(text, ctx.own)) push(ctx, lineAt(index), t.resource, [t.action], t.what, t.namespace);
  for (const m of text.matchAll(/\b(?:https?|wss?):\/\/[^\s'"<>`]+/gi)) {
    const host = literalHostOf(m[0]);
    if (host !== null && ctx.hosts.isKestra(host)) pushKestraCall(ctx, lineAt(m.index), host);
  }
}

function pebbleCall(fn: string, args: CallArgs, at: Node, ctx: Ctx): void {
  const nsArg = (position: number) => (args.named.has('namespace') && args.positional.length > position ? AMBIGUOUS : args.named.get('namespace') ?? args.positional[position]);
  if (fn === 'kv') {
    const nsText = nsArg(1);
    const ns = nsText === undefined ? ctx.own : stringLiteral(nsText);
    const ok = ns !== null && NAME.test(ns);
    push(ctx, at, 'KVSTORE', ['VIEW'], ok ? `kv() reads the KV store of ${ns}` : `kv() reads the KV store of a dynamic namespace (${nsText?.trim()})`, ok ? ns : null);
  } else if (fn === 'secret') {
    // Kestra OSS resolves secret(key) from one global environment, whatever namespace it names
    // (core/secret/SecretService.java): the key must be a literal the caller can check at save time.
    const keyText = args.named.get('key') ?? args.positional[0];
    const key = keyText === undefined ? null : stringLiteral(keyText);
    const dynamicNamespace = args.named.has('namespace') && stringLiteral(args.named.get('namespace')!) === null;
    const known = key !== null && !dynamicNamespace ? key : null;
    const before = ctx.refs.length;
    push(ctx, at, 'SECRET', ['VIEW'], known === null ? `secret(${keyText?.trim() ?? ''}) names its secret at run time` : `secret('${known}') reads an instance-wide secret`, null);
    for (const ref of ctx.refs.slice(before)) ref.secret = { key: known, flowNamespace: ctx.own };
  } else if (fn === 'render' || fn === 'renderOnce') {
    // Evaluates text known only at run time, which may call kv()/read()/secret() on any namespace.
    for (const [resource, action] of [['KVSTORE', 'VIEW'], ['NAMESPACE', 'MANAGE_FILES'], ['SECRET', 'VIEW']] as const) {
      push(ctx, at, resource, [action], `${fn}() evaluates an expression known only at run time`, null);
    }
  } else if (FILE_FUNCTIONS.has(fn)) {
    const pathText = args.named.get('path') ?? args.positional[0];
    const nsText = nsArg(1);
    const path = pathText === undefined ? null : stringLiteral(pathText);
    const ns = nsText === undefined ? undefined : stringLiteral(nsText);
    for (const t of fileFunctionTargets(fn, path, ns, ctx.own, pathText !== undefined && provenLocalFile(pathText, ctx))) {
      push(ctx, at, t.resource, [t.action], t.what, t.namespace);
    }
  } else if (fn === 'subflow') {
    // subflow(namespace, id, …) runs that flow (kestra pebble/functions/SubflowFunction.java 8643d9c5).
    const nsText = nsArg(0);
    const ns = nsText === undefined ? null : stringLiteral(nsText);
    const ok = ns !== null && NAME.test(ns);
    push(ctx, at, 'FLOW', ['EXECUTE'], ok ? `subflow() runs a flow of ${ns}` : `subflow() runs a flow of a dynamic namespace (${nsText?.trim() ?? 'none given'})`, ok ? ns : null);
  } else if (fn === 'http') {
    const uriText = args.named.get('uri') ?? args.positional[0];
    const host = uriText === undefined ? null : hostOfExpression(uriText);
    if (host === null) push(ctx, at, 'FLOW', ['UPDATE'], `http() calls an address known only at run time (${uriText?.trim() ?? 'none given'}), which may be Kestra's own`, null);
    else if (ctx.hosts.isKestra(host)) pushKestraCall(ctx, at, host);
  } else if (args.named.has('namespace')) {
    // A function Perch does not know, aimed at a namespace: edit rights there, which imply anything.
    const nsText = args.named.get('namespace')!;
    const ns = stringLiteral(nsText);
    const ok = ns !== null && NAME.test(ns);
    push(ctx, at, 'FLOW', ['UPDATE'], ok ? `${fn}() acts on ${ns}` : `${fn}() acts on a dynamic namespace (${nsText.trim()})`, ok ? ns : null);
  }
}

/** A namespace argument given both by name and by position: Perch cannot tell which Kestra takes. */
const AMBIGUOUS = '(given twice)';

function pushKestraCall(ctx: Ctx, at: Node, host: string): void {
  push(ctx, at, 'FLOW', ['UPDATE'], `calls Kestra's own address (${host}) directly, past Perch`, null);
}

/**
 * A run-time file path Perch can place in the current execution: a task's stored file (`outputs.t.uri`,
 * `outputs.t.outputFiles…`) or a FILE input of this flow (Kestra stores both under the execution).
 */
function provenLocalFile(expr: string, ctx: Ctx): boolean {
  const e = expr.trim();
  if (/^outputs\.[A-Za-z_][\w-]*\.(?:uri|outputFiles(?:\.[\w-]+|\[\s*'[^'\\{}]*'\s*\]|\[\s*"[^"\\{}#]*"\s*\]))$/.test(e)) return true;
  const input = /^inputs\.([A-Za-z_][\w-]*)$/.exec(e);
  return input !== null && ctx.fileInputs.has(input[1]!);
}

/** A FILE input (or a list of them), as declared. */
const isFileInput = (item: YAMLMap) => literal(item.get('type', true)) === 'FILE' || (literal(item.get('type', true)) === 'ARRAY' && literal(item.get('itemType', true)) === 'FILE');

/**
 * A FILE input's default that is not a storage or namespace-file URI (those are read where they stand) is a
 * path Kestra opens on its own server's disk and copies into the execution (kestra-io/kestra#18557, 2.0.0):
 * only a tenant-wide editor may write one.
 */
function fileInputDefaults(root: YAMLMap, ctx: Ctx): void {
  const inputs = root.get('inputs', true);
  for (const item of isSeq(inputs) ? inputs.items : []) {
    if (!isMap(item) || !isFileInput(item)) continue;
    const defaults = item.get('defaults', true);
    if (defaults === undefined || (isScalar(defaults) && (defaults.value === null || isFileUriText(defaults.value)))) continue;
    const id = literal(item.get('id', true)) ?? literal(item.get('name', true)) ?? '?';
    push(ctx, defaults as Node, 'FLOW', ['UPDATE'], `the default of FILE input ${id} is a path Kestra reads from its own server's disk`, null);
  }
}

/** The declared inputs of type FILE, by id (1.x: name). */
function fileInputsOf(root: YAMLMap): ReadonlySet<string> {
  const out = new Set<string>();
  const inputs = root.get('inputs', true);
  if (!isSeq(inputs)) return out;
  for (const item of inputs.items) {
    if (!isMap(item) || literal(item.get('type', true)) !== 'FILE') continue;
    const id = literal(item.get('id', true)) ?? literal(item.get('name', true));
    if (id !== null) out.add(id);
  }
  return out;
}

/**
 * `pluginDefaults` (1.x `taskDefaults`) give every task whose type starts with `type` these values,
 * over the task's own when `forced`: a namespace there may be any task's, so it needs edit rights
 * there, and an address there may be any HTTP task's.
 */
function pluginDefaults(root: YAMLMap, ctx: Ctx): void {
  for (const key of ['pluginDefaults', 'taskDefaults']) {
    const list = root.get(key, true);
    for (const item of isSeq(list) ? list.items : []) {
      const values = isMap(item) ? item.get('values', true) : undefined;
      if (!isMap(values)) continue;
      const label = `${key} for ${literal((item as YAMLMap).get('type', true)) ?? '(any type)'}`;
      if (values.has('namespace') || values.has('namespaces') || values.has('namespacePattern')) {
        for (const { node, f } of targets(values, ctx, 'own')) push(ctx, node, 'FLOW', ['UPDATE'], `${label} sets the namespace of its tasks to ${f.detail}`, f.ns);
      }
      checkHttpTask(values, label, ctx);
    }
  }
}

/** Types whose `uri` Kestra calls over HTTP: core and 1.x HTTP tasks and triggers. */
const isHttpTask = (type: string) => /^io\.kestra\.(?:plugin\.core|plugin\.fs|core\.tasks|core\.models\.triggers)\.http\./.test(type) || /^io\.kestra\.plugin\.core\.trigger\.Http/.test(type);

function checkHttpTask(m: YAMLMap, label: string, ctx: Ctx): void {
  for (const key of ['uri', 'url']) {
    const n = m.get(key, true) as Node | undefined;
    if (n === undefined) continue;
    const text = isScalar(n) && typeof n.value === 'string' ? n.value : null;
    const host = text === null ? null : literalHostOf(text);
    if (host === null) {
      push(ctx, n, 'FLOW', ['UPDATE'], `${label} calls an address known only at run time, which may be Kestra's own`, null);
    } else if (ctx.hosts.isKestra(host)) pushKestraCall(ctx, n, host);
  }
}

/** The canonical host of an http(s) or ws(s) URL whose scheme and host are literal text, else null. */
function literalHostOf(url: string): string | null {
  const m = /^\s*(https?|wss?):\/\/([^/?#\\]*)/i.exec(url);
  if (!m || /[{}%]/.test(m[2]!.replace(/%[0-9a-f]{2}/gi, '')) || m[2]!.includes('{')) return null;
  return canonicalHost(`${m[1]}://${m[2]}/`);
}

/** The host of an http() argument: a literal URL, or a concatenation whose first piece holds the whole host. */
function hostOfExpression(expr: string): string | null {
  const whole = stringLiteral(expr);
  if (whole !== null) return literalHostOf(whole);
  const head = /^\s*(?:'([^'\\{}]*)'|"([^"\\{}#]*)")\s*~/.exec(expr);
  const first = head ? head[1] ?? head[2]! : null;
  return first !== null && /^\s*https?:\/\/[^/?#]*[/?#]/i.test(first) ? literalHostOf(first) : null;
}

/**
 * Whether an offset lies inside `{{ }}` or `{% %}`, read as Pebble's lexer reads them: a tag ends at its
 * own closer outside quotes and brackets (`{{ {'a': {'b': 1}} ~ kv(…) }}` is one tag). String
 * interpolation (`"#{ … }"`) and an unclosed tag run to the end of the text (fail closed).
 */
function pebbleRegions(text: string): (index: number) => boolean {
  const regions: Array<[number, number]> = [];
  let i = text.search(/\{[{%]/);
  while (i !== -1 && i < text.length) {
    const closer = text[i + 1] === '{' ? '}' : '%';
    let j = i + 2, quote = '', depth = 0;
    for (; j < text.length; j++) {
      const c = text[j]!;
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = '';
        else if (quote === '"' && c === '#' && text[j + 1] === '{') { j = text.length; break; }
      } else if (c === "'" || c === '"') quote = c;
      else if ('([{'.includes(c)) depth++;
      else if (depth === 0 && c === closer && text[j + 1] === '}') break;
      else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    }
    regions.push([i, j]);
    const next = j + 2 >= text.length ? -1 : text.slice(j + 2).search(/\{[{%]/);
    i = next === -1 ? -1 : j + 2 + next;
  }
  return (index) => regions.some(([a, b]) => index > a && index < b);
}

type CallArgs = { positional: string[]; named: Map<string, string> };

/**
 * Splits a call's arguments at top-level commas (quotes and brackets respected); unterminated → best
 * effort. A positional argument after a named one, or a name given twice, leaves the namespace unknown.
 */
function callArgs(text: string, start: number): CallArgs {
  const parts: string[] = [];
  let depth = 0, quote = '', cur = '';
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (quote) { cur += c; if (c === '\\') cur += text[++i] ?? ''; else if (c === quote) quote = ''; continue; }
    if (c === "'" || c === '"') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) { if (depth === 0) break; depth--; }
    else if (c === ',' && depth === 0) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim() !== '' || parts.length > 0) parts.push(cur);
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const p of parts) {
    const kw = /^\s*([A-Za-z_]\w*)\s*=(?!=)([\s\S]*)$/.exec(p);
    if (kw) named.set(kw[1]!, named.has(kw[1]!) ? AMBIGUOUS : kw[2]!);
    else if (named.size > 0) named.set('namespace', AMBIGUOUS); // which parameter it binds to is a guess: no namespace is proven
    else positional.push(p);
  }
  return { positional, named };
}

/** The value of exactly one quoted Pebble string, else null (concatenations, variables, filters). */
function stringLiteral(arg: string): string | null {
  const m = /^\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*$/.exec(arg);
  if (!m) return null;
  const body = m[1] ?? m[2]!;
  return body.includes('\\') || body.includes('{') ? null : body;
}

function dedupe(refs: FlowReference[]): FlowReference[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.line}|${r.resource}|${r.action}|${r.namespace}|${r.what}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
