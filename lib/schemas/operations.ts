import { z } from 'zod';
import { bannerTypeSchema } from './ui-config.js';

/*
 * Operations (issue 22): announcements (EE `Banner`), maintenance mode (EE `MaintenanceStatusResponse`)
 * and kill switches (EE `KillSwitch`), in the shapes of Kestra EE 2.0's OpenAPI spec.
 */

/** An ISO-8601 instant with its offset, or null / absent for "no bound". */
const instant = z.iso.datetime({ offset: true });

/** What a caller sends to create or update a banner (`id`, `tenantId` and `active` are Perch's to set, and ignored). */
export const bannerRequestSchema = z
  .object({
    message: z.string().trim().min(1).max(2000),
    type: bannerTypeSchema.default('INFO'),
    startDate: instant.nullish(),
    endDate: instant.nullish(),
  })
  .refine((b) => !b.startDate || !b.endDate || Date.parse(b.startDate) < Date.parse(b.endDate), { path: ['endDate'], message: 'must be after startDate' });
export type BannerRequest = z.infer<typeof bannerRequestSchema>;

export const apiBannerSchema = z.object({
  id: z.string(),
  message: z.string(),
  type: bannerTypeSchema,
  startDate: z.string().nullable(),
  endDate: z.string().nullable(),
  /** Banners are instance-wide (EE: "visible to all tenants"). */
  tenantId: z.string().nullable(),
  /** Whether it shows now (between its dates). */
  active: z.boolean(),
});
export type ApiBanner = z.infer<typeof apiBannerSchema>;

/** EE's per-service counts; Perch reports its own door (WEBSERVER) only. */
const serviceStatusSchema = z.object({ total: z.number().int(), inMaintenance: z.number().int() });

export const maintenanceStatusSchema = z.object({
  maintenance: z.boolean(),
  /** True once the instance is fully in maintenance (schedule triggers disabled); false while entering or leaving. */
  ready: z.boolean(),
  services: z.record(z.string(), serviceStatusSchema),
  // Perch additions.
  /** What Perch does with new executions meanwhile: refuse (503) or hold them for replay on exit. */
  onExecution: z.enum(['refuse', 'hold']),
  /** Execution requests waiting for the end of maintenance. */
  held: z.number().int(),
  /** Schedule triggers Perch disabled on entering (re-enabled on exit). */
  disabledTriggers: z.number().int(),
  since: z.string().nullable(),
  message: z.string().nullable(),
});
export type MaintenanceStatus = z.infer<typeof maintenanceStatusSchema>;

/** Optional body of `POST /api/v1/instance/maintenance/enter` (Perch addition): the notice shown to everyone. */
export const enterMaintenanceRequestSchema = z.object({ message: z.string().trim().min(1).max(2000).optional() }).nullish();

export const EVALUATION_TYPES = ['PASS', 'KILL', 'CANCEL', 'IGNORE'] as const;
export const evaluationTypeSchema = z.enum(EVALUATION_TYPES);

/** A kill switch as created or updated; Perch enforces KILL and CANCEL (PASS and IGNORE act on EE's executor queues, which OSS lacks). */
export const killSwitchRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    tenantId: z.string().min(1).max(64).nullish(),
    namespace: z.string().trim().min(1).max(400).nullish(),
    flowId: z.string().trim().min(1).max(200).nullish(),
    executionIds: z.array(z.string().min(1).max(200)).max(1000).nullish(),
    startDate: instant,
    endDate: instant.nullish(),
    description: z.string().max(2000).nullish(),
    evaluationType: evaluationTypeSchema.refine((t) => t === 'KILL' || t === 'CANCEL', 'Perch enforces KILL and CANCEL kill switches only'),
    enabled: z.boolean().default(true),
  })
  .refine((k) => !k.flowId || k.namespace, { path: ['namespace'], message: 'is required with flowId' })
  .refine((k) => !k.endDate || Date.parse(k.startDate) < Date.parse(k.endDate), { path: ['endDate'], message: 'must be after startDate' });
export type KillSwitchRequest = z.infer<typeof killSwitchRequestSchema>;

/** As EE serializes it: fields without a value are left out (the spec declares none of them nullable). */
export const apiKillSwitchSchema = z.object({
  id: z.string(),
  name: z.string(),
  tenantId: z.string().optional(),
  namespace: z.string().optional(),
  flowId: z.string().optional(),
  executionIds: z.array(z.string()),
  startDate: z.string(),
  endDate: z.string().optional(),
  description: z.string().optional(),
  evaluationType: evaluationTypeSchema,
  enabled: z.boolean(),
  deleted: z.boolean(),
});
export type ApiKillSwitch = z.infer<typeof apiKillSwitchSchema>;
