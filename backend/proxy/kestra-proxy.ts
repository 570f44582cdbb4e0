import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { auditKestraCalls } from '../audit/http-hook.js';
import type { Admission } from './admission.js';
import type { Principal } from '../auth/sessions.js';
import { StoredDashboards } from '../authz/stored-dashboards.js';
import { ExecutionNamespaceLookup } from '../authz/execution-lookup.js';
import { KestraFileInputTypes } from '../authz/file-inputs.js';
import { KestraStoredFlows } from '../authz/stored-flows.js';
import { KestraAuthorizer, type ResponseFilter, type Verdict } from '../authz/kestra-authorizer.js';
import { KestraHosts } from '../authz/kestra-hosts.js';
import type { PolicyRow } from '../authz/policy-map.js';
import { fillPage } from '../authz/page-fill.js';
import type { KnownTenant, PerchContext } from '../context.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { HttpError, sendError, writeError } from '../http/errors.js';
import type { OwnRoutes } from '../http/own-routes.js';
import { kestraCallEntry } from './audit-entry.js';
import { createFastLane, type FastLane } from './fast-lane.js';
import { createDirectForwarder, type DirectForwarder } from './forward.js';
import { CREDENTIALS_REFUSED, kestraAnswers, type KestraAnswers } from './kestra-answers.js';
import { kestraTarget, OWNED_REQUEST_HEADERS, type KestraTarget } from './kestra-target.js';
import { KestraReader } from './kestra-reader.js';
import { bodyReader } from './request-body.js';
import { outsideRoots, routeTenant } from './tenant-routing.js';
import { boundByTenantRoots, namespaceTenantRoots } from '../authz/tenant-roots-bound.js';
import { TenantUpstreams } from './tenant-upstreams.js';
import { captureStatesBefore } from './resource-states.js';

/*
 * The reverse proxy for Kestra's API and UI: streams both ways, swaps the caller's identity for
 * Perch's Kestra account, forwards exactly the target the gate checked. A call goes through these
 * steps, each a function below: gate (the routes and what they take; the shared guard authenticates
 * by their config), authorize, rewrite (kestra-answers.ts), forward, and account for streams. The
 * fast lane (fast-lane.ts) runs the same steps for a signed-in read before Fastify sees it.
 */

const PROXIED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** One Kestra the proxy sends calls to, with what talks to it: Perch's configured Kestra, or a tenant's own. */
interface Upstream {
  kestra: KestraTarget;
  authorizer: KestraAuthorizer;
  direct: DirectForwarder;
  answers: KestraAnswers;
  /** Perch's own reads from this Kestra (lookups, paging lists for people who see several namespace roots, states before a change). */
  reader: KestraReader;
  close(): Promise<void>;
}

/** What another feature (the copilot) needs to read a tenant's Kestra as the proxy would let a person. */
export type KestraAccess = Pick<Upstream, 'reader' | 'authorizer'>;

/** The proxy as server.ts wires it: its fast lane, and each tenant's Kestra for the features that read it. */
export interface KestraProxy {
  fastLane: FastLane;
  /** The Kestra a tenant's calls go to (its own, or Perch's configured one); an HttpError when it cannot be reached. */
  kestraOf(tenantId: string): KestraAccess;
}

/** What the proxy is made of, built once per server: every step reads it, none allocates it per request. */
interface Proxy extends Upstream {
  ctx: PerchContext;
  /** The Kestra of each INSTANCE tenant, built on its first call (tenant-upstreams.ts). */
  tenants: TenantUpstreams<Upstream>;
  /** What may stop an authorized call before it is forwarded (maintenance, kill switches). */
  admissions: readonly Admission[];
}

/** What an authorized call forwards: the verdict's body, query and response filter, or the call as asked. */
type Forwarding = { body?: Buffer; query?: string; responseFilter?: ResponseFilter };
const AS_ASKED: Forwarding = Object.freeze({});
/** The fast lane only takes requests without a body: what a body reader would read is nothing. */
const EMPTY_BODY = Buffer.alloc(0);
const readNoBody = () => Promise.resolve(EMPTY_BODY);
/** The fast lane hands a call it does not take to Fastify, which answers it. */
const NOT_IN_FAST_LANE: Verdict = Object.freeze({ ok: false, status: 0, message: 'routed by tenant' });

