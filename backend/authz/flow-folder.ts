/**
 * Kestra's `_flows/` namespace-file folder (issue 16 point 1). Kestra 2.0's NamespaceFileController
 * (kestra-io/kestra 0a46f3b4, `putNamespaceFile`) imports a file uploaded to `/_flows/<name>` (or a ZIP
 * entry `_flows/<name>`) as a flow, creating or overwriting it, after rewriting the first line that
 * reads `namespace: …` to the namespace of the URL. Anything else stays in the YAML: a quoted
 * `"namespace":` key, a flow-style map, a later line. So a file write there is a flow write.
 *
 * Perch reads a path the way Kestra matches it (decoded once, `/_flows/<name>` exactly) and, to be
 * safe, the way a storage might resolve it (`.`/`..`, repeated or back slashes, case, encodings,
 * invisible characters): a path that reaches `_flows` only by the second reading is refused.
 */
import { isMap, parseDocument } from 'yaml';
import { archiveEntries } from './flow-archive.js';
import { analyseFlowSource, type AnalysedFlow } from './flow-references.js';
import { OTHER_LINE_BREAKS } from './kestra-yaml.js';
import { LOOPBACK_ONLY, type KestraHosts } from './kestra-hosts.js';
import type { FormPart } from './multipart-form.js';

/** The one spelling Perch accepts for a flow file: `/_flows/<name>` with a plain name. */
const CANONICAL_FLOW_FILE = /^\/_flows\/([A-Za-z0-9][A-Za-z0-9._-]*)$/;
const FOLDER = '_flows';

export class FlowFolderError extends Error {
  constructor(
    readonly status: 400 | 403,
    message: string,
  ) {
    super(message);
  }
}

export type FlowFolderReading = { inFolder: false; root: boolean } | { inFolder: true; canonical: boolean };

/**
 * Percent-decodes until nothing changes (bounded): a storage URI Kestra decodes once more must not hide
 * `_flows`. Each run of valid escapes is decoded on its own, so a malformed one (`%zz`, which Java's
 * URI quotes and keeps) cannot stop the others from being read.
 */
function decodeAll(value: string): string {
  let out = value;
  for (let i = 0; i < 4; i++) {
    const next = out.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
    if (next === out) return out;
    out = next;
  }
  return out;
}

/**
 * Whether a namespace-file path (as Kestra binds the query value) lands in `_flows/`. The loose reading
 * folds every spelling a file system, an object store or a second URI decoding could resolve to
 * the folder; only Kestra's own `/_flows/<name>` counts as canonical.
 */
export function readFlowFolderPath(path: string): FlowFolderReading {
  if (CANONICAL_FLOW_FILE.test(path)) return { inFolder: true, canonical: true };
  const loose = decodeAll(path)
    .normalize('NFKC')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:/, '')
    .replace(/\\/g, '/');
  // Kestra matches the folder on the path as given, before any dot segment is resolved: `/_flows//..` is in it.
  if (/^\/?_flows\//.test(loose)) return { inFolder: true, canonical: false };
  const segments: string[] = [];
  for (const raw of loose.split('/')) {
    const segment = raw.replace(/[. ]+$/, (dots) => (raw === dots ? dots : ''));
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment.trim());
  }
  return segments[0] === FOLDER ? { inFolder: true, canonical: false } : { inFolder: false, root: segments.length === 0 };
}

const NAMESPACE_LINE = /^namespace: /;

/**
 * The flow Kestra will import from a file under `_flows/` of `namespace`, with what it reaches.
 * Perch applies Kestra's rewrite to the text and reads the result; it refuses (400) a file whose
 * rewritten line is not the flow's own top-level `namespace:` key, so the flow always lands in
 * the namespace of the URL, and any YAML two parsers could read differently (the checks of
 * analyseFlowSource: anchors, aliases, tags, several documents, duplicate keys).
 */
