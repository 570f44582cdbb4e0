import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { REQUEST_ID_HEADER } from './request-id.js';

/** What the metrics read of an answer (metrics/request-metrics.ts sets them): its route class and lane, as indexes; -1: not classified. */
export interface AnswerTags {
  metricsRoute: number;
  metricsLane: number;
}

export type PerchResponse = ServerResponse & AnswerTags;

export interface ResponseOptions {
  /** The Strict-Transport-Security value every answer carries (Perch's and Kestra's), or null. */
  hsts: string | null;
  /** Told of each answer once its head was written. */
  onHead(res: PerchResponse, status: number): void;
}

/**
 * The HTTP server's response class. Whoever writes an answer's head (Fastify, the proxy's fast lane,
 * the direct forwarder, an error path), it carries Perch's own headers, the request's id
 * (http/request-id.ts) and HSTS, added to the head as it is written: set earlier with setHeader,
 * they would push Node's writeHead off its fast path (about 2 µs a call) and make it keep only the
 * last of a header Kestra repeats. Then the answer is counted (`onHead`). An answer cut before its
 * head (the caller left) is not counted.
 */
export function perchResponses(options: ResponseOptions): typeof ServerResponse {
  const { hsts, onHead } = options;
  return class StampedResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> implements AnswerTags {
    metricsRoute = -1;
    metricsLane = 0;

    override writeHead(statusCode: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
      const id = this.req.requestId;
      const given = typeof reason === 'string' ? headers : reason;
      if (Array.isArray(given)) {
        // Perch's header arrays are flat: name, value, name, value…
        if (id) given.push(REQUEST_ID_HEADER, id);
        if (hsts) given.push('strict-transport-security', hsts);
      } else if (given) {
        if (id) given[REQUEST_ID_HEADER] = id;
        if (hsts) given['strict-transport-security'] = hsts;
      } else {
        if (id) this.setHeader(REQUEST_ID_HEADER, id);
        if (hsts) this.setHeader('strict-transport-security', hsts);
      }
      super.writeHead(statusCode, reason as string, headers);
      // Counted once Node accepted the head: a refused one is followed by Perch's own answer.
      onHead(this, statusCode);
      return this;
    }
  };
}