/** Returns the fast lane for the HTTP server's request event (fast-lane.ts). */
export async function registerKestraProxy(
  app: FastifyInstance,
  ctx: PerchContext,
  options: { injectScreens?: boolean; ownRoutes: OwnRoutes; admissions?: readonly Admission[] },
): Promise<KestraProxy> {
  const kestra = kestraTarget(ctx.config.kestra);
  app.decorateRequest('kestraSentAt', 0);
  await registerUpstream(app, kestra);
  const proxy = assemble(app, ctx, kestra, options.injectScreens === true, options.admissions ?? []);
  app.decorateRequest('routedTenant', null);
  auditKestraCalls(kestraCallEntry);
  await app.register((scope) => gate(scope, (request, reply) => handle(proxy, request, reply)));
  app.get('/', (_request, reply) => reply.redirect('/ui/', 302));
  return {
    fastLane: fastLane(app, proxy, options.ownRoutes),
    kestraOf(tenantId) {
      const tenant = tenantId === DEFAULT_TENANT ? undefined : ctx.tenants.get(tenantId);
      const upstream = tenant ? upstreamOfTenant(proxy, tenant) : proxy;
      if ('status' in upstream) throw new HttpError(upstream.status, upstream.message);
      return upstream;
    },
  };
}

/** reply-from toward Kestra, for the calls the direct forwarder does not carry. */
async function registerUpstream(app: FastifyInstance, kestra: KestraTarget): Promise<void> {
  // No `base`: each call names its Kestra's origin (Perch's configured one, or a tenant's own), and
  // reply-from's undici Agent keeps one pool per origin.
  await app.register(replyFrom, {
    retryMethods: [],
    disableRequestLogging: true,
    // Streams (SSE follow, downloads) may stay quiet for long: only the wait for headers is bounded.
    // No cap on connections: an upload that trickles in holds its connection until it ends, and a
    // capped pool full of them would queue every other write forever (see forward.ts).
    undici: { connections: null, pipelining: 1, headersTimeout: kestra.timeout, bodyTimeout: 0, keepAliveTimeout: 30_000 },
  });
}

/** The authorizer, the forwarders and Perch's own reads from one Kestra. */
function upstreamOf(ctx: PerchContext, kestra: KestraTarget, injectScreens: boolean, internalHosts: readonly string[]): Upstream {
  const answers = kestraAnswers(ctx, kestra, injectScreens);
  // Kestra reads with nothing to rewrite skip reply-from: one undici dispatch, streamed (forward.ts).
  const direct = createDirectForwarder({
    origin: kestra.origin,
    host: kestra.host,
    authorization: kestra.authorization,
    headersTimeout: kestra.timeout,
    ownedRequestHeaders: OWNED_REQUEST_HEADERS,
    log: ctx.log,
    observe: ctx.metrics,
    onFailure: (res, failure, log) => {
      if (failure.statusCode === 401) log.error(CREDENTIALS_REFUSED);
      const { status, message } = answers.failureAnswer(failure);
      writeError(res, status, message);
    },
  });
  const reader = new KestraReader(kestra);
  // NAMESPACE tenants' calls are decided by their bindings within their roots (tenant-roots-bound.ts).
  const decisions = boundByTenantRoots(ctx.authz, namespaceTenantRoots(ctx.tenants));
  const dashboards = new StoredDashboards(reader, kestra.timeout);
  const executions = new ExecutionNamespaceLookup(reader);
  const flows = new KestraStoredFlows(reader);
  const authorizer = new KestraAuthorizer(decisions, executions, KestraHosts.of([kestra.url, ...internalHosts]), ctx.secretKeys, ctx.workerGroups, dashboards, new KestraFileInputTypes(flows, executions), flows);
  const close = async () => {
    await reader.close();
    await direct.close();
  };
  return { kestra, authorizer, direct, answers, reader, close };
}

