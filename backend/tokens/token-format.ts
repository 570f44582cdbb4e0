import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../crypto/sha256.js';

/**
 * API token format: `perch_` + 43 base62 characters (256 random bits) + 6 base62 characters of
 * CRC32 over everything before them. 55 characters, all `[A-Za-z0-9_]`, so a double-click selects
 * it whole. The fixed prefix lets secret scanners find leaked tokens; the checksum lets them (and
 * Perch) tell a real token from a typo or a guess without reading the store.
 */
export const TOKEN_PREFIX = 'perch_';
const BODY_LENGTH = 43;
const CHECK_LENGTH = 6;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + BODY_LENGTH + CHECK_LENGTH;
/** How much of a token lists show: the prefix and 6 characters of the random part (~36 of 256 bits). */
const HINT_LENGTH = TOKEN_PREFIX.length + 6;
const SHAPE = /^perch_[0-9A-Za-z]{49}$/;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function base62(value: bigint, width: number): string {
  let out = '';
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out.padStart(width, '0');
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const checksum = (head: string) => base62(BigInt(crc32(head)), CHECK_LENGTH);

export function generateToken(): string {
  const head = TOKEN_PREFIX + base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH);
  return head + checksum(head);
}

/** Right shape and checksum: worth a store lookup. Anything else is refused without one. */
export function isWellFormedToken(token: string): boolean {
  if (token.length !== TOKEN_LENGTH || !SHAPE.test(token)) return false;
  const head = token.slice(0, TOKEN_PREFIX.length + BODY_LENGTH);
  return checksum(head) === token.slice(head.length);
}

/** What the store keeps: the secret's SHA-256 (256 random bits need no salt or slow hash). */
export const hashToken = sha256Hex;

export const tokenHint = (token: string) => token.slice(0, HINT_LENGTH);
