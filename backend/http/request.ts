import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { Principal } from '../auth/sessions.js';
import { HttpError, notFound, validationError } from './errors.js';
import { tenantRefusal } from './tenant-entry.js';

/** Reading Perch's own API requests: routes for any signed-in person, bodies and queries by schema, paging. */

/** Any signed-in person reaches the route; the handler then decides what they may do. */
export const signedIn = { config: { access: 'user' as const } };

/** Only instance owners reach the route (the guard answers 403 to anyone else). */
export const instanceOwnersOnly = { config: { access: 'instanceOwner' as const } };

/** `value` read by `schema` (`fallback` for no value), or a 422 naming what is wrong. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, fallback: unknown = {}): z.infer<T> {
  const result = schema.safeParse(value ?? fallback);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** The `{tenant}` a route names: 404 when no such tenant exists, 403 when the caller may not enter it. */
export function tenantOf(request: FastifyRequest): string {
  const tenant = (request.params as { tenant: string }).tenant;
  const directory = request.server.tenantDirectory as FastifyRequest['server']['tenantDirectory'] | undefined;
  if (!directory) {
    if (tenant !== DEFAULT_TENANT) throw notFound(`Tenant ${tenant} not found`);
    return tenant;
  }
  const refusal = tenantRefusal(directory, request.principal, tenant);
  if (refusal) throw new HttpError(refusal.status, refusal.message);
  return tenant;
}

/** Who is calling, on a route that needs a signed-in caller (the guard has checked). */
export function principalOf(request: FastifyRequest): Principal {
  return request.principal!;
}

/**
 * EE's page sizes: any int32 from 1 (the spec sets no maximum, and Kestra's PageableUtils none either);
 * a page holds at most what exists, so a large size costs what the data costs, no more.
 */
export const pageSizeSchema = z.coerce.number().int().min(1).max(2_147_483_647).default(10);

export const listQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: pageSizeSchema,
  sort: z.string().regex(/^[A-Za-z_.]+:(asc|desc)$/, 'sort must be field:asc|desc').optional(),
});

/** page, size, sort direction and free text (`q=` or Kestra's `filters[q][EQUALS]=`). */
export function listQuery(request: FastifyRequest): { page: number; size: number; q?: string; direction: 'asc' | 'desc' } {
  const raw = request.query as Record<string, unknown>;
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const query = parse(listQuerySchema, { page: first(raw.page), size: first(raw.size), sort: first(raw.sort) });
  let q: string | undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (/^filters\[(q|name|email|username)\]\[[A-Z_]+\]$/.test(key) && typeof value === 'string') q = value;
  }
  if (q === undefined && typeof raw.q === 'string') q = raw.q;
  if (q !== undefined && q.length > 200) throw new HttpError(422, 'Invalid request: q: at most 200 characters', { errors: [{ path: 'q', message: 'at most 200 characters' }] });
  return { page: query.page, size: query.size, q: q || undefined, direction: (query.sort?.split(':')[1] as 'asc' | 'desc' | undefined) ?? 'asc' };
}
