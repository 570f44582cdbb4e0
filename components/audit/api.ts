import { getJson, tenantApi } from '../app/api';
import { apiAuditLogItemSchema, INSTANCE_CHAIN } from '../../lib/schemas/audit';
import { auditDiffSchema, type AuditDiff } from '../../lib/schemas/audit-diff';
import { pagedResultsSchema } from '../../lib/schemas/users';
import { apiQuery, type AuditFilters } from './filters';

export const PAGE_SIZE = 50;

const pageSchema = pagedResultsSchema(apiAuditLogItemSchema);

/**
 * Which log a screen reads: a tenant's (its id); for instance owners, every chain together (null) or
 * the instance-wide chain alone (`INSTANCE_CHAIN`: sign-ins, users and the other global entities),
 * both read at EE's /api/v1/auditlogs/…, the latter narrowed by `?chain=`.
 */
export type AuditLogScope = string | null;

const instanceWide = (scope: AuditLogScope) => scope === null || scope === INSTANCE_CHAIN;

function auditlogs(scope: AuditLogScope, rest: string): string {
  return instanceWide(scope) ? `/api/v1/auditlogs/${rest}` : tenantApi(scope!, `auditlogs/${rest}`);
}

/** The query of a search or export in `scope`: the filters, plus the chain when one is picked instance-wide. */
function scopedQuery(scope: AuditLogScope, filters: AuditFilters): URLSearchParams {
  const query = apiQuery(filters);
  if (scope === INSTANCE_CHAIN) query.set('chain', INSTANCE_CHAIN);
  return query;
}

/** One page (1-based) of the audit log, newest first. */
export function searchAuditLog(tenant: AuditLogScope, filters: AuditFilters, page: number, size = PAGE_SIZE) {
  const query = scopedQuery(tenant, filters);
  query.set('page', String(page));
  query.set('size', String(size));
  query.set('sort', 'date:desc');
  return getJson(`${auditlogs(tenant, 'search')}?${query.toString()}`, pageSchema);
}

export function auditEntryDiff(tenant: AuditLogScope, id: string): Promise<AuditDiff> {
  return getJson(auditlogs(tenant, `${encodeURIComponent(id)}/diff`), auditDiffSchema);
}

/** The export link for the current filters: CSV or JSON lines, streamed by Perch, oldest first. */
export function exportHref(tenant: AuditLogScope, filters: AuditFilters, format: 'csv' | 'json'): string {
  const query = scopedQuery(tenant, filters);
  query.set('format', format);
  return `${auditlogs(tenant, 'export')}?${query.toString()}`;
}
