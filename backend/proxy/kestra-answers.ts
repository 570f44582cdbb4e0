import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { KESTRA_LOGIN_FLAG } from '../auth/cookies.js';
import type { ResponseFilter } from '../authz/kestra-authorizer.js';
import { filterByNamespace } from '../authz/response-filter.js';
import type { PerchContext } from '../context.js';
import { sendError } from '../http/errors.js';
import { guardUiPageFraming, isUiPage, sendWithScreens } from '../ui/ui-pages.js';
import { sendKestraUnavailablePage } from '../ui/status-pages.js';
import { forwardableHeaders } from './canonical-request.js';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { KestraError } from '../metrics/perch-metrics.js';
import type { ForwardFailure } from './forward.js';
import { OWNED_REQUEST_HEADERS, type KestraTarget } from './kestra-target.js';
import { readsAnswerState, sendTeedAnswer, wantsAnswerState } from './resource-states.js';

/*
 * The proxy's rewrite step for calls that go through @fastify/reply-from (writes, filtered lists, UI
 * pages): the headers both ways, and what Perch makes of Kestra's answer or of its silence. Built once
 * per server; nothing here allocates per request beyond what each answer needs.
 */

declare module 'fastify' {
  interface FastifyRequest {
    /** When the call left for Kestra (performance.now()), for the latency metric; 0 before. */
    kestraSentAt: number;
  }
}

/** Kestra's answers must not ask the browser for credentials nor plant Kestra cookies. */
const DROPPED_RESPONSE_HEADERS = ['www-authenticate', 'set-cookie'];

export const CREDENTIALS_REFUSED = 'Kestra refused the credentials Perch is configured with (PERCH_KESTRA_USERNAME / PERCH_KESTRA_PASSWORD)';

/** Kestra's answer as reply-from hands it to `onResponse`. */
export type UpstreamAnswer = { statusCode: number; headers: Record<string, unknown>; stream: NodeJS.ReadableStream & { destroy(): void } };
type Respond = (request: FastifyRequest, reply: FastifyReply, res: UpstreamAnswer) => unknown;

export interface KestraAnswers {
  rewriteRequestHeaders(request: FastifyRequest, prepared: IncomingHttpHeaders): Record<string, string>;
  /** The same, for a call whose answer Perch reads whole (a filtered list): asked for uncompressed. */
  rewriteRequestHeadersToRead(request: FastifyRequest, prepared: IncomingHttpHeaders): Record<string, string>;
  rewriteHeaders(headers: IncomingHttpHeaders, request: FastifyRequest): IncomingHttpHeaders;
  onError(reply: FastifyReply, failed: { error: Error & { code?: string; statusCode?: number } }): unknown;
  /** Kestra's answer passed on (a UI page with Perch's screens, a change's state kept for the audit log). */
  onResponse: Respond;
  /** Kestra's JSON answer less the items outside the caller's reach. */
  filteringResponse(filter: ResponseFilter): Respond;
  /** `respond`, with an answer that breaks off while read whole turned into a 502 or a cut connection. */
  settled(respond: Respond): Respond;
  /** Perch's answer when Kestra gave none: unreachable (502), too slow (504), refusing Perch's account (401 → 502). */
  failureAnswer(failure: ForwardFailure): { status: number; message: string };
}

