import type { AuditEntry } from '../../backend/audit/audit-log.js';

/** An ordinary flow update by one of three people, numbered so a test can tell entries apart. */
export const flowUpdate = (n: number, tenantId: string | null = 'main', extra: Partial<AuditEntry> = {}): AuditEntry => ({
  tenantId,
  actor: { type: 'USER', id: `u${n % 3}`, email: `u${n % 3}@example.com` },
  action: 'UPDATE',
  resourceType: 'FLOW',
  resourceId: `flow-${n}`,
  namespace: 'company.team',
  details: { n },
  ...extra,
});
