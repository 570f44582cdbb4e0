/**
 * What Kestra's Pebble file functions open, read at save time (issue 16.2).
 *
 * Kestra 2.0 (kestra-io/kestra, core/src/main/java/io/kestra/core/runners/pebble/):
 * - `Extension.java` registers the functions (bbab7cacd4f5b6a0a219e1de7c8a6f5081752f1a: `read`,
 *   `fileURI`, `fileSize`, …); the 2.0 classes next to it add `fileExists`, `isFileEmpty` and the older
 *   `fileEmpty`, `http` and `subflow` (functions/FileExistsFunction.java 81d888d5, IsFileEmptyFunction.java
 *   69019761, FileEmptyFunction.java 98dcfd87, FileSizeFunction.java ef0bd028, FileURIFunction.java
 *   ca8ef786, ReadFileFunction.java f3a62104, HttpFunction.java f7d1e686, SubflowFunction.java 8643d9c5).
 *   No registered filter opens a file or takes a namespace (the filters map of Extension.java).
 * - `functions/AbstractFileFunction.java` (f8952e64bbe74d1d3e36ebf6f21eba5a186c9ef5) is how every file
 *   function reads its arguments `path` and `namespace`: `kestra:///…` opens an execution's file (the
 *   current one, the triggering one, or any namespace's: OSS lets every namespace read every other);
 *   `file://…` a file of the Kestra server itself; `nsfile://ns/…` (or `namespace=` with `nsfile:///…`)
 *   a namespace file; any other scheme fails; a bare path is a namespace file of `namespace=` or the
 *   flow's own namespace. An execution file's namespace is what precedes `/<flowId>/executions/`.
 */
export const FILE_FUNCTIONS: ReadonlySet<string> = new Set(['read', 'fileExists', 'fileSize', 'fileURI', 'isFileEmpty', 'fileEmpty']);

/** Kestra's own namespace pattern. */
export const NAMESPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface FileTarget {
  resource: 'NAMESPACE' | 'EXECUTION' | 'FLOW';
  action: 'MANAGE_FILES' | 'ACCESS_FILES' | 'UPDATE';
  /** null: not provably one namespace, so only a tenant-wide grant covers it. */
  namespace: string | null;
  what: string;
}

/**
 * The namespace a literal `kestra:///…` URI lies in. Kestra derives it by cutting the path before
 * `/executions/` and dropping the flow id; anything else (`..`, escapes, an authority, another layout)
 * is not provably anywhere.
 */
export function storageUriTarget(uri: string, own: string): FileTarget {
  const dynamic: FileTarget = { resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: null, what: `${uri} is a storage URI Perch cannot place in one namespace` };
  if (!uri.startsWith('kestra:///')) return dynamic;
  const path = uri.slice('kestra:///'.length);
  if (/[\\%{}\s]/.test(path) || path.split('/').some((s) => s === '' || s === '.' || s === '..')) return dynamic;
  const ownFiles = `${own.replaceAll('.', '/')}/_files/`;
  if (path.startsWith(ownFiles)) return { resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: own, what: `${uri} is a namespace file of ${own}` };
  // <namespace as a path>/<flowId>/executions/<executionId>/<more>: with a single `executions` segment,
  // Kestra's cut (last `/tasks/`, then last `/executions/`) and this one agree.
  const segments = path.split('/');
  const at = segments.indexOf('executions');
  if (at < 2 || segments.lastIndexOf('executions') !== at || segments.length < at + 3) return dynamic;
  const namespace = segments.slice(0, at - 1).join('.');
  if (!NAMESPACE_NAME.test(namespace)) return dynamic;
  return { resource: 'EXECUTION', action: 'ACCESS_FILES', namespace, what: `${uri} is a file of an execution in ${namespace}` };
}

