import { z } from 'zod';

/**
 * What Perch's screens need from its configuration (GET /perch/api/ui-config): EE's `/api/v1/configs`
 * fields for banners, maintenance and custom links, under the same names.
 */
export const bannerTypeSchema = z.enum(['INFO', 'WARNING', 'ERROR']);

export const bannerSchema = z.object({
  id: z.string(),
  message: z.string().min(1),
  type: bannerTypeSchema.default('INFO'),
  startDate: z.string().nullable().default(null),
  endDate: z.string().nullable().default(null),
});
export type Banner = z.infer<typeof bannerSchema>;

export const customLinkSchema = z.object({ title: z.string().min(1), url: z.string().url() });

export const perchUiConfigSchema = z.object({
  /** The announcements active now (EE shows one; Perch shows each). */
  banners: z.array(bannerSchema),
  inMaintenance: z.boolean(),
  maintenanceMessage: z.string().nullable(),
  rightSidebar: z.object({ customLinks: z.record(z.string(), customLinkSchema) }),
  /** The tenants this person may enter: what the tenant switcher lists. */
  tenants: z.array(z.object({ id: z.string(), name: z.string() })),
});
export type PerchUiConfig = z.infer<typeof perchUiConfigSchema>;
