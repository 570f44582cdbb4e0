import { randomBytes, createSecretKey, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PerchConfig } from '../config/config.js';

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
const HEX_KEY = /^(?:[0-9a-fA-F]{2}){32,}$/;

export class AuditKeyError extends Error {}

/** The key file's path: `audit.keyFile`, or `audit.key` in the data directory. */
export const auditKeyFile = (config: Pick<PerchConfig, 'dataDir' | 'audit'>) => path.resolve(config.audit.keyFile ?? path.join(config.dataDir, 'audit.key'));

function parseKey(text: string, source: string): KeyObject {
  const hex = text.trim();
  if (!HEX_KEY.test(hex)) throw new AuditKeyError(`the audit key in ${source} must be at least ${KEY_BYTES} bytes written as hex digits`);
  return createSecretKey(Buffer.from(hex, 'hex'));
}

type KeySettings = Pick<PerchConfig, 'dataDir' | 'audit'>;

/** The audit key from PERCH_AUDIT_KEY or the key file, or null when there is neither. A key file others may read is refused, as ssh refuses a private key. */
export async function loadAuditKey(config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<AuditKey | null> {
  const fromEnv = env.PERCH_AUDIT_KEY;
  if (fromEnv) return { key: parseKey(fromEnv, 'PERCH_AUDIT_KEY'), source: 'PERCH_AUDIT_KEY' };
  return readKeyFile(auditKeyFile(config));
}

/**
 * The audit key, made when there is none (Perch's start): the key file is created exclusively, so a
 * replica starting at the same moment reads the one the other wrote.
 */
export async function ensureAuditKey(config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<AuditKey> {
  const existing = await loadAuditKey(config, env);
  if (existing) return existing;
  const file = auditKeyFile(config);
  const hex = randomBytes(KEY_BYTES).toString('hex');
  try {
    await writeNewKeyFile(file, hex);
  } catch (error) {
    const raced = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readKeyFile(file) : null;
    if (raced) return raced;
    throw new AuditKeyError(`cannot create the audit key file ${file}: ${(error as Error).message}`);
  }
  return { key: parseKey(hex, file), source: file, generated: hex };
}

/** Writes a key file that must not exist yet (mode 0600, synced): never over another key. */
export async function writeNewKeyFile(file: string, hex: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${hex}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function readKeyFile(file: string): Promise<AuditKey | null> {
  let text: string;
  try {
    const mode = (await stat(file)).mode;
    if (mode & 0o077) throw new AuditKeyError(`the audit key file ${file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (error instanceof AuditKeyError) throw error;
    throw new AuditKeyError(`cannot read the audit key file ${file}: ${(error as Error).message}`);
  }
  return { key: parseKey(text, file), source: file };
}

/** What `perch serve` prints, once, when it created the key. */
export const generatedKeyNotice = (key: AuditKey) =>
  `Created the audit key in ${key.source}:\n\n  ${key.generated}\n\n` +
  'Perch signs the audit log with it. Keep a copy away from the database and this machine (a password vault): ' +
  'with it, `perch audit verify` proves the log was not rewritten. It is shown only this once.';
