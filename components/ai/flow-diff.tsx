import { diffLines } from 'diff';
import { copilotTexts as t } from './strings';

/**
 * A line diff of the editor's text and the suggestion (the `diff` package): added lines marked `+`,
 * removed ones `-`, as text too, so it reads without colour. Hooks: `[data-testid=copilot-diff]`,
 * lines `[data-diff=added|removed|same]`.
 */
export function FlowDiff({ before, after }: { before: string; after: string }) {
  const parts = diffLines(before, after);
  if (parts.every((p) => !p.added && !p.removed)) return <p class="text-sm text-zinc-600 dark:text-zinc-300">{t.noChange}</p>;
  const lines = parts.flatMap((part) => {
    const kind = part.added ? 'added' : part.removed ? 'removed' : 'same';
    return part.value.replace(/\n$/, '').split('\n').map((text) => ({ kind, text }));
  });
  const style = { added: 'bg-green-50 text-green-900 dark:bg-green-950 dark:text-green-100', removed: 'bg-red-50 text-red-900 dark:bg-red-950 dark:text-red-100', same: 'text-zinc-600 dark:text-zinc-300' };
  const mark = { added: '+ ', removed: '- ', same: '  ' };
  return (
    <pre data-testid="copilot-diff" aria-label={t.changes} tabIndex={0} class="max-h-80 overflow-auto rounded-md border border-zinc-200 p-2 text-xs dark:border-zinc-700">
      {lines.map((line, i) => (
        <div key={i} data-diff={line.kind} class={style[line.kind as keyof typeof style]}>
          {mark[line.kind as keyof typeof mark]}
          {line.text}
        </div>
      ))}
    </pre>
  );
}
