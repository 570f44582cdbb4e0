import type { FastifyRequest } from 'fastify';
import { INSTANCE_CHAIN, type AuditAction, type AuditOutcome } from '../../lib/schemas/audit.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { AuditEntry } from './audit-log.js';
import '../http/fastify-types.js';
import '../http/client-address.js';

/*
 * The fields every audit entry made from an HTTP request shares, whoever builds the entry: the audit
 * hook for Perch's own API, the proxy for Kestra's calls (proxy/audit-entry.ts).
 */

/** Who made the call, as the entry records it. */
export function actorOf(request: FastifyRequest): AuditEntry['actor'] {
  const p = request.principal as (FastifyRequest['principal'] & { actorType?: string }) | null;
  if (!p) return { type: 'ANONYMOUS' };
  return { type: p.actorType === 'SERVICE_ACCOUNT' ? 'SERVICE_ACCOUNT' : 'USER', id: p.userId, email: p.email };
}

/** Where a request came from, as every audit entry records it. */
export function requestFields(request: FastifyRequest) {
  const ua = request.headers['user-agent'];
  return { requestId: String(request.id), ip: request.clientAddress, userAgent: typeof ua === 'string' ? ua : null };
}

export function outcomeOf(status: number): AuditOutcome {
  return status === 403 ? 'REFUSED' : status >= 400 ? 'FAILURE' : 'SUCCESS';
}

/** The action a write is recorded as when nothing more precise names it. */
export function methodAction(method: string, hasId: boolean): AuditAction {
  if (method === 'DELETE') return 'DELETE';
  if (method === 'POST' && !hasId) return 'CREATE';
  return 'UPDATE';
}

/**
 * The chain an entry goes to: its tenant's when that tenant exists, else the instance chain (with the
 * tenant asked for in its details). A refused call may name any tenant in its path; a chain per name
 * would let anyone start chains at will.
 */
export function chainOf(requested: string | null | undefined, exists: (tenant: string) => boolean = (t) => t === DEFAULT_TENANT): { tenantId: string; unknownTenant?: string } {
  if (requested == null || exists(requested)) return { tenantId: requested ?? INSTANCE_CHAIN };
  return { tenantId: INSTANCE_CHAIN, unknownTenant: requested };
}
