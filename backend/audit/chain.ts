import { createHmac, type KeyObject } from 'node:crypto';
import type { AuditLogTable } from '../store/schema.js';
import { sha256Hex } from '../crypto/sha256.js';

/** prev_hash of the first entry of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Every column but the hash, in a fixed order: what the hash covers. */
const HASHED_COLUMNS = [
  'tenant_id', 'seq', 'id', 'date', 'actor_type', 'actor_id', 'actor_email', 'impersonated_by', 'action', 'resource_type',
  'resource_id', 'namespace', 'request_id', 'ip', 'user_agent', 'outcome', 'upstream_status', 'details', 'prev_hash',
] as const satisfies ReadonlyArray<keyof AuditLogTable>;

export type UnhashedRow = Omit<AuditLogTable, 'hash'>;

const ALL_NULL: Readonly<Record<string, null>> = Object.fromEntries(HASHED_COLUMNS.map((column) => [column, null]));

/**
 * A canonical JSON of the row: keys in HASHED_COLUMNS order, absent values as null. One
 * JSON.stringify over an object filled in that order writes the same text as joining the pairs one by
 * one, flat and in one go (the hot path of every audited write: a third of the garbage it made).
 */
export function canonicalRow(row: UnhashedRow): string {
  // A copy of the template has every key in place and in order: the loop only overwrites values.
  const ordered: Record<string, unknown> = { ...ALL_NULL };
  for (const column of HASHED_COLUMNS) ordered[column] = row[column] ?? null;
  return JSON.stringify(ordered);
}

/** SHA-256 over the previous hash followed by the canonical row (one-shot: no Hash object per entry). */
export function entryHash(row: UnhashedRow): string {
  return sha256Hex(row.prev_hash + canonicalRow(row));
}

/**
 * The keyed link (entries written since the audit key exists): HMAC-SHA256 under the key, over the
 * same text {@link entryHash} covers. Without the key nobody can recompute it, so a row rewritten
 * with a recomputed hash no longer verifies. Old rows keep their plain SHA-256 link (see verify.ts).
 */
export function entryMac(row: UnhashedRow, key: KeyObject): string {
  return createHmac('sha256', key).update(row.prev_hash).update(canonicalRow(row)).digest('hex');
}

/** How an entry is linked: `keyed` (HMAC under the audit key) or `legacy` (plain SHA-256, before the key existed). */
export type LinkKind = 'keyed' | 'legacy';

/** Which link the stored hash is (keyed first: that is every new entry), or null when neither matches. */
export function linkKind(row: AuditLogTable, key: KeyObject | null): LinkKind | null {
  if (key && entryMac(row, key) === row.hash) return 'keyed';
  return entryHash(row) === row.hash ? 'legacy' : null;
}

/** Canonical JSON of any value: object keys sorted at every depth (for `details`). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  // Built by concatenation over the sorted keys: one write's details cost no arrays of pairs.
  let out = '';
  for (const key of sortedInPlace(Object.keys(object))) {
    const v = object[key];
    if (v !== undefined) out += `${out ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
  }
  return `{${out}}`;
}

/** Up to this many keys, insertion sort; past it, its quadratic cost would outgrow the built-in sort's. */
const SMALL_OBJECT = 24;

/**
 * The keys in the order Array.prototype.sort puts strings (UTF-16 code units). An audit entry's
 * few keys are sorted where they are, with none of the scratch arrays the built-in sort allocates.
 */
function sortedInPlace(keys: string[]): string[] {
  if (keys.length > SMALL_OBJECT) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}
