import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { KESTRA_LOGIN_FLAG } from '../auth/cookies.js';
import type { PerchContext } from '../context.js';
import { sendError } from '../http/errors.js';
import { forwardableHeaders } from './canonical-request.js';

/** Headers Perch sets itself toward Kestra: whatever the client sent under these names is dropped. */
const OWNED_REQUEST_HEADERS = ['host', 'cookie', 'authorization', 'content-length', 'via'];
/** Kestra's answers must not ask the browser for credentials nor plant Kestra cookies. */
const DROPPED_RESPONSE_HEADERS = ['www-authenticate', 'set-cookie'];

const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * The reverse proxy for Kestra's API and UI: streams both ways, swaps the caller's identity for
 * Perch's Kestra account, forwards exactly the target the gate checked.
 */
export async function registerKestraProxy(app: FastifyInstance, ctx: PerchContext): Promise<void> {
  const { url, username, password, timeout } = ctx.config.kestra;
  const kestraAuthorization = username && password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
  const kestraOrigin = new URL(url).origin;
  const kestraHost = new URL(url).host;

  await app.register(replyFrom, {
    base: kestraOrigin,
    retryMethods: [],
    disableRequestLogging: true,
    // Streams (SSE follow, downloads) may stay quiet for long: only the wait for headers is bounded.
    undici: { connections: 128, pipelining: 1, headersTimeout: timeout, bodyTimeout: 0, keepAliveTimeout: 30_000 },
  });

  const rewriteRequestHeaders = (request: FastifyRequest, _headers: IncomingHttpHeaders) => {
    const headers: Record<string, string> = forwardableHeaders(request.raw.rawHeaders, { owned: OWNED_REQUEST_HEADERS });
    headers.host = kestraHost;
    const length = request.headers['content-length'];
    if (length !== undefined) headers['content-length'] = length;
    if (kestraAuthorization) headers.authorization = kestraAuthorization;
    return headers;
  };

  const rewriteHeaders = (headers: IncomingHttpHeaders, request: FastifyRequest) => {
    const out: IncomingHttpHeaders = { ...headers };
    for (const name of DROPPED_RESPONSE_HEADERS) delete out[name];
    // Keep the stock UI convinced it is signed in if the flag cookie went missing.
    if (request.canonical.path.startsWith('/ui') && request.cookies[KESTRA_LOGIN_FLAG] !== 'true') {
      const secure = ctx.cookies.secure ? '; Secure' : '';
      out['set-cookie'] = [`${KESTRA_LOGIN_FLAG}=true; Path=/; SameSite=Lax${secure}`];
    }
    return out;
  };

  const onError = (reply: FastifyReply, { error }: { error: Error & { code?: string; statusCode?: number } }) => {
    if (reply.sent) return;
    reply.removeHeader('content-length');
    if (error.statusCode === 504 || error.code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT') {
      return sendError(reply, 504, `Kestra did not answer within ${timeout} ms`);
    }
    const cause = (error.cause as { code?: string } | undefined)?.code ?? error.code ?? error.message;
    return sendError(reply, 502, `Kestra is unreachable at ${kestraOrigin} (${cause})`);
  };

  const onResponse = (request: FastifyRequest, reply: FastifyReply, res: { statusCode: number; stream: NodeJS.ReadableStream & { destroy(): void } }) => {
    if (res.statusCode === 401) {
      // The person is signed in at Perch, so a 401 means Kestra refused Perch's own account.
      res.stream.destroy();
      reply.removeHeader('content-length');
      request.log.error('Kestra refused the credentials Perch is configured with (PERCH_KESTRA_USERNAME / PERCH_KESTRA_PASSWORD)');
      return sendError(reply, 502, "Kestra refused Perch's credentials: check PERCH_KESTRA_USERNAME and PERCH_KESTRA_PASSWORD");
    }
    return reply.send(res.stream);
  };

  await app.register(async (scope) => {
    // Bodies stream through untouched: no parser reads them.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      const principal = request.principal!;
      // Logging out or disabling the user cuts this response, SSE streams included.
      const untrack = ctx.sessions.trackStream(principal.sessionHash, () => reply.raw.destroy());
      reply.raw.once('close', untrack);
      const { path, query } = request.canonical;
      return reply.from(path, {
        queryString: () => query,
        // reply-from types these for HTTP/2 too; Perch serves HTTP/1.1 only.
        rewriteRequestHeaders: rewriteRequestHeaders as never,
        rewriteHeaders: rewriteHeaders as never,
        onError: onError as never,
        onResponse: onResponse as never,
      });
    };
    for (const url of ['/api/v1/*', '/ui', '/ui/*']) scope.route({ method: [...PROXIED_METHODS], url, handler });
  });

  app.get('/', (_request, reply) => reply.redirect('/ui/', 302));
}
