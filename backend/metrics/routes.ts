import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { recordAuthFailure } from '../audit/auth-failures.js';
import type { PerchContext } from '../context.js';
import { sha256Hex } from '../crypto/sha256.js';
import { sendError } from '../http/errors.js';
import { readAuthorization } from '../tokens/machine-access.js';

/**
 * `/perch/metrics`, Prometheus's text format, for one reader: whoever holds the metrics token
 * (`metrics.token`, PERCH_METRICS_TOKEN or PERCH_METRICS_TOKEN_FILE), sent as
 * `Authorization: Bearer <token>` (Prometheus's `authorization.credentials_file`). No token set: the
 * route refuses everyone (403). It is no session or API token: a scraper needs no Perch account, and
 * a person's session cannot read it. The metrics name no user, path or namespace, but traffic and
 * refusal counts are still for the operator's eyes only.
 */
export function registerMetricsRoutes(app: FastifyInstance, ctx: PerchContext): void {
  const token = ctx.config.metrics.token;
  // Compared as digests, in constant time: the comparison says nothing of how much of a guess was right.
  const expected = token === undefined ? null : Buffer.from(sha256Hex(token), 'hex');
  const holdsToken = (header: string | undefined): boolean => {
    if (expected === null || header === undefined) return false;
    const { scheme, value } = readAuthorization(header);
    return scheme === 'bearer' && timingSafeEqual(Buffer.from(sha256Hex(value), 'hex'), expected);
  };

  app.get('/perch/metrics', { config: { access: 'public' } }, async (request, reply) => {
    if (expected === null) return sendError(reply, 403, 'Metrics are off: set metrics.token (PERCH_METRICS_TOKEN) and scrape with Authorization: Bearer <token>');
    if (!holdsToken(request.headers.authorization)) {
      recordAuthFailure(ctx, request, { action: 'LOGIN_FAILURE', authMethod: 'token', reason: request.headers.authorization === undefined ? 'no metrics token' : 'wrong metrics token' });
      return sendError(reply.header('www-authenticate', 'Bearer realm="perch-metrics"'), 401, 'Send the metrics token: Authorization: Bearer <metrics.token>');
    }
    return reply.header('cache-control', 'no-store').type(ctx.metrics.contentType).send(await ctx.metrics.scrape());
  });
}
