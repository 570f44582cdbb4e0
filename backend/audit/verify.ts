import type { KeyObject } from 'node:crypto';
import { sha256Hex } from '../crypto/sha256.js';
import type { Store } from '../store/database.js';
import type { AuditLogTable } from '../store/schema.js';
import { GENESIS_HASH, linkKind } from './chain.js';
import { chainHeads } from './chain-heads.js';
import type { ChainPin, Checkpoint } from './checkpoint.js';

export interface BrokenLink {
  tenantId: string;
  seq: number;
  /** null when no entry is there to name (a cut tail, a deleted chain). */
  id: string | null;
  reason: string;
}

export interface ChainReport {
  tenantId: string;
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Entries linked with plain SHA-256, written before the audit key existed. */
  legacy: number;
  broken: BrokenLink | null;
}

/** Told after each page of a chain: how many of its entries verified so far. */
export type VerifyProgress = (tenantId: string, verified: number) => void;

export interface VerifyOptions {
  /** The audit key: without it, an entry signed with it cannot be told from an edited one. */
  key?: KeyObject | null;
  /**
   * The newest signed checkpoint: each chain must still reach its pinned entry, with the pinned hash,
   * and every entry after its pin (all of a chain it lacks) must be signed with the key. Without one,
   * plain SHA-256 links are believed as long as no keyed entry came before them.
   */
  checkpoint?: Pick<Checkpoint, 'time' | 'chains'> | null;
  onProgress?: VerifyProgress;
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

type StoredState = { kind: string; before: string | null; after: string | null };
const digest = (text: string | null) => (text === null ? null : sha256Hex(text));

/** The before/after states stored beside a page of entries, by entry id. */
async function statesOf(db: Store, rows: ReadonlyArray<{ id: string }>): Promise<Map<string, StoredState>> {
  if (!rows.length) return new Map();
  const found = await db.selectFrom('audit_states').select(['entry_id', 'kind', 'before', 'after']).where('entry_id', 'in', rows.map((r) => r.id)).execute();
  return new Map(found.map((s) => [s.entry_id, s]));
}

/** Why the states beside an entry do not match the digests in it, or null when they do. */
function stateProblem(row: AuditLogTable, stored: StoredState | undefined): string | null {
  let recorded: StoredState | undefined;
  // Only entries with states carry the key: the details of the others are not parsed.
  if (row.details.includes('"states":')) {
    try {
      recorded = (JSON.parse(row.details) as { states?: StoredState }).states;
    } catch {
      return 'its details are not JSON';
    }
  }
  if (!recorded) return stored ? 'a before/after state is stored beside it although the entry recorded none (added later)' : null;
  if (!stored) return `its before/after states (${recorded.kind}) are missing from audit_states`;
  if (stored.kind !== recorded.kind) return `the state stored beside it is of kind ${stored.kind}, the entry recorded ${recorded.kind}`;
  if (digest(stored.before) !== recorded.before) return 'its before state was changed after it was written (it does not match the digest in the entry)';
  if (digest(stored.after) !== recorded.after) return 'its after state was changed after it was written (it does not match the digest in the entry)';
  return null;
}

/**
 * Walks one chain in seq order, a page at a time; stops at the first problem: a broken link, an
 * entry or a state that no longer matches its digest, a plain SHA-256 link where the key was in use,
 * or a disagreement with the checkpoint's pin (a rewrite, or a cut tail).
 */
export async function verifyChain(db: Store, tenantId: string, options: VerifyOptions = {}): Promise<ChainReport> {
  const key = options.key ?? null;
  const checkpoint = options.checkpoint ?? null;
  const pin: ChainPin | undefined = checkpoint?.chains.find((c) => c.tenant === tenantId);
  const starts = await purgeStarts(db, tenantId);
  const report: ChainReport = { tenantId, entries: 0, firstSeq: null, lastSeq: null, legacy: 0, broken: null };
  let prev: { seq: number; hash: string } | null = null;
  let keyedSeen = false;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenantId).orderBy('seq', 'asc').limit(PAGE);
    if (prev) query = query.where('seq', '>', prev.seq);
    const rows = (await query.execute()).map((raw) => ({ ...raw, seq: Number(raw.seq), date: Number(raw.date) }));
    const states = await statesOf(db, rows);
    for (const row of rows) {
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
      if (pin && pin.seq === row.seq - 1 && row.prev_hash !== pin.hash) return at(`it follows an entry ${pin.seq} other than the one the checkpoint of ${checkpoint!.time} signed: the chain was rewritten`);
      const kind = linkKind(row, key);
      if (kind === null) {
        return at(key ? 'the entry was changed after it was written (hash mismatch)' : 'the entry was changed after it was written, or is signed with the audit key, which verify was not given (hash mismatch)');
      }
      if (kind === 'keyed') keyedSeen = true;
      else if (keyedSeen) return at('the entry has a plain SHA-256 link after entries signed with the audit key: rewritten without the key');
      else if (checkpoint && !(pin && row.seq <= pin.seq)) {
        return at(`the entry has a plain SHA-256 link, but it is not covered by the checkpoint of ${checkpoint.time} (${pin ? `which ends this chain at seq ${pin.seq}` : 'which has no such chain'}), and every later entry is signed with the audit key: rewritten without the key`);
      } else report.legacy++;
      if (pin && pin.seq === row.seq && row.hash !== pin.hash) return at(`the checkpoint of ${checkpoint!.time} signed another entry ${row.seq}: the chain was rewritten`);
      const problem = stateProblem(row, states.get(row.id));
      if (problem) return at(problem);
      report.entries++;
      report.lastSeq = row.seq;
      prev = { seq: row.seq, hash: row.hash };
    }
    if (rows.length < PAGE) break;
    options.onProgress?.(tenantId, report.entries);
  }
  if (pin && report.lastSeq === null) {
    return { ...report, broken: { tenantId, seq: pin.seq, id: null, reason: `the whole chain is missing: the checkpoint of ${checkpoint!.time} has it up to seq ${pin.seq}` } };
  }
  if (pin && report.lastSeq! < pin.seq) {
    return { ...report, broken: { tenantId, seq: report.lastSeq! + 1, id: null, reason: `the chain was cut: it ends at seq ${report.lastSeq}, the checkpoint of ${checkpoint!.time} has it up to seq ${pin.seq}` } };
  }
  return report;
}

/** Every chain in the store, and every chain of the checkpoint (one the store lost is reported missing). */
export async function verifyAllChains(db: Store, options: VerifyOptions = {}): Promise<ChainReport[]> {
  const present = (await chainHeads(db)).map((h) => h.tenant_id);
  const pins = options.checkpoint?.chains ?? [];
  const tenants = [...new Set([...present, ...pins.map((p) => p.tenant)])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const reports: ChainReport[] = [];
  for (const tenantId of tenants) reports.push(await verifyChain(db, tenantId, options));
  return reports;
}
