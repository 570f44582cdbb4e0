import type { FastifyBaseLogger } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { REQUEST_ID_HEADER } from '../http/request-id.js';
import type { KestraError } from '../metrics/perch-metrics.js';
import { forwardableHeaders } from './canonical-request.js';

/**
 * The hot path of the reverse proxy: a Kestra read (GET/HEAD, no request body, no response rewriting)
 * is forwarded with one undici `dispatch` and its answer streamed straight onto the socket, without
 * @fastify/reply-from's per-request objects, URL cache, promise-based request API and Readable.
 *
 * Every check has already run when this is called (canonical form, authentication, authorization, in
 * the route handler or the fast lane); this only moves bytes, on the raw request and response, so both
 * callers share it. Writes, filtered lists and UI pages keep going through reply-from: they need
 * Fastify's onSend hooks (audit log) or rewrite the answer.
 *
 * Behaviour matches the reply-from path: Perch's Kestra account instead of the caller's identity,
 * hop-by-hop and identity headers dropped both ways, Kestra's cookies and Basic prompts dropped,
 * errors before the answer started become Perch's JSON 502/504, a 401 from Kestra becomes a 502.
 */

/**
 * Response headers a proxy must not pass on (RFC 9110 §7.6.1), plus Kestra's credential prompts and
 * cookies, and the headers Perch writes on every answer itself (http/perch-response.ts).
 */
const DROPPED_RESPONSE = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer', 'te', 'http2-settings',
  'proxy-authenticate', 'www-authenticate', 'set-cookie', 'x-request-id', 'strict-transport-security',
]);

/** Whether Kestra's answer (flat name/value header list, names lower-cased) is a `text/event-stream`. */
function isEventStream(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === 'content-type') return headers[i + 1]!.toLowerCase().startsWith('text/event-stream');
  }
  return false;
}

export interface ForwardFailure {
  /** 504: Kestra did not send its headers in time; 401: Kestra refused Perch's own account. */
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
  /** Perch's log: a call's lines carry its request id. */
  log: FastifyBaseLogger;
  /** Told how long Kestra took to send each answer's head, and how each failed call failed. */
  observe: { kestraAnswered(seconds: number): void; kestraFailed(kind: KestraError): void };
  /**
   * Answers the caller when nothing of Kestra's answer was sent: Kestra could not be reached, did not
   * answer in time, or answered 401 to Perch's own account (`statusCode` 401; its answer is discarded).
   */
  onFailure(res: ServerResponse, failure: ForwardFailure, log: FastifyBaseLogger): void;
}

/** One call on the hot path: the caller's raw request and response, and what Perch knows of it. */
export interface ForwardedRead {
  req: IncomingMessage;
  res: ServerResponse;
  /** Signed in (or token): Perch's own Kestra account goes with the call. */
  signedIn: boolean;
}

export interface DirectForwarder {
  /** Whether this call may take the hot path (a read with no body and nothing to rewrite). */
  eligible(req: IncomingMessage): boolean;
  /** Forwards `path?query` and answers on `call.res`, which the caller no longer touches. */
  forward(call: ForwardedRead, path: string, query: string): void;
  close(): Promise<void>;
}

