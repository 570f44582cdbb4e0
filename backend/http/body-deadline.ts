import type { FastifyInstance, preParsingHookHandler, preValidationHookHandler, RouteOptions } from 'fastify';

/**
 * A body Perch reads whole before its handler runs (its own API's JSON and forms, sign-in included,
 * so open to anyone) must arrive within `deadlineMs`. Node bounds only the headers: its
 * `requestTimeout` is off so that uploads to Kestra may take as long as they need. Without this, a
 * caller trickling a body would hold its connection, and up to `bodyLimit` of memory, for ever.
 * Past the deadline the connection is cut, as nobody well-behaved is left to answer.
 *
 * Routes that stream their body on (the Kestra proxy: `config.streamsBody`) get no deadline, and no
 * hook at all: the proxy's hot path pays nothing for this. Call before any route is declared.
 */
export function installBodyDeadline(app: FastifyInstance, deadlineMs: number): void {
  /** Stops a request's timer: its body was read (preValidation) or it was answered anyway. */
  const bodyRead = new WeakMap<object, () => void>();
  const start: preParsingHookHandler = (request, reply, payload, done) => {
    const headers = request.headers;
    if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return done(null, payload);
    const timer = setTimeout(() => {
      request.log.warn(`the request body did not arrive within ${deadlineMs} ms: connection closed`);
      request.raw.destroy();
    }, deadlineMs);
    timer.unref();
    const stop = () => clearTimeout(timer);
    bodyRead.set(request.raw, stop);
    reply.raw.once('close', stop);
    done(null, payload);
  };
  const read: preValidationHookHandler = (request, _reply, done) => {
    bodyRead.get(request.raw)?.();
    done();
  };
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.streamsBody) return;
    route.preParsing = [...[route.preParsing ?? []].flat(), start];
    route.preValidation = [...[route.preValidation ?? []].flat(), read];
  });
}
