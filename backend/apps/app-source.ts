import { isNode, LineCounter, parseAllDocuments, parseDocument, type Document } from 'yaml';
import { appSourceSchema, type AppSource, type AppSourceError } from '../../lib/schemas/apps.js';
import { HttpError } from '../http/errors.js';

/** Largest app source Perch reads: far above any real layout, far below what would cost to parse. */
export const MAX_SOURCE_BYTES = 256 * 1024;

export class AppSourceInvalid extends HttpError {
  constructor(readonly errors: AppSourceError[]) {
    const first = errors[0]!;
    const where = first.line === null ? '' : ` (line ${first.line})`;
    super(422, `Invalid app source: ${first.path ? `${first.path}: ` : ''}${first.message}${where}`, { errors });
  }
}

const position = (lines: LineCounter, offset: number | undefined) => {
  if (offset === undefined) return { line: null, column: null };
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
};

/** The place of `path` in the document: the deepest node the path reaches (a key's value, or the map holding a missing key). */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return undefined;
}

function read(doc: Document, lines: LineCounter): AppSource {
  const syntax = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')];
  if (syntax.length > 0) {
    throw new AppSourceInvalid(syntax.map((e) => ({ path: '', message: e.message.split('\n')[0]!, ...position(lines, e.pos[0]) })));
  }
  const result = appSourceSchema.safeParse(doc.toJS({ maxAliasCount: 0 }));
  if (result.success) return result.data;
  throw new AppSourceInvalid(
    result.error.issues.map((issue) => {
      // An unknown key is shown at the key itself, not at the map holding it.
      const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
      return { path: at.join('.'), message: issue.message, ...position(lines, offsetOf(doc, at)) };
    }),
  );
}

const parseOptions = { uniqueKeys: true, merge: false, prettyErrors: false } as const;

/** One app's YAML, checked: a 422 names every error at its line. Anchors, aliases and merge keys are refused. */
export function parseAppSource(source: string): AppSource {
  if (Buffer.byteLength(source) > MAX_SOURCE_BYTES) throw new HttpError(413, `An app source holds at most ${MAX_SOURCE_BYTES} bytes`);
  const lines = new LineCounter();
  const doc = parseDocument(source, { ...parseOptions, lineCounter: lines });
  try {
    return read(doc, lines);
  } catch (error) {
    // An alias expands what was checked into what was not: one canonical form, no references.
    if (error instanceof Error && /alias/i.test(error.message) && !(error instanceof AppSourceInvalid)) {
      throw new AppSourceInvalid([{ path: '', message: 'YAML anchors and aliases are not accepted in an app source', line: null, column: null }]);
    }
    throw error;
  }
}

/** The documents of a multi-document YAML file, each as its own source text. */
export function splitDocuments(text: string): string[] {
  if (Buffer.byteLength(text) > MAX_SOURCE_BYTES * 16) throw new HttpError(413, `An import holds at most ${MAX_SOURCE_BYTES * 16} bytes`);
  return parseAllDocuments(text, parseOptions)
    .map((doc) => (doc.range ? text.slice(doc.range[0], doc.range[2]).replace(/^---[ \t]*\r?\n/, '') : ''))
    .filter((s) => s.trim() !== '');
}
