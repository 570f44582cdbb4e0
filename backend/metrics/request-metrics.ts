import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { AnswerTags, PerchResponse } from '../http/perch-response.js';
import { LANES, ROUTE_CLASSES, type PerchMetrics, type RouteClass } from './perch-metrics.js';

const UNROUTED = ROUTE_CLASSES.indexOf('unrouted');
const KESTRA_API = ROUTE_CLASSES.indexOf('kestra_api');
const FAST = LANES.indexOf('fast');

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's class for the request counter (an index into ROUTE_CLASSES), set as the route is added. */
    metricsRoute?: number;
  }
}

/** Counts an answer whose head was written (http/perch-response.ts), by the route class and lane its request was tagged with. */
export function countAnswer(metrics: PerchMetrics): (res: PerchResponse, status: number) => void {
  return (res, status) => metrics.answered(res.metricsRoute < 0 ? UNROUTED : res.metricsRoute, res.metricsLane, status);
}

/** The fast lane forwards this call: a Kestra API read. */
export function countAsFastLane(res: ServerResponse): void {
  const tagged = res as ServerResponse & AnswerTags;
  tagged.metricsRoute = KESTRA_API;
  tagged.metricsLane = FAST;
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
    if (route !== undefined) (reply.raw as PerchResponse).metricsRoute = route;
    done();
  });
}
