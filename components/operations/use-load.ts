import { useCallback, useEffect, useState } from 'preact/hooks';

/** Loads fresh each time (operations state must never be shown stale), with a reload after writes. */
export function useLoad<T>(load: () => Promise<T>): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const reload = useCallback(() => {
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => setState({ data, loading: false }),
      (error: unknown) => setState({ error, loading: false }),
    );
  }, []);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

/** A list loaded fresh, with the item being edited (`'new'` for one being made) and the one being deleted. */
export function useEditableList<T>(load: () => Promise<T[]>) {
  const list = useLoad(load);
  const [editing, setEditing] = useState<T | 'new' | null>(null);
  const [deleting, setDeleting] = useState<T | null>(null);
  /** After a save: the form closes and the list is read again. */
  const saved = () => {
    setEditing(null);
    list.reload();
  };
  return { list, editing, setEditing, deleting, setDeleting, saved };
}
