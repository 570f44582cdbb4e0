import type { ComponentChildren } from 'preact';
import { strings } from '../app/strings';
import { Button } from './button';
import { ErrorNotice } from './states';
import { useSaving } from './use-saving';

/**
 * An add or edit form below a list: its fields in two columns, then the save's failure, Cancel and
 * the submit button (disabled while the write runs). `write` is called on submit, with the fields as
 * they are then.
 */
export function EditForm({ testId, write, onSaved, onCancel, submit, children }: {
  testId: string;
  write: () => Promise<unknown>;
  onSaved: () => void;
  onCancel: () => void;
  submit?: { label: string; variant: 'primary' | 'danger' };
  children: ComponentChildren;
}) {
  const { busy, error, save } = useSaving();
  return (
    <form data-testid={testId} class="mt-3 grid gap-3 rounded-md border border-zinc-200 p-3 md:grid-cols-2 dark:border-zinc-700" onSubmit={(event) => save(event, write, onSaved)}>
      {children}
      {error !== undefined && <div class="md:col-span-2"><ErrorNotice error={error} /></div>}
      <div class="flex justify-end gap-2 md:col-span-2">
        <Button onClick={onCancel}>{strings.common.cancel}</Button>
        <Button type="submit" variant={submit?.variant ?? 'primary'} disabled={busy}>{submit?.label ?? strings.common.save}</Button>
      </div>
    </form>
  );
}
