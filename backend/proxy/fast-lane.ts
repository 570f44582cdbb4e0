import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/sessions.js';
import type { Verdict } from '../authz/kestra-authorizer.js';
import type { PerchContext } from '../context.js';
import { writeError } from '../http/errors.js';
import type { OwnRoutes } from '../http/own-routes.js';
import { logsEveryRequest } from '../http/request-log.js';
import { countAsFastLane } from '../metrics/request-metrics.js';
import { machineAccess, readAuthorization } from '../tokens/machine-access.js';
import { canonicalizeRequest } from './canonical-request.js';

/** What hands a request to Fastify: Fastify's own request listener. */
export type FastifyListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastLane {
  /** Takes a request on Node's request event, or hands it to Fastify. */
  take(req: IncomingMessage, res: ServerResponse, fastify: FastifyListener): void;
  /** Reads forwarded by the lane, and requests it examined then handed to Fastify after a check (not counted: the ones it did not look at). */
  readonly counts: { forwarded: number; handedOver: number };
}

export interface FastLaneParts {
  ctx: PerchContext;
  ownRoutes: OwnRoutes;
  /** The session token in a Cookie header (Fastify's own cookie parser). */
  sessionToken(cookieHeader: string): string | undefined;
  /** Whether the direct forwarder can carry this request (a read without a body). */
  eligible(req: IncomingMessage): boolean;
  authorize(req: IncomingMessage, path: string, query: string, principal: Principal): Promise<Verdict>;
  /** Forwards an authorized read, as the proxy route does. */
  forwardRead(req: IncomingMessage, res: ServerResponse, principal: Principal, path: string, query: string): void;
  /** True once Perch is shutting down: Fastify answers 503 then. */
  closing(): boolean;
}

/** Who is calling: a session cookie's token, or an API token. */
type Credential = { session: string } | { apiToken: string };

/**
 * The proxy's fast lane: a signed-in Kestra read (session cookie or API token) that needs nothing but
 * a yes is forwarded from Node's request event, before Fastify builds a request, a reply and their
 * hooks for it (about a quarter of the CPU a proxied read costs; docs/benchmarks.md). The lane runs
 * the same checks as the proxy route (canonical form, credentials, authorization) and only ever says
 * yes: whenever a check would refuse, redirect, narrow, rewrite or filter, or cannot tell, it hands
 * the untouched request to Fastify, which checks it again from the start and answers. Refusals and
 * errors keep one path.
 *
 * Left to Fastify: anything but GET/HEAD on /api/v1/, requests with a body, Authorization schemes
 * other than Bearer (Basic), routes Perch serves itself, no first administrator yet, shutdown, and
 * debug logging (Fastify writes the request log lines).
 */
export function createFastLane(parts: FastLaneParts): FastLane {
  const { ctx } = parts;
  const requestLogs = logsEveryRequest(ctx.config.logLevel);
  const counts = { forwarded: 0, handedOver: 0 };
  const tokenPrincipal = async (token: string) => {
    const found = await machineAccess(ctx).bearer(token);
    return found.ok ? found.principal : null;
  };
  /** As the guard reads it: an Authorization header first (Bearer only here), else the session cookie. */
  const credentialOf = (req: IncomingMessage): Credential | null => {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const { scheme, value } = readAuthorization(authorization);
      return scheme === 'bearer' ? { apiToken: value } : null;
    }
    const cookie = req.headers.cookie;
    const session = cookie === undefined ? undefined : parts.sessionToken(cookie);
    return session ? { session } : null;
  };
  const handOver = (req: IncomingMessage, res: ServerResponse, fastify: FastifyListener) => {
    counts.handedOver++;
    fastify(req, res);
  };

  /** Resolves true once the call was forwarded, false when Fastify must have it. */
  const decide = async (req: IncomingMessage, res: ServerResponse, credential: Credential, path: string, query: string): Promise<boolean> => {
    // A session its cached copy decides at once needs no promise; any other goes through resolve.
    const principal = 'session' in credential ? (ctx.sessions.cachedPrincipal(credential.session) ?? (await ctx.sessions.resolve(credential.session))) : await tokenPrincipal(credential.apiToken);
    if (!principal) return false;
    const verdict = await parts.authorize(req, path, query, principal);
    if (!verdict.ok || verdict.body !== undefined || verdict.responseFilter || verdict.answer !== undefined) return false;
    counts.forwarded++;
    ctx.metrics.verdict(verdict);
    countAsFastLane(res);
    try {
      parts.forwardRead(req, res, principal, path, verdict.query ?? query);
    } catch (error) {
      ctx.log.error({ reqId: req.requestId, err: error }, 'request failed');
      if (res.headersSent) res.destroy();
      else writeError(res, 500, 'Perch could not complete this request; see its log for the cause');
    }
    return true;
  };

  /** What the lane would do with a request, from what it can tell at once: not look at it, hand it over, or decide. */
  const examine = (req: IncomingMessage): 'fastify' | 'handOver' | { credential: Credential; path: string; query: string } => {
    const url = req.url ?? '';
    if (requestLogs || !url.startsWith('/api/v1/') || !parts.eligible(req) || !ctx.firstAdmin.known || parts.closing()) return 'fastify';
    const credential = credentialOf(req);
    if (!credential) return 'fastify';
    const checked = canonicalizeRequest({ method: req.method ?? '', url, rawHeaders: req.rawHeaders });
    if (!checked.ok || parts.ownRoutes.serves(req.method!, checked.path)) return 'handOver';
    return { credential, path: checked.path, query: checked.query };
  };

  return {
    counts,
    take(req, res, fastify) {
      let plan: ReturnType<typeof examine>;
      try {
        plan = examine(req);
      } catch (error) {
        // Fastify has the request from the start: this runs on the server's request event, where
        // nothing above would catch the error.
        ctx.log.error({ reqId: req.requestId, err: error }, 'the fast lane could not examine a request');
        plan = 'handOver';
      }
      if (plan === 'fastify') return fastify(req, res);
      if (plan === 'handOver') return handOver(req, res, fastify);
      decide(req, res, plan.credential, plan.path, plan.query).then(
        (forwarded) => forwarded || handOver(req, res, fastify),
        // A failure (the store, say) is Fastify's to answer: it meets it again and answers 500.
        () => handOver(req, res, fastify),
      );
    },
  };
}
