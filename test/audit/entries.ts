import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditLog, type AuditEntry } from '../../backend/audit/audit-log.js';
import type { UnhashedRow } from '../../backend/audit/chain.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';

/** A row as an earlier Perch wrote it, whose links (plain and keyed) the format tests pin. */
export const PINNED_ROW: Readonly<UnhashedRow> = {
  tenant_id: 'main', seq: 42, id: '0190f5c2-3a00-7abc-8def-0123456789ab', date: 1767225600000, actor_type: 'USER', actor_id: 'u-1',
  actor_email: 'ana@example.com', impersonated_by: null, action: 'UPDATE', resource_type: 'FLOW', resource_id: 'hello "world"',
  namespace: 'company.team', request_id: null, ip: '10.0.0.1', user_agent: 'Mozilla/5.0 (é ✓)', outcome: 'SUCCESS', upstream_status: 200,
  details: '{"a":1}', prev_hash: 'ab'.repeat(32),
};

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

/** A SQLite audit log of its own in a temp folder (synchronous=NORMAL: fast, and kill -9 safe), with what closes and removes it. */
export async function tempAuditLog(prefix: string): Promise<{ dir: string; store: OpenStore; log: AuditLog; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const store = await openStore({ dataDir: dir });
  await migrateToLatest(store.db);
  const log = new AuditLog(store, { sqliteSync: 'NORMAL' });
  return {
    dir,
    store,
    log,
    async close() {
      await log.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
