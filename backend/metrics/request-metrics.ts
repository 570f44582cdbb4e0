import type { FastifyInstance } from 'fastify';
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { LANES, ROUTE_CLASSES, type PerchMetrics, type RouteClass } from './perch-metrics.js';

const UNROUTED = ROUTE_CLASSES.indexOf('unrouted');
const KESTRA_API = ROUTE_CLASSES.indexOf('kestra_api');
const FASTIFY = LANES.indexOf('fastify');
const FAST = LANES.indexOf('fast');

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's class for the request counter (an index into ROUTE_CLASSES), set as the route is added. */
    metricsRoute?: number;
  }
}

/** What the counter needs to know of a response: its route class and lane, as indexes. */
interface CountedResponse extends ServerResponse {
  metricsRoute: number;
  metricsLane: number;
}

/**
 * The server's response class: counts every answer as its head is sent (whoever sends it: Fastify,
 * the fast lane, the direct forwarder, an error path), from two numbers each lane sets on it. An
 * answer cut before its head (the caller left) is not counted.
 */
export function countingResponses(metrics: PerchMetrics): typeof ServerResponse {
  return class CountingResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> implements CountedResponse {
    metricsRoute = UNROUTED;
    metricsLane = FASTIFY;

    override writeHead(statusCode: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
      // Counted once Node accepted the head: a refused one is followed by Perch's own answer.
      super.writeHead(statusCode, reason as string, headers);
      metrics.answered(this.metricsRoute, this.metricsLane, statusCode);
      return this;
    }
  };
}

/** The fast lane forwards this call: a Kestra API read. */
export function countAsFastLane(res: ServerResponse): void {
  const counted = res as CountedResponse;
  counted.metricsRoute = KESTRA_API;
  counted.metricsLane = FAST;
}

/** A route's class, from its URL pattern and whether it is the Kestra proxy's. */
export function routeClassOf(url: string, kestraProxy: boolean): RouteClass {
  if (kestraProxy) return url.startsWith('/api/') ? 'kestra_api' : 'kestra_ui';
  if (url.startsWith('/perch/health') || url === '/perch/metrics') return 'probe';
  if (url.startsWith('/api/') || url.startsWith('/perch/api/')) return 'perch_api';
  return 'perch_page';
}

/**
 * Classes each route as it is added, and each Fastify request as it arrives (before the guard, so
 * that a refusal counts under the route refused). Install before any route and before the guard.
 */
export function installRequestMetrics(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, metricsRoute: ROUTE_CLASSES.indexOf(routeClassOf(route.url, route.config?.kestraProxy === true)) };
  });
  app.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.config.metricsRoute;
    if (route !== undefined) (reply.raw as CountedResponse).metricsRoute = route;
    done();
  });
}
