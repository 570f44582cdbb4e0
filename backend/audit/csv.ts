import type { AuditLogTable } from '../store/schema.js';

export const CSV_COLUMNS = [
  'date', 'tenantId', 'seq', 'id', 'action', 'resourceType', 'resourceId', 'namespace', 'actorType', 'actorId', 'actorEmail',
  'impersonatedBy', 'outcome', 'upstreamStatus', 'ip', 'userAgent', 'requestId', 'details', 'prevHash', 'hash',
] as const;

/**
 * RFC 4180 quoting; a cell a spreadsheet would run as a formula is prefixed with a quote. So is what
 * follows a `;` or a tab in a value: a spreadsheet whose list separator is `;` (many locales) starts a
 * new cell there, quotes or not.
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value).replace(/([;\t])(?=[=+\-@\t\r])/g, "$1'");
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",;\t\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvLine(row: AuditLogTable): string {
  const values = [
    new Date(Number(row.date)).toISOString(), row.tenant_id, row.seq, row.id, row.action, row.resource_type, row.resource_id, row.namespace,
    row.actor_type, row.actor_id, row.actor_email, row.impersonated_by, row.outcome, row.upstream_status, row.ip, row.user_agent,
    row.request_id, row.details, row.prev_hash, row.hash,
  ];
  return `${values.map(csvCell).join(',')}\r\n`;
}
