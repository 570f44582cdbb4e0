import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { KESTRA_LOGIN_FLAG } from '../auth/cookies.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { sendError, writeError } from '../http/errors.js';
import type { OwnRoutes } from '../http/own-routes.js';
import { ExecutionNamespaceLookup } from '../authz/execution-lookup.js';
import { KestraAuthorizer, MAX_INSPECTED_BODY, type ResponseFilter } from '../authz/kestra-authorizer.js';
import { KestraHosts } from '../authz/kestra-hosts.js';
import { isMultipart } from '../authz/multipart-form.js';
import { filterByNamespace } from '../authz/response-filter.js';
import { fillPage } from '../authz/page-fill.js';
import { Pool } from 'undici';
import { forwardableHeaders } from './canonical-request.js';
import { createFastLane, type FastLane } from './fast-lane.js';
import { createDirectForwarder, type ForwardFailure } from './forward.js';
import { auditKestraCalls } from '../audit/http-hook.js';
import { kestraCallEntry } from './audit-entry.js';
import { captureStatesBefore, sendTeedAnswer, wantsAnswerState } from './resource-states.js';
import { guardUiPageFraming, isUiPage, sendWithScreens } from '../ui/ui-pages.js';
import { sendKestraUnavailablePage } from '../ui/status-pages.js';

/** Headers Perch sets itself toward Kestra: whatever the client sent under these names is dropped. */
const OWNED_REQUEST_HEADERS = ['host', 'cookie', 'authorization', 'content-length', 'via'];
/** Kestra's answers must not ask the browser for credentials nor plant Kestra cookies. */
const DROPPED_RESPONSE_HEADERS = ['www-authenticate', 'set-cookie'];

const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Kestra's answer as reply-from hands it to `onResponse`. */
type UpstreamAnswer = { statusCode: number; headers: Record<string, unknown>; stream: NodeJS.ReadableStream & { destroy(): void } };

const CREDENTIALS_REFUSED = 'Kestra refused the credentials Perch is configured with (PERCH_KESTRA_USERNAME / PERCH_KESTRA_PASSWORD)';

/**
 * The reverse proxy for Kestra's API and UI: streams both ways, swaps the caller's identity for
 * Perch's Kestra account, forwards exactly the target the gate checked. Returns the fast lane for
 * the HTTP server's request event (fast-lane.ts).
 */
