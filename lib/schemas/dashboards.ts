import { z } from 'zod';

/**
 * A Kestra dashboard's source, as far as Perch checks its shape (Kestra's Dashboard and Chart models,
 * docs/compatibility.md): `id` and `title` required, `charts` each with an `id` and a plugin `type`.
 * A chart's own properties (`chartOptions`, `data`, `content`…) depend on its type and are Kestra's to check.
 */
const CHART_ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;
/** A Java class name, dotted (Kestra's JAVA_IDENTIFIER_REGEX, roughly). */
const PLUGIN_TYPE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)+$/;

export const dashboardChartSchema = z.looseObject({
  id: z.string().regex(CHART_ID, 'must start with a letter or digit and hold only letters, digits, "_" and "-"'),
  type: z.string().regex(PLUGIN_TYPE, 'must be a chart plugin type (a dotted class name)'),
  chartOptions: z.record(z.string(), z.unknown()).optional(),
  data: z.looseObject({ type: z.string().regex(PLUGIN_TYPE, 'must be a data plugin type (a dotted class name)') }).optional(),
});

export const dashboardSourceSchema = z.strictObject({
  id: z.string().trim().min(1, 'is required').max(100),
  title: z.string().trim().min(1, 'is required').max(400),
  description: z.string().max(4000).optional(),
  timeWindow: z.strictObject({ default: z.string().optional(), max: z.string().optional() }).optional(),
  charts: z.array(dashboardChartSchema).max(100).optional(),
});
export type DashboardSource = z.infer<typeof dashboardSourceSchema>;
