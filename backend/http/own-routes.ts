import FindMyWay from 'find-my-way';
import type { FastifyInstance } from 'fastify';

/** Fastify's router options for Perch: Perch answers 400 itself for anything non-canonical, so the router must not second-guess it. */
export const ROUTER_OPTIONS = { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, caseSensitive: true, maxParamLength: 500 } as const;

/**
 * Perch's own routes as Fastify's router sees them (the same router library and options), less the
 * routes marked `kestraProxy`: tells whether one of Perch's handlers serves a request, so that the
 * proxy's fast lane, which runs before Fastify routes, leaves every such request to Fastify.
 */
export class OwnRoutes {
  private readonly router = FindMyWay(ROUTER_OPTIONS);

  /** Mirrors every route registered from now on; call before any route is added. */
  install(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      if (route.config?.kestraProxy) return;
      for (const method of [route.method].flat().map((m) => m.toUpperCase() as FindMyWay.HTTPMethod)) {
        // Fastify also adds a HEAD route for each GET one; a route may be declared twice for HEAD.
        if (this.router.hasRoute(method, route.url)) continue;
        this.router.on(method, route.url, () => {});
      }
    });
  }

  /** True when a Perch route (not the proxy) would serve `method path` (`path` without its query). */
  serves(method: string, path: string): boolean {
    if (this.router.find(method as FindMyWay.HTTPMethod, path)) return true;
    // Fastify answers HEAD from a GET route when no HEAD route is declared.
    return method === 'HEAD' && this.router.find('GET', path) !== null;
  }
}
