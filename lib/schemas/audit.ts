import { z } from 'zod';
import { resourceSchema } from '../authz/catalogue.js';

/**
 * Audit log contracts. Shapes follow Kestra EE's AuditLogController (behaviour spec §5): an item is
 * `{auditLog, user}` and `auditLog` is EE's `AuditLog` (BaseAuditLog + patches) with Perch's extra
 * fields (actor, outcome, upstream status, hash chain) alongside.
 */

/**
 * EE's AuditableAction plus EXECUTE: starting an execution (or an app, a test suite) is neither a
 * CREATE of the flow nor an UPDATE, and folding it into either would make "who ran this" unsearchable.
 * Other operational actions (KILL, RESTART, PAUSE, ENABLE, …) are UPDATEs whose exact permission
 * action is kept in `detail.permission`.
 */
export const AUDIT_ACTIONS = [
  'READ', 'CREATE', 'UPDATE', 'DELETE', 'LOGIN', 'LOGOUT', 'IMPERSONATE', 'LOGIN_FAILURE', 'ACCOUNT_LOCKED', 'UNKNOWN', 'EXECUTE',
] as const;
export const auditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof auditActionSchema>;

export const ACTOR_TYPES = ['USER', 'SERVICE_ACCOUNT', 'SYSTEM', 'ANONYMOUS'] as const;
export const actorTypeSchema = z.enum(ACTOR_TYPES);
export type ActorType = z.infer<typeof actorTypeSchema>;

export const OUTCOMES = ['SUCCESS', 'FAILURE', 'REFUSED'] as const;
export const outcomeSchema = z.enum(OUTCOMES);
export type AuditOutcome = z.infer<typeof outcomeSchema>;

/** The chain of instance-wide events (sign-ins, users, which are global in EE). */
export const INSTANCE_CHAIN = '_instance';

export const auditLogSchema = z.object({
  tenantId: z.string().nullable(),
  id: z.string(),
  type: auditActionSchema,
  detail: z.object({ type: z.string(), resourceType: resourceSchema, id: z.string().nullable().optional(), namespace: z.string().nullable().optional() }).catchall(z.unknown()),
  date: z.string(),
  userId: z.string().nullable(),
  ipAddress: z.string().nullable(),
  impersonatedBy: z.string().nullable(),
  appliedPatch: z.array(z.unknown()),
  revertPatch: z.array(z.unknown()),
  // Perch additions.
  seq: z.number().int(),
  actor: z.object({ type: actorTypeSchema, id: z.string().nullable(), email: z.string().nullable() }),
  outcome: outcomeSchema,
  upstreamStatus: z.number().int().nullable(),
  requestId: z.string().nullable(),
  userAgent: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type ApiAuditLog = z.infer<typeof auditLogSchema>;

export const apiAuditLogItemSchema = z.object({
  auditLog: auditLogSchema,
  user: z.object({ id: z.string(), username: z.string(), email: z.string().optional(), type: z.enum(['STANDARD', 'SERVICE_ACCOUNT']).optional(), displayName: z.string() }).nullable(),
  /** Perch addition: what the resource is called (an email, a name, "who → role on namespace", `namespace/id`); null when unknown or deleted. */
  resourceName: z.string().nullable().optional(),
});
export type ApiAuditLogItem = z.infer<typeof apiAuditLogItemSchema>;

/** `POST /{tenant}/auditlogs/find`: the latest entry matching resource, action and every detail key. */
export const findAuditLogRequestSchema = z.object({
  resource: resourceSchema.optional(),
  type: auditActionSchema.nullable().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