export function kestraAnswers(ctx: PerchContext, kestra: KestraTarget, injectScreens: boolean): KestraAnswers {
  const requestHeaders = (request: FastifyRequest, prepared: IncomingHttpHeaders, readsAnswer: boolean) => {
    const headers: Record<string, string> = forwardableHeaders(request.raw.rawHeaders, { owned: OWNED_REQUEST_HEADERS });
    headers.host = kestra.host;
    headers[REQUEST_ID_HEADER] = String(request.id);
    // Called as the call leaves: the latency metric counts from here.
    request.kestraSentAt = performance.now();
    // reply-from sets the length of a body Perch rewrote (narrowed filters); otherwise it is the client's.
    const length = prepared['content-length'] === undefined ? undefined : String(prepared['content-length']);
    if (length !== undefined) headers['content-length'] = length;
    // UI pages come back whole (no 304), so Perch can add its screens' script tag.
    const screensPage = injectScreens && isUiPage(request);
    if (screensPage) {
      delete headers['if-none-match'];
      delete headers['if-modified-since'];
    }
    // An answer Perch reads (a filtered list, a change's state after, a page it adds its screens to) comes
    // back uncompressed: Kestra's server (Micronaut) compresses text answers of 1 KiB or more for a caller
    // that accepts it (docs/compatibility.md), and Perch parses the bytes.
    if (readsAnswer || screensPage || readsAnswerState(request)) delete headers['accept-encoding'];
    // Anonymous calls (webhooks, which Kestra authenticates by their key) go without Perch's account.
    if (kestra.authorization && request.principal) headers.authorization = kestra.authorization;
    return headers;
  };
  const rewriteRequestHeaders = (request: FastifyRequest, prepared: IncomingHttpHeaders) => requestHeaders(request, prepared, false);
  const rewriteRequestHeadersToRead = (request: FastifyRequest, prepared: IncomingHttpHeaders) => requestHeaders(request, prepared, true);

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

  /** How a call failed: what Perch answers, and what the metrics count (forward.ts counts its own). */
  const failureKind = (failure: ForwardFailure): KestraError => {
    if (failure.statusCode === 401) return 'credentials_refused';
    if (failure.statusCode === 504 || failure.code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT') return 'timeout';
    return 'unreachable';
  };

  const failureAnswer = (failure: ForwardFailure): { status: number; message: string } => {
    const kind = failureKind(failure);
    if (kind === 'credentials_refused') return { status: 502, message: "Kestra refused Perch's credentials: check PERCH_KESTRA_USERNAME and PERCH_KESTRA_PASSWORD" };
    if (kind === 'timeout') return { status: 504, message: `Kestra did not answer within ${kestra.timeout} ms` };
    const cause = (failure.cause as { code?: string } | undefined)?.code ?? failure.code ?? failure.message;
    return { status: 502, message: `Kestra is unreachable at ${kestra.origin} (${cause})` };
  };

  /** A UI page gets a page of Perch's saying what is wrong; an API call gets the JSON error. */
  const answerFailure = (request: FastifyRequest, reply: FastifyReply, status: number, message: string) =>
    isUiPage(request) ? sendKestraUnavailablePage(reply, status, message, kestra.url) : sendError(reply, status, message);

  const onError = (reply: FastifyReply, { error }: { error: Error & { code?: string; statusCode?: number } }) => {
    if (reply.sent) return;
    ctx.metrics.kestraFailed(failureKind(error));
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
  const settled = (respond: Respond): Respond => (request, reply, res) => {
    ctx.metrics.kestraAnswered((performance.now() - request.kestraSentAt) / 1000);
    const pending = respond(request, reply, res);
    if (pending instanceof Promise) {
      pending.catch((error: unknown) => {
        ctx.metrics.kestraFailed('broken_off');
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

  const onResponse: Respond = (request, reply, res) => {
    if (request.kestraCall) request.kestraCall.upstreamStatus = res.statusCode;
    if (res.statusCode === 401) {
      // The person is signed in at Perch, so a 401 means Kestra refused Perch's own account.
      res.stream.destroy();
      reply.removeHeader('content-length');
      ctx.metrics.kestraFailed('credentials_refused');
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

  const filteringResponse = (filter: ResponseFilter): Respond => async (request, reply, res) => {
    if (request.kestraCall) request.kestraCall.upstreamStatus = res.statusCode;
    if (res.statusCode === 401) return onResponse(request, reply, res);
    if (res.statusCode !== 200) return reply.send(res.stream);
    const type = String(res.headers['content-type'] ?? '');
    if (!/json/i.test(type)) {
      // A list in another form (whatever a request's Accept made of it) cannot be filtered: not shown, fail closed.
      res.stream.destroy();
      reply.removeHeader('content-length');
      return sendError(reply, 502, `Kestra answered this list as ${type.slice(0, 60) || 'an untyped body'}, which Perch cannot filter by namespace, so it is not shown`);
    }
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

  return { rewriteRequestHeaders, rewriteRequestHeadersToRead, rewriteHeaders, onError, onResponse, filteringResponse, settled, failureAnswer };
}
