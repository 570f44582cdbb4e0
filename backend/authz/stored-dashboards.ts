import { LRUCache } from 'lru-cache';
import { KestraReadError, type KestraReader } from '../proxy/kestra-reader.js';

/** Dashboards are few; the cap bounds memory whatever ids callers try. */
const MAX_ENTRIES = 1_000;
/** How long a source or the defaults are kept: bounds how stale a change made outside Perch can be. */
export const STORED_DASHBOARD_TTL_MS = 30_000;

/**
 * Reads stored dashboards from Kestra with Perch's own account, to bound their charts to a caller's
 * namespaces (chart-scope.ts) and to know which ones the tenant opens by default. Kept briefly in a
 * bounded cache that Perch empties when a dashboard is changed or deleted through it (and does not fill
 * for that dashboard while the write may still be on its way); an unknown id is never kept, failures are
 * never kept and never read as "allowed".
 */
export class StoredDashboards {
  private readonly sources: LRUCache<string, string>;
  private defaultIds: { value: string[]; at: number } | null = null;
  /** When each dashboard was last changed through Perch: a read racing the write is not kept. */
  private readonly writes = new LRUCache<string, number>({ max: MAX_ENTRIES });

  constructor(
    private readonly kestra: KestraReader,
    private readonly timeoutMs: number,
    private readonly ttlMs = STORED_DASHBOARD_TTL_MS,
  ) {
    this.sources = new LRUCache({ max: MAX_ENTRIES, ttl: ttlMs });
  }

  /** The dashboard's YAML source, or null when Kestra has no such dashboard. */
  async sourceOf(id: string): Promise<string | null> {
    const kept = this.sources.get(id);
    if (kept !== undefined) return kept;
    const body = await this.kestra.json(`/api/v1/main/dashboards/${encodeURIComponent(id)}`, `dashboard ${id}`);
    // Kestra answers null (404) for an unknown id (DashboardController.getDashboard).
    if (body === null) return null;
    const source = (body as { sourceCode?: unknown } | undefined)?.sourceCode;
    if (typeof source !== 'string') throw new KestraReadError(`Kestra's answer for dashboard ${id} holds no source`);
    // A write forwarded within Kestra's timeout may not be applied yet: this answer may be the old source.
    const written = this.writes.get(id);
    if (written !== undefined && Date.now() - written <= this.timeoutMs) return source;
    this.sources.set(id, source);
    return source;
  }

  /** The ids the tenant's default-dashboards setting names (home, flow and namespace overviews). */
  async defaults(): Promise<string[]> {
    if (this.defaultIds && Date.now() - this.defaultIds.at < this.ttlMs) return this.defaultIds.value;
    const body = (await this.kestra.json('/api/v1/main/dashboards/settings/default-dashboards', 'the default dashboards')) as Record<string, unknown> | null | undefined;
    // An empty answer: no default set (DashboardController.getDefaultDashboards answers `ok()` without a body).
    const ids = ['defaultHomeDashboard', 'defaultFlowOverviewDashboard', 'defaultNamespaceOverviewDashboard']
      .map((key) => body?.[key])
      .filter((v): v is string => typeof v === 'string' && v !== '');
    this.defaultIds = { value: ids, at: Date.now() };
    return ids;
  }

  /** A dashboard was changed or deleted through Perch (a deletion also clears it from the defaults). */
  invalidate(id: string): void {
    this.sources.delete(id);
    this.defaultIds = null;
    this.writes.set(id, Date.now());
  }
}
