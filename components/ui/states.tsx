import { strings } from '../app/strings';
import { Button } from './button';

export function Loading() {
  return <p role="status" class="p-4 text-sm text-zinc-500 dark:text-zinc-400">{strings.common.loading}</p>;
}

export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" class="flex items-center justify-between gap-4 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
      <span><strong>{strings.common.errorTitle}:</strong> {message}</span>
      {onRetry && <Button onClick={onRetry}>{strings.common.retry}</Button>}
    </div>
  );
}

export function Empty({ text = strings.common.noResults }: { text?: string }) {
  return <p class="p-4 text-sm text-zinc-500 dark:text-zinc-400">{text}</p>;
}
