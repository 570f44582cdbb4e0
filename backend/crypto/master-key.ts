import path from 'node:path';
import type { PerchConfig } from '../config/config.js';
import { Envelope } from './envelope.js';
import { ensureKey, loadKey, type KeyMaterial, type KeySpec } from './key-file.js';

/**
 * The master key: it wraps the data key of every value Perch stores encrypted (envelope.ts). Like
 * the audit key it lives outside the database — `PERCH_MASTER_KEY` (hex) or `encryption.masterKeyFile`
 * (default `<dataDir>/master.key`, mode 0600, made at first start) — so a copy of the database alone
 * reveals no stored credential.
 */
export class MasterKeyError extends Error {}

type KeySettings = Pick<PerchConfig, 'dataDir' | 'encryption'>;

export const masterKeyFile = (config: KeySettings) => path.resolve(config.encryption.masterKeyFile ?? path.join(config.dataDir, 'master.key'));

const masterKeySpec = (config: KeySettings): KeySpec => ({ label: 'master key', envName: 'PERCH_MASTER_KEY', file: masterKeyFile(config), bytes: 32, error: MasterKeyError });

export interface MasterKey {
  envelope: Envelope;
  source: string;
  /** Set when this call made the key: the hex key, for the one time it is shown. */
  generated?: string;
}

/** The master key from PERCH_MASTER_KEY or its file, or null when there is neither. */
export async function loadMasterKey(config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<MasterKey | null> {
  const found = await loadKey(masterKeySpec(config), env);
  return found && { envelope: new Envelope(found.bytes), source: found.source };
}

/** A master key from a file of its own (the new key of a rotation); the file must exist and be private. */
export async function loadMasterKeyFile(file: string): Promise<MasterKey> {
  const found = await loadKey({ label: 'new master key', envName: '', file: path.resolve(file), bytes: 32, error: MasterKeyError }, {});
  if (!found) throw new MasterKeyError(`no master key in ${file}`);
  return { envelope: new Envelope(found.bytes), source: found.source };
}

/** The master key's bytes (a backup carries them inside its encrypted archive), or null when there is none. */
export const loadMasterKeyMaterial = (config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<KeyMaterial | null> => loadKey(masterKeySpec(config), env);

/** The master key, made when there is none (Perch's start). */
export async function ensureMasterKey(config: KeySettings, env: NodeJS.ProcessEnv = process.env): Promise<MasterKey> {
  const { bytes, source, generated } = await ensureKey(masterKeySpec(config), env);
  return { envelope: new Envelope(bytes), source, ...(generated ? { generated } : {}) };
}

/** What `perch serve` prints, once, when it made the key. */
export const generatedMasterKeyNotice = (key: MasterKey) =>
  `Created the master key in ${key.source}:\n\n  ${key.generated}\n\n` +
  'Perch encrypts the credentials and secrets it stores with it. Keep a copy away from the database and this machine ' +
  '(a password vault): without it they cannot be read back, from this store or from a backup. It is shown only this once.';
