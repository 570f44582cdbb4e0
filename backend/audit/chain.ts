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

/** `{"tenant_id":`, `,"seq":`, …: the fixed part of every canonical row. */
const KEY_PREFIXES = HASHED_COLUMNS.map((key, i) => `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`);

/** A canonical JSON of the row: keys in HASHED_COLUMNS order, absent values as null. */
export function canonicalRow(row: UnhashedRow): string {
  let out = '';
  for (let i = 0; i < HASHED_COLUMNS.length; i++) out += KEY_PREFIXES[i]! + JSON.stringify(row[HASHED_COLUMNS[i]!] ?? null);
  return `${out}}`;
}

/** SHA-256 over the previous hash followed by the canonical row (one-shot: no Hash object per entry). */
export function entryHash(row: UnhashedRow): string {
  return sha256Hex(row.prev_hash + canonicalRow(row));
}

/** Canonical JSON of any value: object keys sorted at every depth (for `details`). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  // Built by concatenation over the sorted keys: one write's details cost no arrays of pairs.
  let out = '';
  for (const key of Object.keys(object).sort()) {
    const v = object[key];
    if (v !== undefined) out += `${out ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
  }
  return `{${out}}`;
}