/**
 * Whether Kestra takes a text given to a FILE input (or as its default) as a storage or namespace-file URI rather
 * than as a path on its own disk: its scheme test is case-sensitive, so `KESTRA:///…` is a path to it.
 */
export const isFileUriText = (text: unknown): boolean => typeof text === 'string' && /^(?:kestra|nsfile):/.test(text);

/** A file URI found in a text, where it starts, and what opening it needs. */
export interface FileUriMatch {
  index: number;
  target: FileTarget;
}

/**
 * Every file URI a text names, wherever it stands (a flow's YAML, or a value given to an input: Kestra takes
 * a `kestra:///…` text given to a FILE input as that file, not a copy under the execution):
 * `nsfile://ns/…` (own for `nsfile:///`) and `kestra:///…` (storageUriTarget). (`file:/…` goes through Kestra's
 * own `allowed-paths` check wherever Kestra 2.0 reads it; as a file function's argument it is tenant-wide.)
 */
export function fileUrisIn(text: string, own: string): FileUriMatch[] {
  const out: FileUriMatch[] = [];
  for (const m of text.matchAll(/nsfile:\/\/([^/\s'"()]*)(.?)/gi)) {
    const auth = m[1]!;
    const ok = m[2] === '/' && (auth === '' || NAMESPACE_NAME.test(auth));
    const ns = ok ? (auth === '' ? own : auth) : null;
    out.push({ index: m.index, target: { resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: ns, what: ok ? `nsfile:// reads the files of ${ns}` : `nsfile:// reads the files of a dynamic namespace (${m[0]})` } });
  }
  for (const m of text.matchAll(/kestra:\/[^\s'"()<>,|]*/gi)) out.push({ index: m.index, target: storageUriTarget(m[0], own) });
  return out;
}

/**
 * What a file function call opens. `path`: the literal string, or null when built at run time;
 * `provenLocal`: a run-time path Perch knows is a file of the current execution; `namespace`: the
 * literal `namespace=` argument, null when dynamic, undefined when absent.
 */
export function fileFunctionTargets(fn: string, path: string | null, namespace: string | null | undefined, own: string, provenLocal: boolean): FileTarget[] {
  const label = `${fn}()`;
  if (namespace === null) return [{ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: null, what: `${label} opens the files of a namespace known only at run time` }];
  if (namespace !== undefined && !NAMESPACE_NAME.test(namespace)) {
    return [{ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: null, what: `${label} opens the files of a malformed namespace (${namespace})` }];
  }
  if (path === null) {
    if (provenLocal && namespace === undefined) return [];
    return [
      { resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: null, what: `${label} opens a file whose path is built at run time` },
      { resource: 'EXECUTION', action: 'ACCESS_FILES', namespace: null, what: `${label} opens a file whose path is built at run time` },
    ];
  }
  // kestra:/// and nsfile:// literals are checked wherever they stand (flow-references.ts); Kestra refuses
  // `namespace=` next to an nsfile:// authority, and ignores it for kestra:///.
  if (/^kestra:\/\/\//.test(path) || /^nsfile:\/\//i.test(path)) return namespace === undefined || /^nsfile:\/\/[^/]/i.test(path) ? [] : nsFiles(label, namespace);
  if (/^file:/i.test(path)) {
    return [{ resource: 'FLOW', action: 'UPDATE', namespace: null, what: `${label} opens ${path}, a file of the Kestra server itself` }];
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) {
    return [{ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: null, what: `${label} opens ${path}, a URI Perch cannot place in one namespace` }];
  }
  if (/[\\%]/.test(path) || path.split('/').some((s) => s === '..')) {
    return [{ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace: null, what: `${label} opens ${path}, a path that may climb out of its namespace` }];
  }
  return nsFiles(label, namespace ?? own);
}

function nsFiles(label: string, namespace: string): FileTarget[] {
  return [{ resource: 'NAMESPACE', action: 'MANAGE_FILES', namespace, what: `${label} opens the files of ${namespace}` }];
}
