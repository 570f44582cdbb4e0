import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { readCache, writeCache } from '../app/cache';

export interface Cached<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Shows the copy cached for `key` at once (instant back-navigation), then the fresh one from `load`.
 * Pass a new `key` whenever the query changes.
 */
export function useCached<T>(key: string, load: () => Promise<T>): Cached<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const shownKey = useRef(key);
  useEffect(() => {
    let live = true;
    // Another query: what is on screen belongs to the old one.
    if (shownKey.current !== key) {
      shownKey.current = key;
      setData(undefined);
    }
    setLoading(true);
    setError(undefined);
    void readCache<T>(key).then((cached) => {
      if (live && cached !== undefined) setData((current) => current ?? cached);
    });
    load().then(
      (fresh) => {
        if (!live) return;
        setData(fresh);
        setLoading(false);
        void writeCache(key, fresh);
      },
      (failure: unknown) => {
        if (!live) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { data, error, loading, reload };
}
