import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RESOURCES, type Action, type Permissions, type Resource } from '../../lib/authz/catalogue.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { forbidden, HttpError, notFound, validationError } from '../http/errors.js';

/** Any signed-in person reaches IAM routes; each handler then asks the decision index. */
export const signedIn = { config: { access: 'user' as const } };

export function parse<T extends z.ZodType>(schema: T, value: unknown, fallback: unknown = {}): z.infer<T> {
  const result = schema.safeParse(value ?? fallback);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** Only the default tenant exists: any other `{tenant}` is a 404. */
export function tenantOf(request: FastifyRequest): string {
  const tenant = (request.params as { tenant: string }).tenant;
  if (tenant !== DEFAULT_TENANT) throw notFound(`Tenant ${tenant} not found`);
  return tenant;
}

export function principalOf(request: FastifyRequest): Principal {
  return request.principal!;
}

/** Instance owners may manage IAM in every tenant without a binding (behaviour spec §2.6). */
export function may(ctx: PerchContext, principal: Principal, tenant: string, resource: Resource, action: Action): boolean {
  return principal.superAdmin || ctx.authz.allows(tenant, principal.userId, resource, action, null);
}

export function requirePermission(ctx: PerchContext, request: FastifyRequest, tenant: string, resource: Resource, action: Action): Principal {
  const principal = principalOf(request);
  if (!may(ctx, principal, tenant, resource, action)) {
    throw forbidden(`Permission ${resource}:${action} on tenant ${tenant} is required to do this`);
  }
  return principal;
}

/** `FLOW: CREATE, DELETE; ROLE: UPDATE` */
export function describePermissions(p: Permissions): string {
  return RESOURCES.filter((r) => p[r]?.length).map((r) => `${r}: ${p[r]!.join(', ')}`).join('; ');
}

/**
 * Anti-escalation: nobody hands out what they do not hold themselves, at the scope it is handed
 * out (a namespace, or tenant-wide when null). Instance owners are exempt.
 */
export function requireHolds(
  ctx: PerchContext, principal: Principal, tenant: string, permissions: Permissions, namespace: string | null, what: string,
): void {
  if (principal.superAdmin) return;
  const { ok, missing } = ctx.authz.holdsAll(tenant, principal.userId, permissions, namespace);
  if (ok) return;
  const where = namespace === null ? 'tenant-wide' : `on namespace ${namespace}`;
  throw new HttpError(403, `You cannot ${what}: it grants permissions you do not hold ${where} (missing ${describePermissions(missing)})`, { missing });
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
