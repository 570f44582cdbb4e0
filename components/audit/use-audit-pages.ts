import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiAuditLogItem } from '../../lib/schemas/audit';
import { useCached } from '../ui/use-cached';
import { PAGE_SIZE, searchAuditLog, type AuditLogScope } from './api';
import { apiQuery, type AuditFilters } from './filters';

interface Extra {
  key: string;
  items: ApiAuditLogItem[];
  /** The last page loaded (page 1 comes from the cached load). */
  page: number;
  /** A later page came back short: nothing more to load, whatever `total` said. */
  exhausted: boolean;
}

export interface AuditPages {
  items: ApiAuditLogItem[];
  total: number | undefined;
  loading: boolean;
  /** Rows are shown (a previous query's, or the cached copy) while a fresh first page loads. */
  refreshing: boolean;
  loadingMore: boolean;
  error: unknown;
  moreError: unknown;
  hasMore: boolean;
  loadMore(): void;
  reload(): void;
}

/**
 * The entries matching `filters`, page after page: the first page through the IndexedDB cache
 * (instant back-navigation), later ones appended on demand. Entries are deduplicated by id, since
 * new entries arriving while one scrolls shift the offsets of a newest-first list.
 */
export function useAuditPages(tenant: AuditLogScope, filters: AuditFilters): AuditPages {
  const key = `audit|${tenant}|${apiQuery(filters).toString()}`;
  const first = useCached(key, () => searchAuditLog(tenant, filters, 1));
  const [extra, setExtra] = useState<Extra>({ key, items: [], page: 1, exhausted: false });
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const inFlight = useRef<string | null>(null);

  useEffect(() => {
    setExtra({ key, items: [], page: 1, exhausted: false });
    setMoreError(undefined);
    setLoadingMore(false);
    inFlight.current = null;
  }, [key]);

  const current = extra.key === key ? extra : { key, items: [], page: 1, exhausted: false };
  const seen = new Set<string>();
  const items = [...(first.data?.results ?? []), ...current.items].filter((item) => {
    if (seen.has(item.auditLog.id)) return false;
    seen.add(item.auditLog.id);
    return true;
  });
  const total = first.data?.total;
  const hasMore = total !== undefined && !first.loading && !current.exhausted && current.page * PAGE_SIZE < total;

  const state = useRef({ key, current, hasMore, filters });
  state.current = { key, current, hasMore, filters };

  const loadMore = useCallback(() => {
    const { key: wanted, current: now, hasMore: more, filters: f } = state.current;
    if (!more || inFlight.current === wanted) return;
    inFlight.current = wanted;
    setLoadingMore(true);
    setMoreError(undefined);
    const page = now.page + 1;
    searchAuditLog(tenant, f, page).then(
      (result) => {
        if (inFlight.current !== wanted) return;
        inFlight.current = null;
        setLoadingMore(false);
        setExtra((previous) =>
          previous.key === wanted && previous.page === page - 1
            ? { key: wanted, items: [...previous.items, ...result.results], page, exhausted: result.results.length < PAGE_SIZE }
            : previous,
        );
      },
      (error: unknown) => {
        if (inFlight.current !== wanted) return;
        inFlight.current = null;
        setLoadingMore(false);
        setMoreError(error);
      },
    );
  }, [tenant]);

  return { items, total, loading: first.loading && !first.data, refreshing: first.loading && first.data !== undefined, loadingMore, error: first.error, moreError, hasMore, loadMore, reload: first.reload };
}
