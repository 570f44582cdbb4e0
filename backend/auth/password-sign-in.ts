import type { FastifyRequest } from 'fastify';
import { recordAuthFailure, type AuthMethod } from '../audit/auth-failures.js';
import type { PerchContext } from '../context.js';
import { findUserByEmail, type UserRow } from '../users/user-store.js';
import type { PasswordAttempt } from './login-throttle.js';
import { verifyPassword } from './passwords.js';

/** How an email + password attempt went; on success, whose password it is. */
export type PasswordSignIn = { outcome: 'ok'; user: UserRow } | (Exclude<PasswordAttempt, { outcome: 'ok' }> & { user?: UserRow });

/**
 * One email + password attempt through the sign-in brakes (see LoginThrottle.attempt), shared by the
 * sign-in routes and Basic authentication. An unknown email is checked against a dummy hash, so the
 * time taken tells nothing. A failed attempt, and the lock it may cause, go to the audit trail.
 */
export async function passwordSignIn(ctx: PerchContext, request: FastifyRequest, authMethod: AuthMethod, email: string, password: string): Promise<PasswordSignIn> {
  let user: UserRow | undefined;
  const attempt = await ctx.throttle.attempt(request.clientAddress ?? '', email, async () => {
    user = await findUserByEmail(ctx.db, email);
    return verifyPassword(user?.password_hash, password);
  });
  // This failure locked the account: a Basic credential remembered for it (here or on another replica)
  // must meet the lock too, not keep working until it falls out of the cache.
  if (attempt.outcome === 'wrong' && attempt.lockedUntil !== null && user) ctx.sessions.refreshUser(user.id);
  if (attempt.outcome !== 'ok') recordAttemptFailure(ctx, request, authMethod, email, attempt, user);
  return attempt.outcome === 'ok' ? { outcome: 'ok', user: user! } : { ...attempt, user };
}

/**
 * The trace of a password attempt the brakes or the check refused: LOGIN_FAILURE, plus ACCOUNT_LOCKED
 * when this failure locked the account. Past the address's budget the account is left out: the
 * address is what is refused, and naming every email a spray tries would let it fill the log.
 */
export function recordAttemptFailure(
  ctx: PerchContext,
  request: FastifyRequest,
  authMethod: AuthMethod,
  email: string,
  attempt: Exclude<PasswordAttempt, { outcome: 'ok' }>,
  user: Pick<UserRow, 'id'> | undefined,
  wrongReason = user ? 'wrong password' : 'unknown email',
): void {
  if (attempt.outcome === 'ipLimited') {
    recordAuthFailure(ctx, request, { action: 'LOGIN_FAILURE', authMethod, reason: 'too many attempts from this address' });
    return;
  }
  const account = { email, userId: user?.id ?? null };
  if (attempt.outcome === 'locked') {
    recordAuthFailure(ctx, request, { action: 'LOGIN_FAILURE', authMethod, ...account, reason: 'account locked', lockedUntil: attempt.until });
    return;
  }
  recordAuthFailure(ctx, request, { action: 'LOGIN_FAILURE', authMethod, ...account, reason: wrongReason });
  if (attempt.lockedUntil) recordAuthFailure(ctx, request, { action: 'ACCOUNT_LOCKED', authMethod, ...account, reason: 'too many failed sign-ins', lockedUntil: attempt.lockedUntil });
}
