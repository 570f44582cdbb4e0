import { useState } from 'preact/hooks';

/**
 * A form's save: busy while the write runs (its button disabled), the failure kept to show, and the
 * caller told once it succeeded. One piece for every panel's add and edit forms.
 */
export function useSaving(): { busy: boolean; error: unknown; save: (event: Event, write: () => Promise<unknown>, onSaved: () => void) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const save = (event: Event, write: () => Promise<unknown>, onSaved: () => void) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    write().then(
      () => {
        setBusy(false);
        onSaved();
      },
      (failure: unknown) => {
        setError(failure);
        setBusy(false);
      },
    );
  };
  return { busy, error, save };
}
