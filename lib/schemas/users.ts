import { z } from 'zod';
import { actionSchema, resourceSchema } from '../authz/catalogue.js';
import { DEFAULT_TENANT } from '../tenants.js';

/** Shapes follow Kestra EE's IAMUserController / MeController so EE clients work unchanged. */

export const tenantSummarySchema = z.object({ id: z.string(), name: z.string() });
export const userAuthSchema = z.object({ id: z.string().optional(), name: z.string(), type: z.string() });

export const apiUserSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  firstName: z.string().nullable().optional(),
  lastName: z.string().nullable().optional(),
  email: z.string(),
  tenants: z.array(tenantSummarySchema),
  auths: z.array(userAuthSchema),
  groups: z.array(z.object({ id: z.string(), tenantId: z.string() })),
  superAdmin: z.boolean(),
  /** 2.0 name of superAdmin; both are sent. */
  instanceOwner: z.boolean(),
  restricted: z.boolean(),
  /** Perch addition: a disabled user cannot sign in and loses every session. */
  disabled: z.boolean(),
});
export type ApiUser = z.infer<typeof apiUserSchema>;

export const apiUserSummarySchema = apiUserSchema.pick({
  id: true, username: true, displayName: true, tenants: true, auths: true, superAdmin: true, instanceOwner: true, disabled: true,
});
export type ApiUserSummary = z.infer<typeof apiUserSummarySchema>;

export function pagedResultsSchema<T extends z.ZodType>(item: T) {
  return z.object({ results: z.array(item), total: z.number().int() });
}

const name = z.string().trim().max(200);
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email({ message: 'email must be a valid address' })).pipe(z.string().max(320));

export const createOrUpdateUserRequestSchema = z.object({
  email: emailSchema,
  firstName: name.nullish(),
  lastName: name.nullish(),
  password: z.string().optional(),
  superAdmin: z.boolean().optional(),
  instanceOwner: z.boolean().optional(),
  restricted: z.boolean().optional(),
  disabled: z.boolean().optional(),
  tenants: z.array(z.string().max(200)).max(100).optional(),
  groups: z.array(z.string().max(200)).max(1000).optional(),
});
export type CreateOrUpdateUserRequest = z.infer<typeof createOrUpdateUserRequestSchema>;

/** EE's `IAMUserController.ApiPatchRestrictedRequest`. */
export const setRestrictedRequestSchema = z.strictObject({ restricted: z.boolean() });

export const userDetailsRequestSchema = z.object({
  firstName: name.nullish(),
  lastName: name.nullish(),
  email: emailSchema.optional(),
  /** Perch addition on PATCH /users/{id}: enable or disable the account. */
  disabled: z.boolean().optional(),
});

export const setPasswordRequestSchema = z.object({ password: z.string() });
export const setSuperAdminRequestSchema = z.object({ superAdmin: z.boolean() });
export const updateOwnPasswordRequestSchema = z.object({ oldPassword: z.string(), newPassword: z.string() });

export const apiMeSchema = z.object({
  id: z.string(),
  superAdmin: z.boolean(),
  instanceOwner: z.boolean(),
  restricted: z.boolean(),
  profile: z.object({ email: z.string(), firstName: z.string().nullable(), lastName: z.string().nullable(), username: z.string() }),
  auths: z.array(userAuthSchema),
  tenants: z.array(z.object({ id: z.string(), name: z.string(), logo: z.string().nullable().optional() })),
});
export type ApiMe = z.infer<typeof apiMeSchema>;

const permissionMapSchema = z.partialRecord(resourceSchema, z.array(actionSchema));
/**
 * Perch addition to `GET /api/v1/me`: what the caller may do, tenant-wide and per namespace
 * (a namespace entry also covers its children), so screens can hide what would be refused.
 */
export const effectivePermissionsSchema = z.object({
  tenantWide: permissionMapSchema,
  namespaces: z.record(z.string(), permissionMapSchema),
});
export const apiMeWithPermissionsSchema = apiMeSchema.extend({
  permissions: effectivePermissionsSchema,
  /**
   * Perch addition: the tenant the session works in (the top bar's tenant switcher), which
   * `permissions` are for and which Perch's screens call. The stock UI's URLs stay under `/ui/main/…`.
   */
  selectedTenant: z.string().default(DEFAULT_TENANT),
});

export const loginRequestSchema = z.object({
  username: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
