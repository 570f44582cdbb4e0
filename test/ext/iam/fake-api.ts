import { vi } from 'vitest';
import { apiMeWithPermissionsSchema } from '../../../lib/schemas/users';
import type { Me } from '../../../components/app/session';
import type { Permissions } from '../../../lib/authz/catalogue';

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
}

type Handler = (call: Call, params: Record<string, string>) => Reply | Promise<Reply>;

/**
 * `fetch` at the boundary: routes are `METHOD /path/:param`; every request is recorded; a request
 * no route answers gets a 404 with a JSON message (so a test sees which call it did not expect).
 */
export function fakeApi(routes: Record<string, Handler>): { calls: Call[]; callsTo: (method: string, path: string) => Call[] } {
  const calls: Call[] = [];
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const names: string[] = [];
    const regex = new RegExp(`^${pattern.replace(/:([a-zA-Z]+)/g, (_, name: string) => (names.push(name), '([^/]+)'))}$`);
    return { method, regex, names, handler };
  });
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const text = request.method === 'GET' ? '' : await request.text();
    const call: Call = { method: request.method, path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : undefined };
    calls.push(call);
    for (const route of table) {
      const match = route.method === request.method ? route.regex.exec(url.pathname) : null;
      if (!match) continue;
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
      const reply = await route.handler(call, params);
      const status = reply.status ?? 200;
      return new Response(status === 204 ? null : JSON.stringify(reply.body ?? {}), { status, headers: { 'content-type': 'application/json' } });
    }
    return new Response(JSON.stringify({ message: `no fake route for ${request.method} ${url.pathname}` }), { status: 404, headers: { 'content-type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, callsTo: (method, path) => calls.filter((c) => c.method === method && c.path === path) };
}

/** A signed-in person, checked against the schema of GET /api/v1/me. */
export function person({ superAdmin = false, tenantWide = {} }: { superAdmin?: boolean; tenantWide?: Permissions } = {}): Me {
  return apiMeWithPermissionsSchema.parse({
    id: 'u-me',
    superAdmin,
    instanceOwner: superAdmin,
    restricted: false,
    profile: { email: 'me@acme.io', firstName: 'Me', lastName: null, username: 'me@acme.io' },
    auths: [],
    tenants: [{ id: 'main', name: 'main', logo: null }],
    permissions: { tenantWide, namespaces: {} },
  });
}

export const page = <T>(results: T[]) => ({ results, total: results.length });
