/**
 * Plugin endpoints as Kestra 2.0 serves them (PluginEndpointController, docs/compatibility.md): a plugin's own HTTP
 * endpoint behind its editor widgets, `…/{tenant}/plugins/{group}/endpoints/{name}`. Kestra finds the plugin by
 * group (else 404 "No plugin found for group '<group>'."), the endpoint by name (else 404 "No endpoint '<name>' in
 * plugin '<group>'."), hands it the query parameters and the raw body, and serves what it answers: JSON as is,
 * anything else as an attachment, always with `nosniff`.
 *
 * The double has no plugin registry: the endpoints it knows come from its `pluginEndpoints` option (group → names),
 * and each one answers, as JSON, what it was given (a test plugin, not a Kestra one).
 */
import { type Ctx, type Route, notFound, sendText } from './http.js';

function dispatch(ctx: Ctx, p: Record<string, string>): void {
  const group = p.group ?? '';
  const name = p.name ?? '';
  const names = ctx.rt.pluginEndpoints.get(group);
  if (!names) throw notFound(`No plugin found for group '${group}'.`);
  if (!names.has(name)) throw notFound(`No endpoint '${name}' in plugin '${group}'.`);
  const answer = {
    group,
    name,
    method: ctx.method,
    parameters: Object.fromEntries([...new Set(ctx.query.keys())].map((key) => [key, ctx.query.getAll(key)])),
    body: ctx.body.toString('utf8'),
  };
  sendText(ctx, 200, JSON.stringify(answer), 'application/json', { 'X-Content-Type-Options': 'nosniff' });
}

export const pluginEndpointRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/:tenant/plugins/:group/endpoints/:name', handler: dispatch },
  { method: 'POST', path: '/api/v1/:tenant/plugins/:group/endpoints/:name', handler: dispatch },
];
