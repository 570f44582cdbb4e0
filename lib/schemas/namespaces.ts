import { z } from 'zod';

/**
 * Kestra EE's namespace entity (`Namespace` in the EE OpenAPI; behaviour spec §4): created with
 * `POST /api/v1/{tenant}/namespaces`, read, updated and deleted at `/namespaces/{id}`. A namespace
 * Kestra knows only from its flows is a placeholder: read, it has its id and nothing else.
 */
export const NAMESPACE_ID = /^[a-z0-9][a-z0-9._-]*$/;

const jsonObject = z.record(z.string(), z.unknown());
const isolationSchema = z.object({ enabled: z.boolean().optional(), deniedServices: z.array(z.string()).optional() });

/** The fields EE keeps besides id and deleted. */
export const namespaceSettingsSchema = z.object({
  description: z.string().max(10_000).optional(),
  variables: jsonObject.optional(),
  allowedNamespaces: z.array(z.object({ namespace: z.string().regex(NAMESPACE_ID) })).optional(),
  defaultWorkerSelector: jsonObject.optional(),
  concurrency: jsonObject.optional(),
  storageType: z.string().optional(),
  storageConfiguration: jsonObject.optional(),
  storageIsolation: isolationSchema.optional(),
  secretType: z.string().optional(),
  secretReadOnly: z.boolean().optional(),
  secretConfiguration: jsonObject.optional(),
  secretIsolation: isolationSchema.optional(),
  outputsInInternalStorage: z.boolean().optional(),
  sdkDefaultAuthentication: jsonObject.optional(),
  quotas: z.array(jsonObject).optional(),
});
export type NamespaceSettings = z.infer<typeof namespaceSettingsSchema>;

export const namespaceSchema = namespaceSettingsSchema.extend({
  id: z.string().max(150).regex(NAMESPACE_ID, 'a namespace id is lower-case letters, digits, dots, dashes and underscores, starting with a letter or digit'),
  deleted: z.boolean(),
});
export type Namespace = z.infer<typeof namespaceSchema>;

/** A create or update body: `deleted` may be left out (a deleted namespace is not written). */
export const namespaceRequestSchema = namespaceSchema.extend({ deleted: z.boolean().optional() });
export type NamespaceRequest = z.infer<typeof namespaceRequestSchema>;

/** `GET /namespaces/{id}/inherited-variables`: the ancestors' variables merged, the nearest winning. */
export const inheritedVariablesSchema = jsonObject;
