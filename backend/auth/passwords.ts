import type { Algorithm } from '@node-rs/argon2';

/**
 * Argon2, loaded with the first hash: its native module costs 5-8 MB RSS, which a Perch whose
 * people sign in with SSO and whose programs use tokens never needs.
 */
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));

/** OWASP's Argon2id floor: 19 MiB, 2 passes, 1 lane. */
const ARGON2_OPTIONS = { algorithm: 2 satisfies Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * Caps concurrent hashes so a login flood cannot starve the proxy of CPU, nor swell its memory:
 * each hash holds its 19 MiB (memoryCost) outside the JS heap while it runs, so 4 at once added
 * 76 MiB to the process's peak (docs/benchmarks.md, Memory).
 */
const MAX_CONCURRENT_HASHES = 2;
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
  return withHashSlot(async () => (await loadArgon2()).hash(password, ARGON2_OPTIONS));
}

/** A fixed hash checked when the account does not exist, so both cases take the same time. */
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  const target = storedHash ?? (await (dummyHash ??= hashPassword('perch-timing-equaliser')));
  const { verify } = await loadArgon2();
  const ok = await withHashSlot(() => verify(target, password).catch(() => false));
  return ok && Boolean(storedHash);
}

export interface PasswordRules {
  minLength: number;
  /** Optional composition rules (0 or absent: not required). */
  minDigits?: number;
  minLowerCase?: number;
  minUpperCase?: number;
  /** Anything that is neither a letter nor a digit counts as special (spaces included). */
  minSpecial?: number;
}

const count = (password: string, pattern: RegExp) => (password.match(pattern) ?? []).length;
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * ASVS 6.2: length over composition, no truncation, long passphrases welcome. Composition rules
 * are off by default and can be turned on in config (`password.minDigits` and friends).
 */
export function passwordProblem(password: string, rules: PasswordRules): string | null {
  if (typeof password !== 'string') return 'Password must be a string';
  const length = [...password].length;
  if (length < rules.minLength) return `Password must be at least ${rules.minLength} characters long`;
  if (length > 256) return 'Password must be at most 256 characters long';
  if (/^(.)\1*$/u.test(password)) return 'Password must not be one repeated character';
  const classes: Array<[number | undefined, RegExp, string, string]> = [
    [rules.minDigits, /\p{Nd}/gu, 'digit', 'digits'],
    [rules.minLowerCase, /\p{Ll}/gu, 'lower-case letter', 'lower-case letters'],
    [rules.minUpperCase, /\p{Lu}/gu, 'upper-case letter', 'upper-case letters'],
    [rules.minSpecial, /[^\p{L}\p{Nd}]/gu, 'special character (not a letter or digit)', 'special characters (not letters or digits)'],
  ];
  for (const [min, pattern, one, many] of classes) {
    if (min && count(password, pattern) < min) return `Password must contain at least ${plural(min, one, many)}`;
  }
  return null;
}
