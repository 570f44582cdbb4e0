/**
 * The tenant's secrets list, as Kestra OSS's SecretController answers it (docs/compatibility.md): OSS reads secrets
 * from the server's environment (`SECRET_<KEY>`), so the list is read-only and names keys only — never values.
 * The double's keys come from its `secrets` option.
 */
import { type Ctx, type Route, filterMatches, paginate, parseFilters, sendJson } from './http.js';

function listSecrets(ctx: Ctx): void {
  const filters = parseFilters(ctx.query);
  const keys = [...ctx.rt.secretKeys].sort().filter((key) => filters.every((f) => (f.field === 'q' || f.field === 'key' ? filterMatches({ ...f, operation: f.field === 'q' ? 'CONTAINS' : f.operation }, key) : true)));
  const page = paginate(keys, ctx.query);
  sendJson(ctx, 200, { readOnly: true, results: page.results.map((key) => ({ key })), total: page.total });
}

export const secretRoutes: Route[] = [{ method: 'GET', path: '/api/v1/:tenant/secrets', handler: listSecrets }];