/** Perch's configured Kestra and each INSTANCE tenant's, closed with the server. */
function assemble(app: FastifyInstance, ctx: PerchContext, kestra: KestraTarget, injectScreens: boolean, admissions: readonly Admission[]): Proxy {
  const main = upstreamOf(ctx, kestra, injectScreens, ctx.config.kestra.internalHosts);
  // A flow in a tenant's Kestra may call neither that Kestra nor Perch's configured one directly.
  const tenants = new TenantUpstreams<Upstream>(
    (target) => upstreamOf(ctx, target, injectScreens, [kestra.url, ...ctx.config.kestra.internalHosts]),
    kestra.timeout,
    (id) => ctx.tenants.get(id) !== undefined,
  );
  app.addHook('onClose', async () => {
    await main.close();
    await tenants.close();
  });
  return { ctx, ...main, tenants, admissions };
}

/**
 * Gate: the Kestra API (access optional: webhooks are public, the route decides) and the UI (signed
 * in), all methods, bodies streamed through untouched (no parser reads them).
 */
async function gate(scope: FastifyInstance, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>): Promise<void> {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  scope.route({ method: [...PROXIED_METHODS], url: '/api/v1/*', handler, config: { access: 'optional', streamsBody: true, kestraProxy: true } });
  for (const url of ['/ui', '/ui/*']) scope.route({ method: [...PROXIED_METHODS], url, handler, config: { streamsBody: true, kestraProxy: true } });
}

/** One call through the route, once the guard authenticated it: its steps in order. */
async function handle(proxy: Proxy, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  let upstream: Upstream = proxy;
  let principal = request.principal;
  let tenant: KnownTenant | undefined;
  if (request.canonical.path.startsWith('/api/')) {
    const routed = routeToTenant(proxy, request, reply);
    if (routed === undefined) return reply;
    ({ upstream, principal, tenant } = routed);
  }
  const forwarding = request.canonical.path.startsWith('/api/') ? await authorize(proxy, upstream, request, reply, principal, tenant) : AS_ASKED;
  if (forwarding === undefined) return reply;
  const filter = forwarding.responseFilter;
  if (filter && !filter.exact && request.method === 'GET' && filter.where.startsWith('results[]')) return answerFilledPage(upstream, request, reply, filter, forwarding.query);
  if (callerLeft(request.raw, reply.raw)) {
    reply.hijack();
    return reply;
  }
  accountForStream(proxy.ctx, request.principal, reply.raw);
  return forward(upstream, request, reply, forwarding);
}

/**
 * Route: the tenant the call names (tenant-routing.ts). Another tenant's call continues rewritten to
 * `/api/v1/main/…`, authorized by the caller's rights in that tenant: toward its own Kestra
 * (INSTANCE), or toward the shared one within the tenant's roots (NAMESPACE).
 * Undefined: refused (nothing reached any Kestra).
 */
function routeToTenant(proxy: Proxy, request: FastifyRequest, reply: FastifyReply): { upstream: Upstream; principal: Principal | null; tenant?: KnownTenant } | undefined {
  const route = routeTenant(proxy.ctx.tenants, request.method, request.canonical.path, request.principal);
  if (route.kind === 'main') return { upstream: proxy, principal: request.principal };
  if (route.kind === 'refused') {
    sendError(reply, route.status, route.message);
    return undefined;
  }
  const { tenant } = route;
  request.canonical.path = route.path;
  request.routedTenant = tenant.id;
  const principal = request.principal && { ...request.principal, tenantId: tenant.id };
  const upstream = upstreamOfTenant(proxy, tenant);
  if ('status' in upstream) {
    sendError(reply, upstream.status, upstream.message);
    return undefined;
  }
  return { upstream, principal, tenant };
}

