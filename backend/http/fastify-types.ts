import type { Principal } from '../auth/sessions.js';
import type { PolicyRow } from '../authz/policy-map.js';
import type { TenantDirectory } from '../context.js';

/** What the proxy let through to Kestra: the policy row and the namespaces it touched (for the audit log). */
export interface AuthorizedKestraCall {
  row: PolicyRow;
  namespaces: string[];
  /** Kestra's status code once it answered (for the audit log). */
  upstreamStatus?: number;
}

/**
 * Who may reach a route: anyone, any signed-in person, or instance owners only. `optional`: the
 * session is read when there is one and the route decides (the Kestra API, whose webhooks are public).
 */
export type Access = 'public' | 'optional' | 'user' | 'instanceOwner';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every tenant and who may enter it (tenants/tenant-directory.ts), for routes that name a tenant. */
    tenantDirectory: TenantDirectory;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** The request target exactly as checked by the canonical-form gate. */
    canonical: { path: string; query: string };
    /** Set by the proxy once a Kestra API call is authorized; null for Perch's own routes. */
    kestraCall: AuthorizedKestraCall | null;
    /** Set by the proxy when the call was for another tenant than main (its path now names main): that tenant. */
    routedTenant: string | null;
  }
  interface FastifyContextConfig {
    access?: Access;
    /** The route hands its request body on as a stream (the Kestra proxy): no body deadline. */
    streamsBody?: boolean;
    /** A route of the Kestra proxy, which the fast lane may serve before Fastify (see proxy/fast-lane.ts). */
    kestraProxy?: boolean;
  }
}
