import type { Principal } from '../auth/sessions.js';

/**
 * Who may reach a route: anyone, any signed-in person, or instance owners only. `optional`: the
 * session is read when there is one and the route decides (the Kestra API, whose webhooks are public).
 */
export type Access = 'public' | 'optional' | 'user' | 'instanceOwner';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The request target exactly as checked by the canonical-form gate. */
    canonical: { path: string; query: string };
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}
