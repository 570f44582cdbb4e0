import type { FastifyInstance } from 'fastify';

/**
 * A body Perch reads whole before its handler runs (its own API's JSON and forms, sign-in included,
 * so open to anyone) must arrive within `deadlineMs`. Node bounds only the headers: its
 * `requestTimeout` is off so that uploads to Kestra may take as long as they need. Without this, a
 * caller trickling a body would hold its connection, and up to `bodyLimit` of memory, for ever.
 * Past the deadline the connection is cut, as nobody well-behaved is left to answer.
 *
 * Bodies the proxy streams to Kestra are not bounded: their parser hands the stream on at once.
 */
export function installBodyDeadline(app: FastifyInstance, deadlineMs: number): void {
  /** Stops a request's timer: its body was read (preValidation) or it was answered anyway. */
  const bodyRead = new WeakMap<object, () => void>();
  app.addHook('preParsing', (request, reply, payload, done) => {
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
  });
  app.addHook('preValidation', (request, _reply, done) => {
    bodyRead.get(request.raw)?.();
    done();
  });
}
