import { createSecretKey, type KeyObject } from 'node:crypto';
import path from 'node:path';
import type { PerchConfig } from '../config/config.js';
import { ensureKey, loadKey, type KeyMaterial, type KeySpec } from '../crypto/key-file.js';

export { writeNewKeyFile } from '../crypto/key-file.js';

/**
 * The audit key: the HMAC key of the audit chain and of its checkpoints, kept outside the database
 * (issue 16, point 7), so that write access to the database is not enough to rewrite the log. It
 * comes from `PERCH_AUDIT_KEY` (hex) or from `audit.keyFile` (default `<dataDir>/audit.key`, hex,
 * mode 0600), which `perch serve` creates on its first start.
 */
export interface AuditKey {
  key: KeyObject;
  /** Where it came from: `PERCH_AUDIT_KEY` or the file's path. */
  source: string;
  /** Set when this call created the key file: the hex key, for the one time it is shown. */
  generated?: string;
}

/** 32 bytes: SHA-256's block-size-safe, full-strength HMAC key. */
const KEY_BYTES = 32;

export class AuditKeyError extends Error {}

/** The key file's path: `audit.keyFile`, or `audit.key` in the data directory. */
export const auditKeyFile = (config: Pick<PerchConfig, 'dataDir' | 'audit'>) => path.resolve(config.audit.keyFile ?? path.join(config.dataDir, 'audit.key'));

type KeySettings = Pick<PerchConfig, 'dataDir' | 'audit'>;

const auditKeySpec = (config: KeySettings): KeySpec => ({ label: 'audit key', envName: 'PERCH_AUDIT_KEY', file: auditKeyFile(config), bytes: KEY_BYTES, error: AuditKeyError });

const asAuditKey = ({ bytes, source, generated }: KeyMaterial): AuditKey => ({ key: createSecretKey(bytes), source, ...(generated ? { generated } : {}) });

/** The audit key from PERCH_AUDIT_KEY or the key file, or null when there is neither. */
export async function loadAuditKey(config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<AuditKey | null> {
  const found = await loadKey(auditKeySpec(config), env);
  return found && asAuditKey(found);
}

/** The audit key, made when there is none (Perch's start). */
export async function ensureAuditKey(config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<AuditKey> {
  return asAuditKey(await ensureKey(auditKeySpec(config), env));
}

/** What `perch serve` prints, once, when it created the key. */
export const generatedKeyNotice = (key: AuditKey) =>
  `Created the audit key in ${key.source}:\n\n  ${key.generated}\n\n` +
  'Perch signs the audit log with it. Keep a copy away from the database and this machine (a password vault): ' +
  'with it, `perch audit verify` proves the log was not rewritten. It is shown only this once.';