export function flowOfFolderFile(source: string, namespace: string, where: string, kestraHosts: KestraHosts = LOOPBACK_ONLY): AnalysedFlow {
  const refuse = (why: string): never => {
    throw new FlowFolderError(400, `${where} would be imported by Kestra as a flow, and is refused: ${why}`);
  };
  if (source.startsWith('\uFEFF')) refuse('it starts with a byte-order mark');
  if (OTHER_LINE_BREAKS.test(source)) refuse('it has line breaks other than LF or CRLF');
  const lines = source.split('\n');
  const index = lines.findIndex((line) => NAMESPACE_LINE.test(line));
  if (index < 0) {
    refuse('Kestra moves such a file into this namespace only through a plain, unquoted top-level `namespace: ` line, and it has none (a quoted key or a flow-style map would keep the namespace the YAML names)');
  }
  const carriageReturn = lines[index]!.endsWith('\r') ? '\r' : '';
  lines[index] = `namespace: ${namespace}${carriageReturn}`;
  const result = analyseFlowSource(lines.join('\n'), { multiDocument: false, kestraHosts });
  if (!result.ok) return refuse(`${result.message}${result.line ? ` (line ${result.line})` : ''}`);
  const flow = result.documents[0]!;
  const root = parseDocument(lines.join('\n'), { uniqueKeys: false }).contents;
  if (!isMap(root) || root.flow) refuse('a flow file must be a block mapping (a flow-style `{…}` map reads differently line by line)');
  if (flow.namespace !== namespace || flow.line !== index + 1) {
    refuse(`its first \`namespace: \` line (line ${index + 1}) is not the flow's own top-level namespace key, so Kestra and Perch would place the flow differently`);
  }
  return flow;
}

/** The target file of an upload: `/_flows/<name>` exactly, outside the folder, or refused (400) as a spelling of it. */
function checkUploadPath(path: string, where: string): boolean {
  const reading = readFlowFolderPath(path);
  if (!reading.inFolder) return false;
  if (!reading.canonical) throw new FlowFolderError(400, `${where} reaches Kestra's _flows/ folder (where files become flows) by another spelling than /_flows/<file>: refused`);
  return true;
}

/**
 * Moves, folders and deletions in `_flows/`: flow writes whose flow Perch cannot see in the request, so
 * refused. A move onto the root is refused too: a folder moved there could bring a `_flows/` of its own.
 */
function refuseFolderOperation(path: string | undefined, what: string, options: { root?: boolean } = {}): void {
  if (path === undefined) return;
  const reading = readFlowFolderPath(path);
  if (options.root && !reading.inFolder && reading.root) {
    throw new FlowFolderError(403, `${what} ${JSON.stringify(path)} is the namespace's root: a folder moved there could bring a _flows/ folder, where files become flows`);
  }
  if (!reading.inFolder) return;
  throw new FlowFolderError(403, `${what} ${JSON.stringify(path)} is in Kestra's _flows/ folder, where files become flows: Perch cannot check a flow it cannot read, so only an upload of the flow file itself (/_flows/<file>) is accepted there`);
}

/**
 * The flows a namespace-file write makes Kestra import: an upload to `/_flows/<file>` and every
 * `_flows/` entry of an uploaded ZIP. Moves, folders and deletions there are refused.
 */
export async function flowsOfNamespaceFileWrite(
  write: 'upload' | 'move' | 'directory' | 'delete',
  namespace: string,
  query: (name: string) => string | undefined,
  file: FormPart | undefined,
  kestraHosts: KestraHosts,
): Promise<AnalysedFlow[]> {
  switch (write) {
    case 'move':
      refuseFolderOperation(query('from'), 'The file moved');
      refuseFolderOperation(query('to'), 'The move target', { root: true });
      return [];
    case 'directory':
      refuseFolderOperation(query('path'), 'The folder');
      return [];
    case 'delete':
      refuseFolderOperation(query('path'), 'The path deleted');
      return [];
    case 'upload': {
      const path = query('path');
      if (!file) return [];
      const flows = [];
      // Both readings: Kestra unpacks a file whose name ends in .zip (its lower-casing may follow the locale), else stores it at ?path=.
      if (path !== undefined && checkUploadPath(path, `The file ${path}`)) flows.push(flowOfFolderFile(file.data.toString('utf8'), namespace, `The file ${path}`, kestraHosts));
      if (/\.zip$/i.test(file.filename ?? '')) {
        for (const entry of await archiveEntries(file.data, (name) => readFlowFolderPath(`/${name}`).inFolder)) {
          const where = `The archive entry ${entry.name}`;
          if (checkUploadPath(`/${entry.name}`, where)) flows.push(flowOfFolderFile(Buffer.from(entry.bytes).toString('utf8'), namespace, where, kestraHosts));
        }
      }
      return flows;
    }
  }
}
