import { z } from 'zod';
import { namespaceCovers, namespaceSchema } from '../authz/namespaces.js';
import { emailSchema } from './users.js';

/**
 * Tenants as Kestra EE has them (`Tenant`, EE OpenAPI), plus where Perch keeps each tenant's Kestra
 * data (`isolation`, Perch's own field): its own Kestra OSS (`INSTANCE`) or namespace roots of the
 * shared Kestra (`NAMESPACE`). A tenant's Kestra password is accepted on create and update and never
 * answered.
 */

/** EE's tenant id pattern (`^[a-z0-9][a-z0-9_-]*`), bounded like every other id Perch stores. */
export const tenantIdSchema = z.string().max(64).regex(/^[a-z0-9][a-z0-9_-]*$/, 'id must match ^[a-z0-9][a-z0-9_-]*');

export const TENANT_MODES = ['INSTANCE', 'NAMESPACE'] as const;
export type TenantMode = (typeof TENANT_MODES)[number];

const kestraUrlSchema = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
    } catch {
      return false;
    }
  }, 'kestraUrl must be an http(s) URL without credentials, query or fragment');

/** Roots a NAMESPACE tenant owns: none covering another (one would be redundant). */
const rootsSchema = z
  .array(namespaceSchema)
  .min(1, 'a NAMESPACE tenant owns at least one namespace root')
  .max(100)
  .refine((roots) => roots.every((a, i) => roots.every((b, j) => i === j || !namespaceCovers(a, b))), 'namespaces must not cover one another');

export const tenantIsolationRequestSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('INSTANCE'), kestraUrl: kestraUrlSchema, username: z.string().min(1).max(320), password: z.string().min(1).max(1000).optional() }),
  z.strictObject({ mode: z.literal('NAMESPACE'), namespaces: rootsSchema }),
]);
export type TenantIsolationRequest = z.infer<typeof tenantIsolationRequestSchema>;

/**
 * Create and update (EE's `Tenant` body). EE's storage, secret, worker and quota settings configure
 * Kestra EE services Kestra OSS does not have: accepted as EE clients send them, and ignored.
 * On update, `isolation` may be left out (kept as is), and an INSTANCE password may be left out (kept).
 */
export const tenantRequestSchema = z.looseObject({
  id: tenantIdSchema,
  name: z.string().trim().min(1).max(200),
  deleted: z.boolean().optional(),
  isolation: tenantIsolationRequestSchema.optional(),
});
export type TenantRequest = z.infer<typeof tenantRequestSchema>;

export const tenantIsolationSchema = z.discriminatedUnion('mode', [
  /** `kestraUrl` null: Perch's configured Kestra (the `main` tenant). */
  z.object({ mode: z.literal('INSTANCE'), kestraUrl: z.string().nullable(), username: z.string().nullable() }),
  z.object({ mode: z.literal('NAMESPACE'), namespaces: z.array(z.string()) }),
]);

/** EE's `Tenant` as Perch answers it, with `isolation` (never the password). */
export const apiTenantSchema = z.object({
  id: z.string(),
  name: z.string(),
  deleted: z.boolean(),
  isolation: tenantIsolationSchema,
});
export type ApiTenant = z.infer<typeof apiTenantSchema>;

/** `DELETE /api/v1/tenants/{id}?confirm={id}`: a tenant that still holds data is deleted only when named again. */
export const tenantDeleteQuerySchema = z.object({ confirm: z.string().max(64).optional() });

// --- Tenant access (EE's IAMTenantAccessController) ---

export const createTenantAccessRequestSchema = z.object({ email: emailSchema });

export const tenantAccessAutocompleteSchema = z.object({
  q: z.string().max(200).nullish(),
  ids: z.array(z.string().max(64)).max(1000).nullish(),
  existingOnly: z.boolean().nullish(),
  username: z.string().max(320).nullish(),
});

const accessGroupSchema = z.object({ id: z.string(), name: z.string(), external: z.boolean() });
const authenticationSchema = z.object({ name: z.string(), type: z.string() });

export const apiUserTenantAccessSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  description: z.string().optional(),
  groups: z.array(accessGroupSchema),
  auths: z.array(authenticationSchema),
});
export type ApiUserTenantAccess = z.infer<typeof apiUserTenantAccessSchema>;

export const apiRoleAssignmentSchema = z.object({
  id: z.string(),
  name: z.string(),
  namespace: z.string().nullable(),
  origin: z.enum(['BINDING', 'GROUP']),
  sourceId: z.string(),
  permissions: z.array(z.object({ resource: z.string(), actions: z.array(z.string()) })),
});

export const apiTenantAccessSchema = z.object({
  tenantId: z.string(),
  userId: z.string(),
  username: z.string(),
  displayName: z.string(),
  groups: z.array(accessGroupSchema),
  roles: z.array(apiRoleAssignmentSchema),
  superAdmin: z.boolean(),
});
export type ApiTenantAccess = z.infer<typeof apiTenantAccessSchema>;

/** `PUT /api/v1/me/tenant`: the tenant a signed-in session works in (the tenant switcher). */
export const selectTenantRequestSchema = z.object({ tenantId: tenantIdSchema });

/** `GET /api/v1/tenants/{id}/health` (Perch's own): whether the tenant's Kestra answers Perch now. */
export const tenantHealthSchema = z.object({
  tenantId: z.string(),
  /** The Kestra asked: the tenant's own, or Perch's configured one (`main`, NAMESPACE tenants). */
  kestraUrl: z.string(),
  ready: z.boolean(),
  reason: z.string().optional(),
  latencyMs: z.number().optional(),
});
export type TenantHealth = z.infer<typeof tenantHealthSchema>;
