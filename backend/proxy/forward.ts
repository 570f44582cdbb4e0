import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool, type Dispatcher } from 'undici';
import { forwardableHeaders } from './canonical-request.js';

/**
 * The hot path of the reverse proxy: a Kestra read (GET/HEAD, no request body, no response rewriting)
 * is forwarded with one undici `dispatch` and its answer streamed straight onto the socket, without
 * @fastify/reply-from's per-request objects, URL cache, promise-based request API and Readable.
 *
 * Every check has already run when this is called (canonical form, authentication, authorization in
 * the route handler); this only moves bytes. Writes, filtered lists and UI pages keep going through
 * reply-from: they need Fastify's onSend hooks (audit log) or rewrite the answer.
 *
 * Behaviour matches the reply-from path: Perch's Kestra account instead of the caller's identity,
 * hop-by-hop and identity headers dropped both ways, Kestra's cookies and Basic prompts dropped,
 * errors before the answer started become Perch's JSON 502/504, a 401 from Kestra becomes a 502.
 */

/** Response headers a proxy must not pass on (RFC 9110 §7.6.1), plus Kestra's credential prompts and cookies. */
const DROPPED_RESPONSE = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer', 'te', 'http2-settings',
  'proxy-authenticate', 'www-authenticate', 'set-cookie',
]);

export interface ForwardFailure {
  /** 504 for "Kestra did not send its headers in time". */
  statusCode?: number;
  code?: string;
  message: string;
  cause?: unknown;
}

export interface DirectForwarderOptions {
  origin: string;
  /** The Host header Kestra receives. */
  host: string;
  /** Perch's own Kestra credentials, sent for signed-in callers only. */
  authorization: string | undefined;
  /** Bound on the wait for Kestra's headers (ms). Bodies (SSE, downloads) are not bounded. */
  headersTimeout: number;
  /** Lower-case request header names Perch sets itself. */
  ownedRequestHeaders: readonly string[];
  /** Kestra answered 401 to Perch's own account: the caller gets a 502 (the upstream answer is discarded). */
  onUnauthorized(request: FastifyRequest, reply: FastifyReply): void;
  /** Kestra could not be reached or did not answer in time, before any byte of the answer was sent. */
  onFailure(reply: FastifyReply, failure: ForwardFailure): void;
}

export interface DirectForwarder {
  /** Whether this call may take the hot path (a read with no body and nothing to rewrite). */
  eligible(request: FastifyRequest): boolean;
  /** Forwards `path?query` and answers; the returned reply is what the route handler returns. */
  forward(request: FastifyRequest, reply: FastifyReply, path: string, query: string): FastifyReply;
  close(): Promise<void>;
}

export function createDirectForwarder(options: DirectForwarderOptions): DirectForwarder {
  // Only the wait for headers is bounded. No cap on connections: an SSE stream (or a download read
  // slowly) holds its connection for as long as it lasts, and a capped pool full of them would queue
  // every other read forever (undici's headers timeout only starts once a request has a connection).
  // Each open connection to Kestra stands for one open connection of a caller.
  const pool = new Pool(options.origin, { connections: null, pipelining: 1, headersTimeout: options.headersTimeout, bodyTimeout: 0, keepAliveTimeout: 30_000 });
  const forwardOptions = { owned: options.ownedRequestHeaders };

  const requestHeaders = (request: FastifyRequest): Record<string, string> => {
    const headers = forwardableHeaders(request.raw.rawHeaders, forwardOptions);
    headers.host = options.host;
    // Anonymous calls (webhooks, which Kestra authenticates by their key) go without Perch's account.
    if (options.authorization && request.principal) headers.authorization = options.authorization;
    return headers;
  };

  return {
    eligible(request) {
      const method = request.method;
      if (method !== 'GET' && method !== 'HEAD') return false;
      const headers = request.headers;
      // A read that carries a body (unusual) keeps the general path.
      return headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
    },

    forward(request, reply, path, query) {
      const res = reply.raw;
      let abortUpstream: ((reason?: Error) => void) | null = null;
      /** Set once Perch answered (or gave up): later upstream events are ignored. */
      let settled = false;
      let started = false;
      let resume: (() => void) | null = null;
      let draining = false;
      const onDrain = () => {
        draining = false;
        resume?.();
      };
      const onClose = () => {
        // The caller went away (or logout cut the stream): stop reading from Kestra.
        if (!settled) {
          settled = true;
          abortUpstream?.();
        }
      };
      res.once('close', onClose);

      const handler: Dispatcher.DispatchHandler = {
        onConnect(abort) {
          abortUpstream = abort as (reason?: Error) => void;
          if (settled) abort();
        },
        onHeaders(statusCode, rawHeaders, resumeUpstream) {
          if (settled) return false;
          if (request.kestraCall) request.kestraCall.upstreamStatus = statusCode;
          if (statusCode === 401) {
            settled = true;
            res.removeListener('close', onClose);
            abortUpstream?.();
            options.onUnauthorized(request, reply);
            return false;
          }
          const out: string[] = [];
          const raw = rawHeaders as unknown as Buffer[];
          let nominated: string[] | undefined;
          for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i]!.toString('latin1').toLowerCase();
            const value = raw[i + 1]!.toString('latin1');
            if (name === 'connection') {
              for (const token of value.split(',')) {
                const t = token.trim().toLowerCase();
                if (t) (nominated ??= []).push(t);
              }
            }
            if (DROPPED_RESPONSE.has(name)) continue;
            out.push(name, value);
          }
          if (nominated) {
            for (let i = out.length - 2; i >= 0; i -= 2) if (nominated.includes(out[i]!)) out.splice(i, 2);
          }
          try {
            res.writeHead(statusCode, out);
          } catch (error) {
            // An answer Node refuses to write (invalid status or header): nothing was sent yet.
            settled = true;
            res.removeListener('close', onClose);
            abortUpstream?.();
            options.onFailure(reply, { code: (error as { code?: string }).code, message: (error as Error).message });
            return false;
          }
          // From here on the answer is Kestra's, written straight to the socket.
          reply.hijack();
          started = true;
          resume = resumeUpstream;
          return true;
        },
        onData(chunk) {
          if (settled) return false;
          if (res.write(chunk)) return true;
          // The caller reads slower than Kestra sends: pause Kestra until the socket drains.
          if (!draining) {
            draining = true;
            res.once('drain', onDrain);
          }
          return false;
        },
        onComplete() {
          if (settled) return;
          settled = true;
          res.removeListener('close', onClose);
          if (draining) res.removeListener('drain', onDrain);
          res.end();
        },
        onError(error) {
          if (settled) return;
          settled = true;
          res.removeListener('close', onClose);
          if (draining) res.removeListener('drain', onDrain);
          if (started) {
            // Mid-stream: the status line is gone, so the only honest signal is a cut connection.
            request.log.warn({ err: error }, 'Kestra’s answer broke off');
            res.destroy();
            return;
          }
          request.log.warn({ err: error }, 'Kestra did not answer');
          const code = (error as { code?: string }).code;
          if (code === 'UND_ERR_HEADERS_TIMEOUT') return options.onFailure(reply, { statusCode: 504, code, message: error.message, cause: error });
          options.onFailure(reply, { code, message: error.message, cause: (error as { cause?: unknown }).cause });
        },
      };

      pool.dispatch(
        { path: query ? `${path}?${query}` : path, method: request.method as Dispatcher.HttpMethod, headers: requestHeaders(request) },
        handler,
      );
      return reply;
    },

    close() {
      return pool.close();
    },
  };
}
