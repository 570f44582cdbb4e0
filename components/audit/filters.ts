import { AUDIT_ACTIONS, OUTCOMES } from '../../lib/schemas/audit';
import { RESOURCES } from '../../lib/authz/catalogue';

/**
 * The audit log screen's filters, as the page URL carries them (`?namespace=company&type=UPDATE`)
 * and as Perch's search and export endpoints read them (backend/audit/query.ts parseAuditFilter).
 * Dates are calendar days in the person's time zone: `from` is the start of its day, `to` the end.
 */
export interface AuditFilters {
  startDate: string;
  endDate: string;
  userId: string;
  type: string;
  resourceType: string;
  resourceId: string;
  namespace: string;
  q: string;
  outcome: string;
}

export const FILTER_KEYS = ['startDate', 'endDate', 'userId', 'type', 'resourceType', 'resourceId', 'namespace', 'q', 'outcome'] as const satisfies readonly (keyof AuditFilters)[];

export const EMPTY_FILTERS: AuditFilters = { startDate: '', endDate: '', userId: '', type: '', resourceType: '', resourceId: '', namespace: '', q: '', outcome: '' };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const ALLOWED: Partial<Record<keyof AuditFilters, readonly string[]>> = { type: AUDIT_ACTIONS, resourceType: RESOURCES, outcome: OUTCOMES };

/** Reads the filters of the page URL; values Perch would refuse (an unknown action, a malformed day) are dropped. */
export function filtersFromQuery(query: URLSearchParams): AuditFilters {
  const filters = { ...EMPTY_FILTERS };
  for (const key of FILTER_KEYS) {
    const value = (query.get(key) ?? '').trim().slice(0, 500);
    if (!value) continue;
    if ((key === 'startDate' || key === 'endDate') && !DAY.test(value)) continue;
    const allowed = ALLOWED[key];
    if (allowed && !allowed.includes(value)) continue;
    filters[key] = value;
  }
  return filters;
}

/** The page URL's query with these filters (other parameters of the page are kept). */
export function filtersToQuery(filters: AuditFilters, base: URLSearchParams = new URLSearchParams()): URLSearchParams {
  const query = new URLSearchParams(base);
  for (const key of FILTER_KEYS) {
    const value = filters[key].trim();
    if (value) query.set(key, value);
    else query.delete(key);
  }
  return query;
}

/** A local calendar day as an instant: its first or its last millisecond. */
function dayBound(day: string, end: boolean): string {
  const instant = new Date(`${day}T${end ? '23:59:59.999' : '00:00:00.000'}`);
  return instant.toISOString();
}

/** The filters in the names Perch's `auditlogs/search` and `auditlogs/export` take. */
export function apiQuery(filters: AuditFilters): URLSearchParams {
  const query = new URLSearchParams();
  const f = Object.fromEntries(FILTER_KEYS.map((k) => [k, filters[k].trim()])) as unknown as AuditFilters;
  if (f.startDate) query.set('startDate', dayBound(f.startDate, false));
  if (f.endDate) query.set('endDate', dayBound(f.endDate, true));
  if (f.userId) query.set('userId', f.userId);
  if (f.type) query.set('type', f.type);
  if (f.resourceType) query.set('resources', f.resourceType);
  if (f.resourceId) query.set('resourceId', f.resourceId);
  if (f.namespace) query.set('namespace', f.namespace);
  if (f.outcome) query.set('outcome', f.outcome);
  if (f.q) query.set('q', f.q.slice(0, 200));
  return query;
}