/** A NAMESPACE tenant's calls go to Perch's configured Kestra, an INSTANCE tenant's to its own. */
function upstreamOfTenant(proxy: Proxy, tenant: KnownTenant): Upstream | { status: number; message: string } {
  if (tenant.mode === 'NAMESPACE') return proxy;
  if (tenant.kestraUrl === null) return { status: 502, message: `Tenant ${tenant.id} names no Kestra` };
  if (tenant.authorization === null) return { status: 502, message: `Tenant ${tenant.id}: Perch cannot open the stored password of its Kestra at ${tenant.kestraUrl} (see Perch's log)` };
  return proxy.tenants.of({ ...tenant, kestraUrl: tenant.kestraUrl, authorization: tenant.authorization });
}

/**
 * Authorize a Kestra API call, and read the state before of what it changes (for the audit log).
 * Undefined: Perch answered it itself (refused, or answered from what it knows).
 */
async function authorize(proxy: Proxy, upstream: Upstream, request: FastifyRequest, reply: FastifyReply, principal: Principal | null, tenant: KnownTenant | undefined): Promise<Forwarding | undefined> {
  const { path, query } = request.canonical;
  const readBody = bodyReader(request, reply, proxy.ctx.config.kestra.maxUploadSize);
  const verdict = await upstream.authorizer.authorize({
    method: request.method,
    path,
    query,
    contentType: request.headers['content-type'],
    principal,
    readBody,
  });
  proxy.ctx.metrics.verdict(verdict);
  if (!verdict.ok) {
    sendError(reply, verdict.status, verdict.message, verdict.details);
    return undefined;
  }
  const outside = tenant && outsideRoots(tenant, verdict, verdict.query ?? query);
  if (outside) {
    sendError(reply, outside.status, outside.message);
    return undefined;
  }
  request.kestraCall = { row: verdict.row, namespaces: verdict.namespaces };
  if (verdict.answer !== undefined) {
    reply.header('cache-control', 'no-store').send(verdict.answer);
    return undefined;
  }
  if (await admissionStops(proxy, request, reply, verdict, readBody)) return undefined;
  const capturing = captureStatesBefore(request, upstream.reader, verdict.body);
  if (capturing) await capturing;
  return verdict;
}

/**
 * Admit: maintenance mode and kill switches may answer an authorized call themselves. A body they read
 * becomes the verdict's, so that what is forwarded is what they saw.
 */
async function admissionStops(proxy: Proxy, request: FastifyRequest, reply: FastifyReply, verdict: Forwarding & { row: PolicyRow; namespaces: string[] }, readBody: () => Promise<Buffer>): Promise<boolean> {
  const concerned = proxy.admissions.filter((a) => a.concerns(verdict.row));
  if (concerned.length === 0) return false;
  const body = async () => (verdict.body ??= await readBody());
  for (const admission of concerned) {
    if (await admission.stops({ request, reply, row: verdict.row, namespaces: verdict.namespaces, query: verdict.query ?? request.canonical.query, body })) return true;
  }
  return false;
}

/** A list narrowed to several namespace roots: Perch reads pages until it has one of the caller's items. */
async function answerFilledPage(proxy: Upstream, request: FastifyRequest, reply: FastifyReply, filter: ResponseFilter, query: string | undefined): Promise<FastifyReply> {
  const { path } = request.canonical;
  const filled = await fillPage(proxy.reader.pool, { path, query: query ?? request.canonical.query, headers: proxy.reader.headers }, filter.where, filter.visible).catch(
    (error: Error & { code?: string }) => ({ ok: false as const, status: 502, message: `Kestra is unreachable at ${proxy.kestra.origin} (${error.code ?? error.message})` }),
  );
  if (!filled.ok) return sendError(reply, filled.status, filled.message);
  return reply.header('cache-control', 'no-store').send(filled.body);
}

