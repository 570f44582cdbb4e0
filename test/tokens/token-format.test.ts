import { describe, expect, it } from 'vitest';
import { crc32, generateToken, hashToken, isWellFormedToken, TOKEN_LENGTH, tokenHint } from '../../backend/tokens/token-format.js';

describe('API token format', () => {
  it('is perch_ + 43 base62 characters of randomness + a 6-character CRC32', () => {
    const token = generateToken();
    expect(token).toMatch(/^perch_[0-9A-Za-z]{49}$/);
    expect(token).toHaveLength(TOKEN_LENGTH);
    expect(isWellFormedToken(token)).toBe(true);
    expect(new Set(Array.from({ length: 200 }, generateToken)).size).toBe(200);
  });

  it('computes the standard CRC32', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('spots a changed character, a wrong length or a foreign token without a lookup', () => {
    const token = generateToken();
    const flip = (i: number) => token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
    for (const i of [6, 20, 48, 49, 54]) expect(isWellFormedToken(flip(i))).toBe(false);
    expect(isWellFormedToken(token.slice(0, -1))).toBe(false);
    expect(isWellFormedToken(`${token}0`)).toBe(false);
    expect(isWellFormedToken(`ghp_${token.slice(4)}`)).toBe(false);
    expect(isWellFormedToken('')).toBe(false);
  });

  it('shows only a short hint and stores only a SHA-256', () => {
    const token = generateToken();
    expect(tokenHint(token)).toBe(token.slice(0, 12));
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token.slice(6, 20));
  });
});
