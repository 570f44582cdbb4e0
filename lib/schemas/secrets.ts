import { z } from 'zod';

/**
 * Kestra EE's namespace secrets (EE OpenAPI `ApiSecretValue`, `ApiSecretMetaEE`,
 * `ApiSecretListResponse`; behaviour spec §6). A value is write-only: it goes in with a PUT and never
 * comes back out of Perch's API.
 */
export const secretTagSchema = z.object({ key: z.string().max(200), value: z.string().max(1000) });
export type SecretTag = z.infer<typeof secretTagSchema>;

/**
 * Kestra OSS reads a secret from the environment variable `SECRET_<KEY>` (upper-cased), so a key is
 * what an environment variable name may hold.
 */
export const SECRET_KEY = /^[A-Za-z][A-Za-z0-9_]*$/;
export const secretKeySchema = z.string().min(1).max(200).regex(SECRET_KEY, 'a secret key is letters, digits and underscores, starting with a letter (Kestra reads it from SECRET_<KEY>)');

/** At most 64 KiB: an environment variable, base64-encoded, must stay well under the OS's limits. */
export const MAX_SECRET_VALUE = 64 * 1024;

export const secretValueRequestSchema = z.object({
  key: secretKeySchema,
  value: z.string().min(1).max(MAX_SECRET_VALUE),
  description: z.string().max(10_000).optional(),
  tags: z.array(secretTagSchema).max(50).optional(),
});
export type SecretValueRequest = z.infer<typeof secretValueRequestSchema>;

export const secretMetaSchema = z.object({
  key: z.string(),
  namespace: z.string(),
  description: z.string().optional(),
  tags: z.array(secretTagSchema),
});
export type SecretMeta = z.infer<typeof secretMetaSchema>;

/** `PATCH /namespaces/{ns}/secrets/{key}`: metadata only; key and namespace, when given, must be the path's. */
export const secretPatchRequestSchema = z.object({
  key: z.string().optional(),
  namespace: z.string().optional(),
  description: z.string().max(10_000).optional(),
  tags: z.array(secretTagSchema).max(50),
});

export const secretListSchema = z.object({ readOnly: z.boolean(), results: z.array(secretMetaSchema), total: z.number().int() });
export type SecretList = z.infer<typeof secretListSchema>;

/** `GET /namespaces/{ns}/inherited-secrets`: each ancestor namespace → its keys. */
export const inheritedSecretsSchema = z.record(z.string(), z.array(z.string()));

/** `GET|PUT /api/v1/{tenant}/secret-backend` (instance owners): where the tenant's new secret values go. */
export const secretBackendChoiceSchema = z.object({ type: z.string().min(1).max(32) });
export const secretBackendViewSchema = z.object({
  type: z.string(),
  readOnly: z.boolean(),
  available: z.array(z.object({ type: z.string(), name: z.string(), readOnly: z.boolean() })),
});
export type SecretBackendView = z.infer<typeof secretBackendViewSchema>;

/**
 * `GET|PUT /api/v1/{tenant}/namespaces/{ns}/secret-backend` (instance owners): the namespace's dedicated
 * manager (EE's namespace `secretType`, `secretReadOnly`), `type: null` to inherit again.
 */
export const namespaceSecretBackendChoiceSchema = z.object({ type: z.string().min(1).max(32).nullable(), readOnly: z.boolean().optional() });
export const namespaceSecretBackendViewSchema = secretBackendViewSchema.extend({
  /** Where the choice comes from: the namespace or a parent (`sourceNamespace`), the tenant's pick, the instance's default. */
  source: z.enum(['namespace', 'tenant', 'instance']),
  sourceNamespace: z.string().optional(),
});
export type NamespaceSecretBackendView = z.infer<typeof namespaceSecretBackendViewSchema>;
