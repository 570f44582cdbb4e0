import { z } from 'zod';

/**
 * `GET /api/v1/{tenant}/auditlogs/{id}/diff` (backend/audit/routes.ts entryDiff): the state of the
 * resource before and after the entry, as stored (canonical JSON for Perch's entities, YAML for
 * flow sources: `kind` says which), with the server's unified diff. All null when no state was kept.
 */
export const auditDiffSchema = z.object({
  before: z.string().nullable(),
  after: z.string().nullable(),
  kind: z.string().nullable(),
  unified: z.string().nullable(),
});
export type AuditDiff = z.infer<typeof auditDiffSchema>;
