import { hash, verify, Algorithm } from '@node-rs/argon2';

/** OWASP's Argon2id floor: 19 MiB, 2 passes, 1 lane. */
const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Caps concurrent hashes so a login flood cannot starve the proxy of CPU. */
const MAX_CONCURRENT_HASHES = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function hashPassword(password: string): Promise<string> {
  return withHashSlot(() => hash(password, ARGON2_OPTIONS));
}

/** A fixed hash checked when the account does not exist, so both cases take the same time. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  const target = storedHash ?? (await (dummyHash ??= hashPassword('perch-timing-equaliser')));
  const ok = await withHashSlot(() => verify(target, password).catch(() => false));
  return ok && Boolean(storedHash);
}

export interface PasswordRules {
  minLength: number;
}

/** ASVS 6.2: length over composition, no truncation, long passphrases welcome. */
export function passwordProblem(password: string, rules: PasswordRules): string | null {
  if (typeof password !== 'string') return 'Password must be a string';
  const length = [...password].length;
  if (length < rules.minLength) return `Password must be at least ${rules.minLength} characters long`;
  if (length > 256) return 'Password must be at most 256 characters long';
  if (/^(.)\1*$/u.test(password)) return 'Password must not be one repeated character';
  return null;
}
