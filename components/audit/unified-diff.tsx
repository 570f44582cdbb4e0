import { structuredPatch } from 'diff';
import { strings } from '../app/strings';

export type DiffLineKind = 'added' | 'removed' | 'context' | 'note';
export interface DiffLine {
  kind: DiffLineKind;
  /** The line as in a unified diff: its marker (`+`, `-`, space) then the text. */
  text: string;
}
export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

/** States recorded as the text people wrote (a flow's YAML, a namespace file): diffed as they are. */
const TEXT_KINDS = new Set(['flow-source', 'namespace-file']);

/**
 * A recorded state as people read it: JSON pretty-printed (some states are stored compact), text
 * kinds as they are. Always ends with a newline, so a missing final newline is no change.
 */
export function readableState(text: string | null, kind: string | null): string {
  if (text === null || text === '') return '';
  let readable = text;
  if (!TEXT_KINDS.has(kind ?? '')) {
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === 'object') readable = JSON.stringify(value, null, 2);
    } catch {
      // Not JSON: diffed as text.
    }
  }
  return readable.endsWith('\n') ? readable : `${readable}\n`;
}

/** The unified diff of two states, in hunks of three lines of context. */
export function diffStates(before: string | null, after: string | null, kind: string | null): DiffHunk[] {
  const patch = structuredPatch('before', 'after', readableState(before, kind), readableState(after, kind), undefined, undefined, { context: 3 });
  return patch.hunks.map((hunk) => ({
    header: `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`,
    lines: hunk.lines.map((line): DiffLine => {
      const marker = line[0];
      const kindOf: DiffLineKind = marker === '+' ? 'added' : marker === '-' ? 'removed' : marker === '\\' ? 'note' : 'context';
      return { kind: kindOf, text: line };
    }),
  }));
}

const LINE_CLASS: Record<DiffLineKind, string> = {
  added: 'bg-green-50 text-green-900 dark:bg-green-950 dark:text-green-200',
  removed: 'bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-200',
  context: 'text-zinc-700 dark:text-zinc-300',
  note: 'italic text-zinc-500 dark:text-zinc-400',
};

/**
 * A unified diff, readable without colour: every added line starts with `+`, every removed one
 * with `-` (and screen readers hear "added" / "removed").
 */
export function UnifiedDiff({ hunks, label }: { hunks: DiffHunk[]; label: string }) {
  return (
    <div role="group" aria-label={label} data-testid="audit-diff" class="overflow-auto rounded-md border border-zinc-200 bg-white font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950">
      <p class="sr-only">{strings.audit.diffLegend}</p>
      {hunks.map((hunk, h) => (
        <div key={h}>
          <div class="bg-zinc-100 px-2 py-0.5 text-zinc-500 dark:bg-zinc-800 dark:text-zinc-400">{hunk.header}</div>
          {hunk.lines.map((line, i) => (
            <div key={i} data-change={line.kind} class={`whitespace-pre px-2 ${LINE_CLASS[line.kind]}`}>
              {line.kind === 'added' && <span class="sr-only">{strings.audit.added}: </span>}
              {line.kind === 'removed' && <span class="sr-only">{strings.audit.removed}: </span>}
              {line.text}
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
