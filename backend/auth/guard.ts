import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PerchContext } from '../context.js';
import { sendError } from '../http/errors.js';
import { deniedReason } from '../metrics/perch-metrics.js';
import { ALLOWED_METHODS, canonicalizeRequest } from '../proxy/canonical-request.js';
import { machineAccess } from '../tokens/machine-access.js';
import { readSessionToken } from './cookies.js';
import '../http/fastify-types.js';
import { sendFirstRunPage, wantsHtml } from '../ui/status-pages.js';

/** Served before the first administrator exists: probes and scrapes must work on a fresh install. */
const HEALTH_PATHS = new Set(['/perch/health', '/perch/health/live', '/perch/health/ready', '/perch/metrics']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin a same-site browser request must carry. */
export function expectedOrigin(ctx: PerchContext, request: FastifyRequest): string {
  if (ctx.config.publicUrl) return new URL(ctx.config.publicUrl).origin;
  return `${ctx.cookies.secure ? 'https' : 'http'}://${request.headers.host ?? ''}`;
}

/**
 * Cross-site request forgery check for cookie-authenticated writes (ASVS 3.5): the browser's
 * Origin must be Perch's own; without Origin, Sec-Fetch-Site must say same-origin.
 */
export function csrfProblem(ctx: PerchContext, request: FastifyRequest): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    return origin === expectedOrigin(ctx, request) ? null : `Cross-site request refused: Origin ${origin} is not this Perch`;
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' ? null : `Cross-site request refused: Sec-Fetch-Site is ${site}`;
  return 'Cross-site request refused: a browser write must carry an Origin header';
}

/**
 * For the routes open to scripts (sign-in, password reset, invitation acceptance): a request that
 * carries a browser's marks (Origin or Sec-Fetch-Site) must come from this Perch; one with neither
 * is a script, which no other site can make a browser send.
 */
export function crossSiteBrowserProblem(ctx: PerchContext, request: FastifyRequest): string | null {
  if (request.headers.origin === undefined && request.headers['sec-fetch-site'] === undefined) return null;
  return csrfProblem(ctx, request);
}

function wantsPage(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.canonical.path;
  return (path === '/' || path === '/ui' || path.startsWith('/ui/')) && !path.startsWith('/ui/assets/');
}

export function loginRedirect(request: FastifyRequest): string {
  const from = request.canonical.path + (request.canonical.query ? `?${request.canonical.query}` : '');
  return `/perch/login?from=${encodeURIComponent(from)}`;
}

/**
 * Runs first on every request: one canonical form, then the first-admin gate, then who is
 * calling and whether the route lets them in. Anything not declared public needs a session.
 */
export function installGuard(app: FastifyInstance, ctx: PerchContext): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('canonical', null as unknown as FastifyRequest['canonical']);
  app.decorateRequest('kestraCall', null);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const checked = canonicalizeRequest({ method: request.raw.method ?? '', url: request.raw.url ?? '', rawHeaders: request.raw.rawHeaders });
    if (!checked.ok) {
      // RFC 9110 §15.5.6: a 405 names the methods the server does accept.
      if (checked.status === 405) reply.header('allow', ALLOWED_METHODS.join(', '));
      ctx.metrics.denied(deniedReason(checked.status));
      return sendError(reply, checked.status, checked.message);
    }
    request.canonical = { path: checked.path, query: checked.query };

    const access = request.routeOptions.config?.access ?? 'user';
    if (!ctx.firstAdmin.known && !(await ctx.firstAdmin.isReady()) && !HEALTH_PATHS.has(checked.path)) {
      if (wantsHtml(request)) return sendFirstRunPage(reply, ctx.config, ctx.store.description);
      return sendError(reply, 503, 'Perch has no administrator yet: run `perch admin create --email … --password …` on the server');
    }
    if (access === 'public') return;

    // An Authorization header (API token, or Basic when enabled) is tried before the cookie and,
    // when it fails, the request fails: no falling back to a session.
    // (No Authorization header, the common browser case: nothing to await.)
    const byHeader = request.headers.authorization === undefined ? null : await machineAccess(ctx).authenticate(request);
    if (byHeader && !byHeader.ok) {
      if (byHeader.retryAfterSeconds) reply.header('retry-after', String(byHeader.retryAfterSeconds));
      ctx.metrics.denied(deniedReason(byHeader.status));
      return sendError(reply, byHeader.status, byHeader.message);
    }
    const principal = byHeader ? byHeader.principal : await ctx.sessions.resolve(readSessionToken(request, ctx.cookies));
    if (!principal && access === 'optional') return;
    if (!principal) {
      ctx.metrics.denied('unauthenticated');
      if (wantsPage(request)) return reply.redirect(loginRedirect(request), 302);
      return sendError(reply, 401, 'Sign in to Perch first');
    }
    // Set before the checks below so the audit log can name whom it refused.
    request.principal = principal;
    // Browsers cannot be made to send an Authorization header cross-site: CSRF is a cookie matter.
    const csrf = byHeader ? null : csrfProblem(ctx, request);
    if (csrf) {
      ctx.metrics.denied('csrf');
      return sendError(reply, 403, csrf);
    }
    if (access === 'instanceOwner' && !principal.superAdmin) {
      ctx.metrics.denied('forbidden');
      return sendError(reply, 403, 'Only an instance owner may do this');
    }
  });
}
