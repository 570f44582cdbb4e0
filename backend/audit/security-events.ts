import type { FastifyRequest } from 'fastify';
import { INSTANCE_CHAIN, type AuditAction } from '../../lib/schemas/audit.js';
import type { PerchContext } from '../context.js';

/**
 * Sign-in, failed sign-in, lockout and sign-out: instance-wide events (people are global, as in EE),
 * in the `_instance` chain. Awaited by the auth routes, so the answer leaves after the entry is stored.
 * The password is never part of an entry.
 */
export function recordSecurityEvent(
  ctx: PerchContext,
  request: FastifyRequest,
  event: { action: Extract<AuditAction, 'LOGIN' | 'LOGIN_FAILURE' | 'ACCOUNT_LOCKED' | 'LOGOUT'>; email: string; userId?: string | null; reason?: string; lockedUntil?: number },
): Promise<unknown> {
  const ua = request.headers['user-agent'];
  return ctx.audit.record({
    tenantId: INSTANCE_CHAIN,
    actor: { type: event.userId ? 'USER' : 'ANONYMOUS', id: event.userId ?? null, email: event.email },
    action: event.action,
    resourceType: 'USER',
    resourceId: event.userId ?? null,
    requestId: String(request.id),
    ip: request.ip,
    userAgent: typeof ua === 'string' ? ua : null,
    outcome: event.action === 'LOGIN' || event.action === 'LOGOUT' ? 'SUCCESS' : 'FAILURE',
    details: {
      email: event.email,
      path: request.canonical?.path ?? null,
      ...(event.reason ? { reason: event.reason } : {}),
      ...(event.lockedUntil ? { lockedUntil: new Date(event.lockedUntil).toISOString() } : {}),
    },
  });
}
