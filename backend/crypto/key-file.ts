import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Perch's long-lived keys (the audit key, the master key) kept outside the database: from an
 * environment variable holding the key, or from a file (hex, mode 0600) that Perch's first start
 * creates. One reading of both, so each key is refused or made the same way.
 */
export interface KeyMaterial {
  bytes: Buffer;
  /** Where it came from: the variable's name or the file's path. */
  source: string;
  /** Set when this call created the key file: the hex key, for the one time it is shown. */
  generated?: string;
}

export interface KeySpec {
  /** What the key is, for messages: "audit key", "master key". */
  label: string;
  /** The variable that holds the key itself (hex); it wins over the file. */
  envName: string;
  file: string;
  /** Bytes a new key has, and the fewest a given key may have. */
  bytes: number;
  /** The error class a bad key is reported with. */
  error: new (message: string) => Error;
}

function parseHex(spec: KeySpec, text: string, source: string): Buffer {
  const hex = text.trim();
  if (!new RegExp(`^(?:[0-9a-fA-F]{2}){${spec.bytes},}$`).test(hex)) {
    throw new spec.error(`the ${spec.label} in ${source} must be at least ${spec.bytes} bytes written as hex digits`);
  }
  return Buffer.from(hex, 'hex');
}

/** The key from its variable or its file, or null when there is neither. A file others may read is refused, as ssh refuses a private key. */
export async function loadKey(spec: KeySpec, env: NodeJS.ProcessEnv = process.env): Promise<KeyMaterial | null> {
  const fromEnv = env[spec.envName];
  if (fromEnv) return { bytes: parseHex(spec, fromEnv, spec.envName), source: spec.envName };
  return readKeyFile(spec);
}

/** The key, made when there is none: the file is created exclusively, so a replica starting at the same moment reads the one the other wrote. */
export async function ensureKey(spec: KeySpec, env: NodeJS.ProcessEnv = process.env): Promise<KeyMaterial> {
  const existing = await loadKey(spec, env);
  if (existing) return existing;
  const hex = randomBytes(spec.bytes).toString('hex');
  try {
    await writeNewKeyFile(spec.file, hex);
  } catch (error) {
    const raced = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readKeyFile(spec) : null;
    if (raced) return raced;
    throw new spec.error(`cannot create the ${spec.label} file ${spec.file}: ${(error as Error).message}`);
  }
  return { bytes: parseHex(spec, hex, spec.file), source: spec.file, generated: hex };
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

async function readKeyFile(spec: KeySpec): Promise<KeyMaterial | null> {
  let text: string;
  try {
    const mode = (await stat(spec.file)).mode;
    if (mode & 0o077) throw new spec.error(`the ${spec.label} file ${spec.file} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
    text = await readFile(spec.file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (error instanceof spec.error) throw error;
    throw new spec.error(`cannot read the ${spec.label} file ${spec.file}: ${(error as Error).message}`);
  }
  return { bytes: parseHex(spec, text, spec.file), source: spec.file };
}
