import { getJson, tenantApi } from '../app/api';
import { apiAuditLogItemSchema } from '../../lib/schemas/audit';
import { auditDiffSchema, type AuditDiff } from '../../lib/schemas/audit-diff';
import { pagedResultsSchema } from '../../lib/schemas/users';
import { apiQuery, type AuditFilters } from './filters';

export const PAGE_SIZE = 50;

const pageSchema = pagedResultsSchema(apiAuditLogItemSchema);

/** One page (1-based) of the tenant's audit log, newest first. */
export function searchAuditLog(tenant: string, filters: AuditFilters, page: number, size = PAGE_SIZE) {
  const query = apiQuery(filters);
  query.set('page', String(page));
  query.set('size', String(size));
  query.set('sort', 'date:desc');
  return getJson(`${tenantApi(tenant, 'auditlogs/search')}?${query.toString()}`, pageSchema);
}

export function auditEntryDiff(tenant: string, id: string): Promise<AuditDiff> {
  return getJson(tenantApi(tenant, `auditlogs/${encodeURIComponent(id)}/diff`), auditDiffSchema);
}

/** The export link for the current filters: CSV or JSON lines, streamed by Perch, oldest first. */
export function exportHref(tenant: string, filters: AuditFilters, format: 'csv' | 'json'): string {
  const query = apiQuery(filters);
  query.set('format', format);
  return `${tenantApi(tenant, 'auditlogs/export')}?${query.toString()}`;
}
