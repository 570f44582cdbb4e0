import { z } from 'zod';

/**
 * Kestra OSS's `GET /api/v1/{tenant}/namespaces/search` answer, as far as Perch's screens read it:
 * a page of namespaces whose name is their `id` (Perch's proxy drops those the caller may not see).
 */
export const kestraNamespaceSchema = z.looseObject({ id: z.string() });
export const kestraNamespacePageSchema = z.looseObject({ results: z.array(kestraNamespaceSchema), total: z.number().int() });
export type KestraNamespacePage = z.infer<typeof kestraNamespacePageSchema>;
