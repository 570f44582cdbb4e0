import { copilotTexts as t } from './strings';

/**
 * A suggestion being written: the problems Perch's checks found in the previous answer, and the
 * model's text as it streams in (not a live region: a screen reader would read every piece; the
 * panel's status line says what is happening). Hooks: `[data-testid={prefix}-problems|{prefix}-stream]`.
 */
export function SuggestionProgress({ prefix, problems, streamed, busy }: { prefix: string; problems: string[]; streamed: string; busy: boolean }) {
  return (
    <>
      {problems.length > 0 && (
        <div data-testid={`${prefix}-problems`}>
          <p>{t.problems}</p>
          <ul class="list-disc pl-5">
            {problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      {busy && streamed && (
        <pre data-testid={`${prefix}-stream`} aria-label={t.streaming} class="max-h-64 overflow-auto whitespace-pre-wrap rounded-md bg-zinc-50 p-2 font-mono text-xs dark:bg-zinc-800">
          {streamed}
        </pre>
      )}
    </>
  );
}