/** Forward: a read with nothing to rewrite goes direct; the rest through reply-from with the rewrite step. */
function forward(proxy: Upstream, request: FastifyRequest, reply: FastifyReply, forwarding: Forwarding): FastifyReply {
  const { path, query } = request.canonical;
  const forwardedQuery = forwarding.query ?? query;
  if (path.startsWith('/api/') && forwarding.body === undefined && !forwarding.responseFilter && proxy.direct.eligible(request.raw)) {
    // Reads only: the audit log, which keeps Kestra's status, records none of them.
    reply.hijack();
    proxy.direct.forward({ req: request.raw, res: reply.raw, signedIn: request.principal !== null }, path, forwardedQuery);
    return reply;
  }
  const { answers } = proxy;
  const bodyOptions = forwarding.body !== undefined ? { body: forwarding.body, contentType: request.headers['content-type'] ?? 'application/octet-stream' } : {};
  return reply.from(`${proxy.kestra.origin}${path}`, {
    ...bodyOptions,
    queryString: () => forwardedQuery,
    // reply-from types these for HTTP/2 too; Perch serves HTTP/1.1 only.
    rewriteRequestHeaders: (forwarding.responseFilter ? answers.rewriteRequestHeadersToRead : answers.rewriteRequestHeaders) as never,
    rewriteHeaders: answers.rewriteHeaders as never,
    onError: answers.onError as never,
    onResponse: answers.settled(forwarding.responseFilter ? answers.filteringResponse(forwarding.responseFilter) : answers.onResponse) as never,
  });
}

/** Account for streams: logging out, disabling the user or the end of a token cuts this response, SSE streams included. */
function accountForStream(ctx: PerchContext, principal: Principal | null, res: ServerResponse): void {
  if (!principal) return;
  const untrack = ctx.sessions.trackStream(principal.sessionHash, () => res.destroy(), principal.expiresAt);
  // 'close' comes once: `on` spares the wrapper `once` makes on every proxied call.
  res.on('close', untrack);
}

/** The same steps for a signed-in read on Node's request event, before Fastify builds a request for it. */
function fastLane(app: FastifyInstance, proxy: Proxy, ownRoutes: OwnRoutes): FastLane {
  const { ctx, authorizer, direct } = proxy;
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  return createFastLane({
    ctx,
    ownRoutes,
    sessionToken: (header) => app.parseCookie(header)[ctx.cookies.sessionCookie],
    eligible: direct.eligible,
    authorize: async (req, path, query, principal) => {
      // A session's call to main for its NAMESPACE tenant keeps its path and Kestra: it stays here,
      // decided by the person's rights in that tenant. Another tenant's call, or one refused by
      // tenant, is Fastify's (the proxy route answers it).
      const route = routeTenant(ctx.tenants, req.method!, path, principal);
      const tenant = route.kind === 'tenant' && route.tenant.mode === 'NAMESPACE' && route.path === path ? route.tenant : undefined;
      if (route.kind !== 'main' && tenant === undefined) return NOT_IN_FAST_LANE;
      const decidedFor = tenant ? { ...principal, tenantId: tenant.id } : principal;
      const verdict = await authorizer.authorize({ method: req.method!, path, query, contentType: req.headers['content-type'], principal: decidedFor, readBody: readNoBody });
      if (verdict.ok && tenant && outsideRoots(tenant, verdict, verdict.query ?? query)) return NOT_IN_FAST_LANE;
      // A call maintenance or a kill switch may stop goes through Fastify, where they decide.
      if (verdict.ok && concernsAny(proxy.admissions, verdict.row)) return { ok: false, status: 503, message: 'admission' };
      return verdict;
    },
    forwardRead(req, res, principal, path, query) {
      if (callerLeft(req, res)) return;
      accountForStream(ctx, principal, res);
      direct.forward({ req, res, signedIn: true }, path, query);
    },
    closing: () => closing,
  });
}

/** Whether a maintenance window or kill switch concerns this row (a loop: no closure per call). */
function concernsAny(admissions: readonly Admission[], row: PolicyRow): boolean {
  for (const admission of admissions) if (admission.concerns(row)) return true;
  return false;
}

/**
 * The caller left while Perch was authorizing (a namespace lookup, a state capture): its response
 * already closed, so no 'close' would ever release a tracked stream, nor hang up on what Kestra
 * sends (an SSE stream would stay open and paused, holding an upstream connection).
 */
function callerLeft(req: { socket: { destroyed: boolean } | null }, res: ServerResponse): boolean {
  return res.destroyed || req.socket?.destroyed === true;
}
