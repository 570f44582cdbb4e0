import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { PerchContext } from '../context.js';
import { expectedOrigin } from '../auth/guard.js';
import { sha256Hex } from '../crypto/sha256.js';

/** A 256-bit single-use secret for a link; only its SHA-256 is ever stored. */
export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashLinkToken(token) };
}

export const hashLinkToken = sha256Hex;

/**
 * `publicUrl` when configured, else the origin the browser used to reach this Perch (only for a link
 * shown to the signed-in admin who asked for it: with mail on, the configuration requires publicUrl).
 */
export function baseUrl(ctx: PerchContext, request: FastifyRequest): string {
  return (ctx.config.publicUrl ?? expectedOrigin(ctx, request)).replace(/\/+$/, '');
}

export function linkTo(ctx: PerchContext, request: FastifyRequest, path: string, token: string): string {
  return `${baseUrl(ctx, request)}${path}?token=${encodeURIComponent(token)}`;
}
