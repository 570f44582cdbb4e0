import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PolicyRow } from '../authz/policy-map.js';

/*
 * Admission: after a Kestra call is authorized and before it is forwarded, the features that may stop
 * new work (maintenance mode, kill switches) look at it. They are handed to the proxy by server.ts, so
 * the proxy imports none of them.
 */

export interface AdmissionCall {
  request: FastifyRequest;
  reply: FastifyReply;
  row: PolicyRow;
  /** The namespaces the call touches, as the authorizer found them. */
  namespaces: string[];
  /** The query Perch forwards (the authorizer's, else the caller's). */
  query: string;
  /** The body exactly as it would be forwarded (read now if nobody read it yet). */
  body(): Promise<Buffer>;
}

export interface Admission {
  /**
   * From memory, at once: whether this operation may be stopped now. The fast lane hands such calls
   * to Fastify, where {@link Admission.stops} decides.
   */
  concerns(row: PolicyRow): boolean;
  /** True when it answered the call itself (refused, or held): nothing goes to Kestra. */
  stops(call: AdmissionCall): Promise<boolean>;
  /**
   * For an execution Perch starts itself (an app's form): the refusal, if this feature stops new
   * executions of `flowId` in `namespace` now; null otherwise. From memory.
   */
  refusesNewExecution(namespace: string, flowId: string): NewExecutionRefusal | null;
}

export interface NewExecutionRefusal {
  status: number;
  message: string;
  /** Seconds, for a Retry-After. */
  retryAfter?: number;
}
