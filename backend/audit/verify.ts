import type { Store } from '../store/database.js';
import { entryHash, GENESIS_HASH } from './chain.js';
import { chainHeads } from './chain-heads.js';

export interface BrokenLink {
  tenantId: string;
  seq: number;
  id: string;
  reason: string;
}

export interface ChainReport {
  tenantId: string;
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  broken: BrokenLink | null;
}

const PAGE = 2000;

/**
 * The purge entries of a chain, as `firstKeptSeq → lastPurgedHash`: the start a purge left behind.
 * A purge entry is only believed at its own position in the chain, which the walk checks too.
 */
async function purgeStarts(db: Store, tenantId: string): Promise<Map<number, string>> {
  const rows = await db.selectFrom('audit_log').select('details').where('tenant_id', '=', tenantId).where('resource_type', '=', 'AUDITLOG').where('action', '=', 'DELETE').execute();
  const starts = new Map<number, string>();
  for (const { details } of rows) {
    try {
      const d = JSON.parse(details) as { purge?: boolean; firstKeptSeq?: number; lastPurgedHash?: string };
      if (d.purge && typeof d.firstKeptSeq === 'number' && typeof d.lastPurgedHash === 'string') starts.set(d.firstKeptSeq, d.lastPurgedHash);
    } catch {
      // A purge entry that is not JSON breaks its own hash and is reported as such.
    }
  }
  return starts;
}

/** Told after each page of a chain: how many of its entries verified so far. */
export type VerifyProgress = (tenantId: string, verified: number) => void;

/** Walks one chain in seq order, a page at a time; stops at the first broken link. */
export async function verifyChain(db: Store, tenantId: string, onProgress?: VerifyProgress): Promise<ChainReport> {
  const starts = await purgeStarts(db, tenantId);
  const report: ChainReport = { tenantId, entries: 0, firstSeq: null, lastSeq: null, broken: null };
  let prev: { seq: number; hash: string } | null = null;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenantId).orderBy('seq', 'asc').limit(PAGE);
    if (prev) query = query.where('seq', '>', prev.seq);
    const rows = await query.execute();
    for (const raw of rows) {
      const row = { ...raw, seq: Number(raw.seq), date: Number(raw.date) };
      const at = (reason: string): ChainReport => ({ ...report, broken: { tenantId, seq: row.seq, id: row.id, reason } });
      if (prev === null) {
        report.firstSeq = row.seq;
        if (row.seq === 1) {
          if (row.prev_hash !== GENESIS_HASH) return at('the first entry does not start from the genesis hash');
        } else if (starts.get(row.seq) !== row.prev_hash) {
          return at(`entries before seq ${row.seq} are missing and no purge entry accounts for them`);
        }
      } else {
        if (row.seq !== prev.seq + 1) return at(`entries ${prev.seq + 1}…${row.seq - 1} are missing`);
        if (row.prev_hash !== prev.hash) return at(`prev_hash does not match the hash of entry ${prev.seq}`);
      }
      if (entryHash(row) !== row.hash) return at('the entry was changed after it was written (hash mismatch)');
      report.entries++;
      report.lastSeq = row.seq;
      prev = { seq: row.seq, hash: row.hash };
    }
    if (rows.length < PAGE) return report;
    onProgress?.(tenantId, report.entries);
  }
}

/** Every chain in the store. */
export async function verifyAllChains(db: Store, onProgress?: VerifyProgress): Promise<ChainReport[]> {
  const tenants = await chainHeads(db);
  const reports: ChainReport[] = [];
  for (const { tenant_id } of tenants) reports.push(await verifyChain(db, tenant_id, onProgress));
  return reports;
}