/** The one call's state and undici's callbacks, in one object: a class keeps the callbacks on its prototype (no closures per call). */
class ForwardCall implements Dispatcher.DispatchHandler {
  private readonly sentAt = performance.now();
  private abortUpstream: ((reason?: Error) => void) | null = null;
  /** Set once Perch answered (or gave up): later upstream events are ignored. */
  private settled = false;
  private started = false;
  private resume: (() => void) | null = null;
  /** Kestra is paused until the caller's socket drains. */
  private draining = false;
  /** One 'drain' listener for the whole answer (a download pauses once per 64 KB read), made at the first pause. */
  private onDrain: (() => void) | null = null;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly options: DirectForwarderOptions,
  ) {
    res.on('close', this.onClose);
  }

  // A function of its own, made once per call: Node's emitter needs one it can remove.
  private readonly onClose = () => {
    // The caller went away (or logout cut the stream): stop reading from Kestra.
    if (!this.settled) {
      this.settled = true;
      this.abortUpstream?.();
    }
  };

  /** Only a failing call logs: its logger (with the request id) is made then. */
  private log(): FastifyBaseLogger {
    return this.options.log.child({ reqId: this.req.requestId });
  }

  /** Perch answers (or gives up): no more upstream events, no more listeners on the response. */
  private settle(): void {
    this.settled = true;
    this.res.removeListener('close', this.onClose);
    if (this.onDrain) this.res.removeListener('drain', this.onDrain);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort as (reason?: Error) => void;
    if (this.settled) abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resumeUpstream: () => void): boolean {
    if (this.settled) return false;
    const { res, options } = this;
    options.observe.kestraAnswered((performance.now() - this.sentAt) / 1000);
    if (statusCode === 401) {
      this.settle();
      this.abortUpstream?.();
      options.observe.kestraFailed('credentials_refused');
      options.onFailure(res, { statusCode: 401, message: 'Kestra refused Perch’s credentials' }, this.log());
      return false;
    }
    const out: string[] = [];
    let nominated: string[] | undefined;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toString('latin1').toLowerCase();
      const value = rawHeaders[i + 1]!.toString('latin1');
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
      this.settle();
      this.abortUpstream?.();
      options.observe.kestraFailed('invalid_answer');
      options.onFailure(res, { code: (error as { code?: string }).code, message: (error as Error).message }, this.log());
      return false;
    }
    // An event stream's headers go out at once: the browser's EventSource opens before the first event
    // (Kestra's notification stream may stay silent for hours).
    if (isEventStream(out)) res.flushHeaders();
    // From here on the answer is Kestra's, written straight to the socket.
    this.started = true;
    this.resume = resumeUpstream;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.settled) return false;
    // undici hands over an empty chunk each time it resumes after a pause (once per 64 KB read
    // of a download): written, each cost a write call down to a zero-length write(2).
    if (chunk.length === 0) return true;
    if (this.res.write(chunk)) return true;
    // The caller reads slower than Kestra sends: pause Kestra until the socket drains.
    this.draining = true;
    if (!this.onDrain) {
      this.onDrain = () => {
        if (!this.draining) return;
        this.draining = false;
        this.resume?.();
      };
      this.res.on('drain', this.onDrain);
    }
    return false;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settle();
    this.res.end();
  }

  onError(error: Error): void {
    if (this.settled) return;
    this.settle();
    const { res, options } = this;
    const logger = this.log();
    if (this.started) {
      // Mid-stream: the status line is gone, so the only honest signal is a cut connection.
      options.observe.kestraFailed('broken_off');
      logger.warn({ err: error }, 'Kestra’s answer broke off');
      res.destroy();
      return;
    }
    logger.warn({ err: error }, 'Kestra did not answer');
    const code = (error as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      options.observe.kestraFailed('timeout');
      return options.onFailure(res, { statusCode: 504, code, message: error.message, cause: error }, logger);
    }
    options.observe.kestraFailed('unreachable');
    options.onFailure(res, { code, message: error.message, cause: (error as { cause?: unknown }).cause }, logger);
  }
}

export function createDirectForwarder(options: DirectForwarderOptions): DirectForwarder {
  // Only the wait for headers is bounded. No cap on connections: an SSE stream (or a download read
  // slowly) holds its connection for as long as it lasts, and a capped pool full of them would queue
  // every other read forever (undici's headers timeout only starts once a request has a connection).
  // Each open connection to Kestra stands for one open connection of a caller.
  const pool = new Pool(options.origin, { connections: null, pipelining: 1, headersTimeout: options.headersTimeout, bodyTimeout: 0, keepAliveTimeout: 30_000 });
  const forwardOptions = { owned: options.ownedRequestHeaders };

  const requestHeaders = (call: ForwardedRead): Record<string, string> => {
    const headers = forwardableHeaders(call.req.rawHeaders, forwardOptions);
    headers.host = options.host;
    // Kestra's log can name the call Perch's log names (a caller's own id was dropped, as owned).
    if (call.req.requestId) headers[REQUEST_ID_HEADER] = call.req.requestId;
    // Anonymous calls (webhooks, which Kestra authenticates by their key) go without Perch's account.
    if (options.authorization && call.signedIn) headers.authorization = options.authorization;
    return headers;
  };

  return {
    eligible(req) {
      const method = req.method;
      if (method !== 'GET' && method !== 'HEAD') return false;
      const headers = req.headers;
      // A read that carries a body (unusual) keeps the general path.
      return headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
    },

    forward(call, path, query) {
      const handler = new ForwardCall(call.req, call.res, options);
      pool.dispatch({ path: query ? `${path}?${query}` : path, method: call.req.method as Dispatcher.HttpMethod, headers: requestHeaders(call) }, handler);
    },

    close() {
      return pool.close();
    },
  };
}
