import { z } from 'zod';

/** One of the signed-in person's own sessions (`GET /api/v1/me/sessions`). The id is not the cookie. */
export const ownSessionSchema = z.object({
  /** A short handle of the session (a prefix of the stored hash): enough to name it, useless to use it. */
  id: z.string(),
  /** The session this request came with. */
  current: z.boolean(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  expiresAt: z.string(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
});
export type OwnSession = z.infer<typeof ownSessionSchema>;
export const ownSessionListSchema = z.object({ results: z.array(ownSessionSchema) });

/** The password rules a new password must meet (`GET /perch/api/account/password-rules`), shown beside the form. */
export const passwordRulesSchema = z.object({
  minLength: z.number().int(),
  minDigits: z.number().int(),
  minLowerCase: z.number().int(),
  minUpperCase: z.number().int(),
  minSpecial: z.number().int(),
});
export type PasswordRulesView = z.infer<typeof passwordRulesSchema>;

/** The groups the signed-in person is in, in their tenant (`GET /perch/api/account/groups`). */
export const ownGroupListSchema = z.object({
  results: z.array(z.object({ id: z.string(), name: z.string(), membership: z.enum(['OWNER', 'MEMBER']) })),
});