export async function registerKestraProxy(
  app: FastifyInstance,
  ctx: PerchContext,
  options: { injectScreens?: boolean; ownRoutes: OwnRoutes },
): Promise<FastLane> {
  const injectScreens = options.injectScreens === true;
  auditKestraCalls(kestraCallEntry);
  const { url, username, password, timeout } = ctx.config.kestra;
  const kestraAuthorization = username && password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
  const kestraOrigin = new URL(url).origin;
  const kestraHost = new URL(url).host;

  await app.register(replyFrom, {
    base: kestraOrigin,
    retryMethods: [],
    disableRequestLogging: true,
    // Streams (SSE follow, downloads) may stay quiet for long: only the wait for headers is bounded.
    // No cap on connections: an upload that trickles in holds its connection until it ends, and a
    // capped pool full of them would queue every other write forever (see forward.ts).
    undici: { connections: null, pipelining: 1, headersTimeout: timeout, bodyTimeout: 0, keepAliveTimeout: 30_000 },
  });

  const rewriteRequestHeaders = (request: FastifyRequest, prepared: IncomingHttpHeaders) => {
    const headers: Record<string, string> = forwardableHeaders(request.raw.rawHeaders, { owned: OWNED_REQUEST_HEADERS });
    headers.host = kestraHost;
    // reply-from sets the length of a body Perch rewrote (narrowed filters); otherwise it is the client's.
    const length = prepared['content-length'] === undefined ? undefined : String(prepared['content-length']);
    if (length !== undefined) headers['content-length'] = length;
    // UI pages come back uncompressed and whole, so Perch can add its screens' script tag.
    if (injectScreens && isUiPage(request)) {
      delete headers['accept-encoding'];
      delete headers['if-none-match'];
      delete headers['if-modified-since'];
    }
    // Anonymous calls (webhooks, which Kestra authenticates by their key) go without Perch's account.
    if (kestraAuthorization && request.principal) headers.authorization = kestraAuthorization;
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

  /** Perch's answer when Kestra gave none: unreachable (502), too slow (504), refusing Perch's account (401 → 502). */
  const failureAnswer = (failure: ForwardFailure): { status: number; message: string } => {
    if (failure.statusCode === 401) return { status: 502, message: "Kestra refused Perch's credentials: check PERCH_KESTRA_USERNAME and PERCH_KESTRA_PASSWORD" };
    if (failure.statusCode === 504 || failure.code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT') return { status: 504, message: `Kestra did not answer within ${timeout} ms` };
    const cause = (failure.cause as { code?: string } | undefined)?.code ?? failure.code ?? failure.message;
    return { status: 502, message: `Kestra is unreachable at ${kestraOrigin} (${cause})` };
  };

  /** A UI page gets a page of Perch's saying what is wrong; an API call gets the JSON error. */
  const answerFailure = (request: FastifyRequest, reply: FastifyReply, status: number, message: string) =>
    isUiPage(request) ? sendKestraUnavailablePage(reply, status, message, url) : sendError(reply, status, message);

  const onError = (reply: FastifyReply, { error }: { error: Error & { code?: string; statusCode?: number } }) => {
    if (reply.sent) return;
    reply.removeHeader('content-length');
    const { status, message } = failureAnswer(error);
    return answerFailure(reply.request, reply, status, message);
  };

  /**
   * reply-from calls onResponse and drops what it returns: an answer read whole (a UI page, a filtered
   * list, a write's answer kept for the audit log) that Kestra breaks off would be a rejected promise
   * nobody handles (Node ends the process) and a caller left waiting. It becomes a 502, or a cut
   * connection once the answer started.
   */
  const settled =
    (respond: (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer) => unknown) =>
    (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer) => {
      const pending = respond(request, reply, res);
      if (pending instanceof Promise) {
        pending.catch((error: unknown) => {
          res.stream.destroy();
          request.log.warn({ err: error }, 'Kestra’s answer broke off');
          if (reply.sent || reply.raw.headersSent) return void reply.raw.destroy();
          reply.removeHeader('content-length');
          const cause = (error as { code?: string }).code ?? (error as Error).message;
          sendError(reply, 502, `Kestra’s answer broke off (${cause})`);
        });
      }
      return pending;
    };

  const onResponse = (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer) => {
    if (request.kestraCall) request.kestraCall.upstreamStatus = res.statusCode;
    if (res.statusCode === 401) {
      // The person is signed in at Perch, so a 401 means Kestra refused Perch's own account.
      res.stream.destroy();
      reply.removeHeader('content-length');
      request.log.error(CREDENTIALS_REFUSED);
      const { status, message } = failureAnswer({ statusCode: 401, message: 'Kestra answered 401' });
      return answerFailure(request, reply, status, message);
    }
    // A flow or trigger changed: its state after, in Kestra's answer, goes to the audit log (issue 6).
    if (wantsAnswerState(request, res.statusCode, res.headers['content-type'])) return sendTeedAnswer(request, reply, res.stream);
    if (isUiPage(request) && res.statusCode >= 500) {
      // Kestra itself could not serve the page (starting, failing, or a gateway before it).
      res.stream.destroy();
      reply.removeHeader('content-length');
      return answerFailure(request, reply, 502, `Kestra answered ${res.statusCode} for this page`);
    }
    if (isUiPage(request)) {
      guardUiPageFraming(reply, res.headers);
      if (injectScreens) return sendWithScreens(reply, res);
    }
    return reply.send(res.stream);
  };

  // Kestra reads with nothing to rewrite skip reply-from: one undici dispatch, streamed (forward.ts).
  const direct = createDirectForwarder({
    origin: kestraOrigin,
    host: kestraHost,
    authorization: kestraAuthorization,
    headersTimeout: timeout,
    ownedRequestHeaders: OWNED_REQUEST_HEADERS,
    onFailure: (res, failure, log) => {
      if (failure.statusCode === 401) log.error(CREDENTIALS_REFUSED);
      const { status, message } = failureAnswer(failure);
      writeError(res, status, message);
    },
  });

  /** Logging out, disabling the user or the end of a token cuts this response, SSE streams included. */
  const endWithCredentials = (principal: Principal | null, res: ServerResponse) => {
    if (!principal) return;
    const untrack = ctx.sessions.trackStream(principal.sessionHash, () => res.destroy(), principal.expiresAt);
    res.once('close', untrack);
  };

  const executions = new ExecutionNamespaceLookup(url, kestraAuthorization, timeout);
  const authorizer = new KestraAuthorizer(ctx.authz, executions, KestraHosts.of([url, ...ctx.config.kestra.internalHosts]));
  // Perch's own reads from Kestra (paging lists for people who see several namespace roots).
  const kestraReads = new Pool(kestraOrigin, { connections: 8, headersTimeout: timeout, bodyTimeout: timeout });
  const kestraReadHeaders: Record<string, string> = { accept: 'application/json', ...(kestraAuthorization ? { authorization: kestraAuthorization } : {}) };
  app.addHook('onClose', async () => {
    await executions.close();
    await kestraReads.close();
    await direct.close();
  });

  /** Answers with the JSON Kestra sent, less the items outside the caller's reach. */
  const filteringResponse = (filter: ResponseFilter) => async (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer) => {
    if (request.kestraCall) request.kestraCall.upstreamStatus = res.statusCode;
    if (res.statusCode === 401) return onResponse(request, reply, res);
    if (res.statusCode !== 200 || !/json/i.test(String(res.headers['content-type'] ?? ''))) return reply.send(res.stream);
    const chunks: Buffer[] = [];
    for await (const chunk of res.stream) chunks.push(chunk as Buffer);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return sendError(reply, 502, 'Kestra sent a list Perch could not read, so it is not shown');
    }
    const { value, dropped } = filterByNamespace(json, filter.where, filter.visible);
    const page = value as { results?: unknown[]; total?: unknown };
    // Never let a total count what the caller may not see.
    if (typeof page?.total === 'number' && Array.isArray(page.results) && (!filter.exact || dropped > 0)) {
      page.total = filter.exact ? Math.max(0, page.total - dropped) : page.results.length;
    }
    reply.removeHeader('content-length');
    return reply.type('application/json').send(JSON.stringify(value));
  };

  /**
   * Reads the streamed request body whole, for the few calls whose namespaces live in it. One too
   * large is answered 413 and its connection closed: the rest of it is never read, so that
   * connection could carry no other request.
   */
  const bodyReader = (request: FastifyRequest, reply: FastifyReply) => async () => {
    const stream = request.body as NodeJS.ReadableStream | undefined;
    if (!stream) return Buffer.alloc(0);
    // An upload may be larger than a document naming namespaces, up to its own setting.
    const upload = isMultipart(request.headers['content-type']);
    const limit = upload ? ctx.config.kestra.maxUploadSize : MAX_INSPECTED_BODY;
    const tooLarge = () => {
      reply.header('connection', 'close');
      return Object.assign(new Error(`Request body over ${limit} bytes${upload ? ' (kestra.maxUploadSize, PERCH_KESTRA_MAX_UPLOAD_SIZE)' : ''}`), { statusCode: 413 });
    };
    if (Number(request.headers['content-length'] ?? 0) > limit) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  };

  await app.register(async (scope) => {
    // Bodies stream through untouched: no parser reads them.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const { path, query } = request.canonical;
      const principal = request.principal;
      let forward: { body?: Buffer; query?: string; responseFilter?: ResponseFilter } = {};
      if (path.startsWith('/api/')) {
        const verdict = await authorizer.authorize({
          method: request.method,
          path,
          query,
          contentType: request.headers['content-type'],
          principal,
          readBody: bodyReader(request, reply),
        });
        if (!verdict.ok) return sendError(reply, verdict.status, verdict.message, verdict.details);
        request.kestraCall = { row: verdict.row, namespaces: verdict.namespaces };
        if (verdict.answer !== undefined) return reply.header('cache-control', 'no-store').send(verdict.answer);
        forward = verdict;
        const capturing = captureStatesBefore(request, kestraReads, kestraReadHeaders, verdict.body);
        if (capturing) await capturing;
      }
      const filter = forward.responseFilter;
      if (filter && !filter.exact && request.method === 'GET' && filter.where.startsWith('results[]')) {
        const filled = await fillPage(kestraReads, { path, query: forward.query ?? query, headers: kestraReadHeaders }, filter.where, filter.visible).catch(
          (error: Error & { code?: string }) => ({ ok: false as const, status: 502, message: `Kestra is unreachable at ${kestraOrigin} (${error.code ?? error.message})` }),
        );
        if (!filled.ok) return sendError(reply, filled.status, filled.message);
        return reply.header('cache-control', 'no-store').send(filled.body);
      }
      if (callerLeft(request.raw, reply.raw)) {
        reply.hijack();
        return reply;
      }
      endWithCredentials(principal, reply.raw);
      if (path.startsWith('/api/') && forward.body === undefined && !forward.responseFilter && direct.eligible(request.raw)) {
        // Reads only: the audit log, which keeps Kestra's status, records none of them.
        reply.hijack();
        direct.forward({ req: request.raw, res: reply.raw, signedIn: principal !== null, log: request.log }, path, forward.query ?? query);
        return reply;
      }
      const bodyOptions = forward.body !== undefined ? { body: forward.body, contentType: request.headers['content-type'] ?? 'application/octet-stream' } : {};
      const forwardedQuery = forward.query ?? query;
      return reply.from(path, {
        ...bodyOptions,
        queryString: () => forwardedQuery,
        // reply-from types these for HTTP/2 too; Perch serves HTTP/1.1 only.
        rewriteRequestHeaders: rewriteRequestHeaders as never,
        rewriteHeaders: rewriteHeaders as never,
        onError: onError as never,
        onResponse: settled(forward.responseFilter ? filteringResponse(forward.responseFilter) : onResponse) as never,
      });
    };
    scope.route({ method: [...PROXIED_METHODS], url: '/api/v1/*', handler, config: { access: 'optional', streamsBody: true, kestraProxy: true } });
    for (const url of ['/ui', '/ui/*']) scope.route({ method: [...PROXIED_METHODS], url, handler, config: { streamsBody: true, kestraProxy: true } });
  });

  app.get('/', (_request, reply) => reply.redirect('/ui/', 302));

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  return createFastLane({
    ctx,
    ownRoutes: options.ownRoutes,
    sessionToken: (header) => app.parseCookie(header)[ctx.cookies.sessionCookie],
    eligible: direct.eligible,
    // The lane only takes requests without a body: what the route's body reader would read is nothing.
    authorize: (req, path, query, principal) =>
      authorizer.authorize({ method: req.method!, path, query, contentType: req.headers['content-type'], principal, readBody: () => Promise.resolve(Buffer.alloc(0)) }),
    forwardRead(req, res, principal, path, query) {
      if (callerLeft(req, res)) return;
      endWithCredentials(principal, res);
      direct.forward({ req, res, signedIn: true, log: ctx.log }, path, query);
    },
    closing: () => closing,
  });
}

/**
 * The caller left while Perch was authorizing (a namespace lookup, a state capture): its response
 * already closed, so no 'close' would ever release a tracked stream, nor hang up on what Kestra
 * sends (an SSE stream would stay open and paused, holding an upstream connection).
 */
function callerLeft(req: { socket: { destroyed: boolean } | null }, res: ServerResponse): boolean {
  return res.destroyed || req.socket?.destroyed === true;
}
