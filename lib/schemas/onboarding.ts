import { z } from 'zod';
import { namespaceSchema } from '../authz/namespaces.js';
import { apiGroupSummarySchema, apiRoleSummarySchema } from './iam.js';

/**
 * Invitations, password reset and password rules, in Kestra EE's shapes (behaviour spec §1 and
 * §11, `IAMInvitationController.*`, `Invitation`).
 */

const email = z.email().max(320).transform((e) => e.trim().toLowerCase());
const id = z.string().min(1).max(64);

// Request shapes are strict: a field Perch does not read (say the answers' `bindings`, or
// `namespace` for `namespaces`) is a 422, not an invitation that grants something else.
export const invitationRoleSchema = z.strictObject({
  id,
  /** Absent or empty: the role is bound tenant-wide. */
  namespaces: z.array(namespaceSchema).max(100).nullish(),
});
export type InvitationRole = z.infer<typeof invitationRoleSchema>;

export const createInvitationRequestSchema = z.strictObject({
  email,
  roles: z.array(invitationRoleSchema).max(100).nullish(),
  groups: z.array(id).max(100).nullish(),
  superAdmin: z.boolean().nullish(),
  /** Kestra EE's "skip the invitation" (meant for SSO): the account is created at once, without a password. */
  createUserIfNotExist: z.boolean().nullish(),
});
export type CreateInvitationRequest = z.infer<typeof createInvitationRequestSchema>;

export const invitationStatusSchema = z.enum(['PENDING', 'ACCEPTED', 'EXPIRED']);
export type InvitationStatus = z.infer<typeof invitationStatusSchema>;

export const apiInvitationDetailSchema = z.object({
  id: z.string(),
  roles: z.array(apiRoleSummarySchema),
  groups: z.array(apiGroupSummarySchema),
  tenantId: z.string(),
  email: z.string(),
  status: invitationStatusSchema,
  isExpired: z.boolean(),
  sentAt: z.string(),
  expiredAt: z.string(),
  acceptedAt: z.string().nullable(),
  superAdmin: z.boolean(),
  /** The acceptance link: only in the creation answer (Perch keeps the token's hash only). */
  link: z.string().nullable(),
  /** Perch additions: the namespaces each role is restricted to, and whether the link was mailed. */
  bindings: z.array(z.object({ roleId: z.string(), namespace: z.string().nullable() })),
  mailed: z.boolean(),
});
export type ApiInvitationDetail = z.infer<typeof apiInvitationDetailSchema>;

export const invitationSearchQuerySchema = z.object({
  email: z.string().max(320).optional(),
  status: invitationStatusSchema.optional(),
});

/** The accept form (HTML or JSON): the link's token and the new account's password. */
export const acceptInvitationRequestSchema = z.object({
  token: z.string().min(1).max(200),
  password: z.string().max(4096),
  firstName: z.string().max(200).nullish(),
  lastName: z.string().max(200).nullish(),
});
export type AcceptInvitationRequest = z.infer<typeof acceptInvitationRequestSchema>;

export const forgottenPasswordRequestSchema = z.object({ username: z.string().max(320) });
export const resetPasswordRequestSchema = z.object({ token: z.string().min(1).max(200), password: z.string().max(4096) });
export type ResetPasswordRequest = z.infer<typeof resetPasswordRequestSchema>;
