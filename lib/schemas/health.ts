import { z } from 'zod';

/** `GET /perch/health` (backend/health/routes.ts): Perch is up; is Kestra answering; is first-run setup done. */
export const perchHealthSchema = z.object({
  status: z.string(),
  setupRequired: z.boolean(),
  kestra: z.object({
    reachable: z.boolean(),
    status: z.number().int().optional(),
    latencyMs: z.number().optional(),
    error: z.string().optional(),
  }),
});
export type PerchHealth = z.infer<typeof perchHealthSchema>;
