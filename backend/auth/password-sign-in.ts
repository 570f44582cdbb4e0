import type { PerchContext } from '../context.js';
import { findUserByEmail, type UserRow } from '../users/user-store.js';
import type { PasswordAttempt } from './login-throttle.js';
import { verifyPassword } from './passwords.js';

/** How an email + password attempt went; on success, whose password it is. */
export type PasswordSignIn = { outcome: 'ok'; user: UserRow } | (Exclude<PasswordAttempt, { outcome: 'ok' }> & { user?: UserRow });

/**
 * One email + password attempt through the sign-in brakes (see LoginThrottle.attempt), shared by the
 * sign-in routes and Basic authentication. An unknown email is checked against a dummy hash, so the
 * time taken tells nothing.
 */
export async function passwordSignIn(ctx: PerchContext, ip: string, email: string, password: string): Promise<PasswordSignIn> {
  let user: UserRow | undefined;
  const attempt = await ctx.throttle.attempt(ip, email, async () => {
    user = await findUserByEmail(ctx.db, email);
    return verifyPassword(user?.password_hash, password);
  });
  // This failure locked the account: a Basic credential remembered for it (here or on another replica)
  // must meet the lock too, not keep working until it falls out of the cache.
  if (attempt.outcome === 'wrong' && attempt.lockedUntil !== null && user) ctx.sessions.refreshUser(user.id);
  return attempt.outcome === 'ok' ? { outcome: 'ok', user: user! } : { ...attempt, user };
}
