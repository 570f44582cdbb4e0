import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { peerAddress, trustedProxyCheck } from './client-address.js';

/** The header a request id arrives in from a trusted proxy, and leaves in, on every answer. */
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * What Perch takes from a proxy as a request id: short (the audit log keeps 64 characters) and plain,
 * so it cannot break a log line or a header.
 */
const ACCEPTED_ID = /^[A-Za-z0-9._:+=/-]{1,64}$/;

declare module 'node:http' {
  interface IncomingMessage {
    /** The request's id (see {@link requestIdSource}), set as it arrives: Fastify's `request.id`, every log line's `reqId`. */
    requestId?: string;
  }
}

/**
 * Gives each request one id, for its log lines (both lanes), its audit entries, its answer's
 * `x-request-id` header and the call to Kestra: the one a trusted reverse proxy sent (the socket's
 * peer is in `trustedProxies`, the same list the client address trusts), else a new UUID. A
 * caller's own `x-request-id` is not trusted: anyone could make their requests look like another's.
 */
export function requestIdSource(trustedProxies: readonly string[]): (req: IncomingMessage) => string {
  const isTrusted = trustedProxyCheck(trustedProxies);
  const none = trustedProxies.length === 0;
  return (req) => {
    if (req.requestId) return req.requestId;
    const sent = none ? undefined : req.headers[REQUEST_ID_HEADER];
    let id: string | undefined;
    if (typeof sent === 'string' && ACCEPTED_ID.test(sent)) {
      const peer = peerAddress(req);
      if (peer !== null && isTrusted(peer)) id = sent;
    }
    return (req.requestId = id ?? randomUUID());
  };
}
