import type { FastifyRequest } from 'fastify';
import { INSTANCE_CHAIN, type AuditAction } from '../../lib/schemas/audit.js';
import type { PerchContext } from '../context.js';
import { requestFields } from './http-hook.js';

/**
 * Sign-in and sign-out: instance-wide events (people are global, as in EE), in the `_instance` chain.
 * Awaited by the auth routes, so the answer leaves after the entry is stored. Failed sign-ins and
 * lockouts are counted per minute instead (auth-failures.ts). The password is never part of an entry.
 */
export function recordSecurityEvent(
  ctx: PerchContext,
  request: FastifyRequest,
  event: { action: Extract<AuditAction, 'LOGIN' | 'LOGOUT'>; email: string; userId?: string | null; reason?: string },
): Promise<unknown> {
  return ctx.audit.record({
    tenantId: INSTANCE_CHAIN,
    actor: { type: event.userId ? 'USER' : 'ANONYMOUS', id: event.userId ?? null, email: event.email },
    action: event.action,
    resourceType: 'USER',
    resourceId: event.userId ?? null,
    ...requestFields(request),
    outcome: 'SUCCESS',
    details: {
      email: event.email,
      path: request.canonical?.path ?? null,
      ...(event.reason ? { reason: event.reason } : {}),
    },
  });
}
