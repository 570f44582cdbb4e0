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
