import { z } from 'zod';

/**
 * Service accounts and API tokens, in Kestra EE's shapes (behaviour spec §10,
 * `CreateApiTokenRequest`, `ApiTokenList`, `IAMServiceAccountController.*`).
 */

/** Kestra EE's name rule for service accounts and tokens: a DNS label. */
export const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
const dnsLabel = z.string().regex(DNS_LABEL, 'must be a DNS label: 1-63 lower-case letters, digits and inner hyphens');
const description = z.string().max(2000);

export const createApiTokenRequestSchema = z.object({
  name: dnsLabel,
  description: description.nullish(),
  /** ISO-8601 duration (e.g. P30D, PT12H); blank or absent: the token never expires. */
  maxAge: z.string().max(64).nullish(),
  /** Sliding expiry: every use pushes the expiry to now + maxAge. */
  extended: z.boolean().nullish(),
});
export type CreateApiTokenRequest = z.infer<typeof createApiTokenRequestSchema>;

/** The only response that ever carries the secret. */
export const createApiTokenResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  fullToken: z.string(),
  /** Perch additions. */
  prefix: z.string(),
  exp: z.string().nullable(),
});
export type CreateApiTokenResponse = z.infer<typeof createApiTokenResponseSchema>;

export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  /** The token's first characters: enough to recognise it, useless to use it. */
  prefix: z.string(),
  iat: z.string(),
  exp: z.string().nullable(),
  lastUsed: z.string().nullable(),
  extended: z.boolean(),
  expired: z.boolean(),
});
export type ApiToken = z.infer<typeof apiTokenSchema>;

export const apiTokenListSchema = z.object({ total: z.number().int(), results: z.array(apiTokenSchema) });
export type ApiTokenList = z.infer<typeof apiTokenListSchema>;

// Service accounts

/** Instance-wide create (`ApiCreateServiceAccountRequest`). */
export const createServiceAccountRequestSchema = z.object({
  name: dnsLabel,
  description: description.nullish(),
  superAdmin: z.boolean().nullish(),
  instanceOwner: z.boolean().nullish(),
  tenants: z.array(z.string()).nullish(),
});

/** Instance-wide PATCH (`ApiPatchServiceAccountRequest`). */
export const patchServiceAccountRequestSchema = z.object({ name: dnsLabel, description: description.nullish() });
export const patchSuperAdminRequestSchema = z.object({ superAdmin: z.boolean() });

/** Tenant create and update (`ApiServiceAccountRequest`). */
export const serviceAccountRequestSchema = z.object({
  name: dnsLabel,
  description: description.nullish(),
  groups: z.array(z.object({ id: z.string().min(1) })).nullish(),
  superAdmin: z.boolean().nullish(),
  instanceOwner: z.boolean().nullish(),
});

export const apiServiceAccountDetailSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  tenants: z.array(z.object({ id: z.string(), name: z.string() })),
  superAdmin: z.boolean(),
  instanceOwner: z.boolean(),
});
export type ApiServiceAccountDetail = z.infer<typeof apiServiceAccountDetailSchema>;

export const apiServiceAccountResponseSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  groups: z.array(z.object({ id: z.string() })),
  superAdmin: z.boolean(),
  instanceOwner: z.boolean(),
});
export type ApiServiceAccountResponse = z.infer<typeof apiServiceAccountResponseSchema>;

/** Tenant list rows (`ApiUserTenantAccess`). */
export const apiServiceAccountTenantAccessSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  description: z.string().nullable(),
  groups: z.array(z.object({ id: z.string(), name: z.string(), external: z.boolean() })),
  auths: z.array(z.object({ name: z.string(), type: z.string() })),
});
export type ApiServiceAccountTenantAccess = z.infer<typeof apiServiceAccountTenantAccessSchema>;
