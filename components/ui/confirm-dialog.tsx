import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { strings } from '../app/strings';
import { Button } from './button';
import { Dialog } from './dialog';
import { ErrorNotice } from './states';

/**
 * Asks before a destructive action. `onConfirm` runs the action; a refusal is shown in the dialog
 * (with the server's message) and the dialog stays open, a success closes it.
 */
export function ConfirmDialog({ title, children, confirmLabel = strings.common.delete, onConfirm, onClose }: {
  title: string;
  children: ComponentChildren;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        class="flex flex-col gap-4"
        onSubmit={(event) => {
          event.preventDefault();
          setBusy(true);
          setError(undefined);
          onConfirm().then(
            () => onClose(),
            (failure: unknown) => {
              setError(failure);
              setBusy(false);
            },
          );
        }}
      >
        <div class="text-sm">{children}</div>
        {error !== undefined && <ErrorNotice error={error} />}
        <div class="flex justify-end gap-2">
          <Button onClick={onClose}>{strings.common.cancel}</Button>
          <Button type="submit" variant="danger" disabled={busy} data-testid="confirm">{confirmLabel}</Button>
        </div>
      </form>
    </Dialog>
  );
}
