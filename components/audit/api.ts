import { getJson, tenantApi } from '../app/api';
import { apiAuditLogItemSchema } from '../../lib/schemas/audit';
import { auditDiffSchema, type AuditDiff } from '../../lib/schemas/audit-diff';
import { pagedResultsSchema } from '../../lib/schemas/users';
import { apiQuery, type AuditFilters } from './filters';

export const PAGE_SIZE = 50;

const pageSchema = pagedResultsSchema(apiAuditLogItemSchema);

/**
 * Which log a screen reads: a tenant's, or (null) the instance-wide one that instance owners see —
 * sign-ins, users and the other global entities (EE: /api/v1/auditlogs/…).
 */
export type AuditLogScope = string | null;

function auditlogs(scope: AuditLogScope, rest: string): string {
  return scope === null ? `/api/v1/auditlogs/${rest}` : tenantApi(scope, `auditlogs/${rest}`);
}

/** One page (1-based) of the audit log, newest first. */
export function searchAuditLog(tenant: AuditLogScope, filters: AuditFilters, page: number, size = PAGE_SIZE) {
  const query = apiQuery(filters);
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
  const query = apiQuery(filters);
  query.set('format', format);
  return `${auditlogs(tenant, 'export')}?${query.toString()}`;
}
