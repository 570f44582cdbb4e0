import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'undici';
import { matchPolicy } from '../authz/policy-map.js';

/**
 * Before/after of flow changes through the proxy (issue 6, point 2): the source before is read from
 * Kestra with Perch's account just before the call is forwarded; the source after is Kestra's own
 * answer to the create or update (FlowWithSource JSON), read whole on its way to the client.
 */
export interface FlowCapture {
  tenant: string;
  namespace: string | null;
  id: string | null;
  before: string | null;
  beforeRevision: number | null;
  after: string | null;
  afterRevision: number | null;
  /** Why the source before could not be read, if it could not. */
  beforeError?: string;
  wantsAfter: boolean;
}

/** The rows whose flow source is captured, by `${method} ${path}`. */
const CAPTURED = new Set(['POST /api/v1/{tenant}/flows', 'PUT /api/v1/{tenant}/flows/{namespace}/{id}', 'DELETE /api/v1/{tenant}/flows/{namespace}/{id}']);
/** FlowWithSource answers are small; past this, the answer streams through without an "after". */
const MAX_AFTER_BYTES = 4 * 1024 * 1024;

const captures = new WeakMap<FastifyRequest, FlowCapture>();

export function flowCaptureOf(request: FastifyRequest): FlowCapture | undefined {
  return captures.get(request);
}

interface FlowJson {
  id?: unknown;
  namespace?: unknown;
  revision?: unknown;
  source?: unknown;
}

/** Reads the flow's current source when this authorized call changes one flow. Never fails the call. */
export async function captureFlowBefore(request: FastifyRequest, pool: Pool, headers: Record<string, string>): Promise<void> {
  const row = request.kestraCall?.row;
  if (!row || !CAPTURED.has(`${row.method} ${row.path}`)) return;
  const params = matchPolicy(request.method, request.canonical.path)?.params ?? {};
  const tenant = params.tenant ?? 'main';
  const capture: FlowCapture = {
    tenant,
    namespace: params.namespace ?? null,
    id: params.id ?? null,
    before: null,
    beforeRevision: null,
    after: null,
    afterRevision: null,
    wantsAfter: request.method !== 'DELETE',
  };
  captures.set(request, capture);
  if (!capture.namespace || !capture.id) return; // a create: nothing before
  const path = `/api/v1/${encodeURIComponent(tenant)}/flows/${encodeURIComponent(capture.namespace)}/${encodeURIComponent(capture.id)}?source=true`;
  try {
    const res = await pool.request({ method: 'GET', path, headers });
    if (res.statusCode === 404) {
      await res.body.dump();
      return;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      capture.beforeError = `Kestra answered ${res.statusCode}`;
      return;
    }
    const flow = (await res.body.json()) as FlowJson;
    capture.before = typeof flow.source === 'string' ? flow.source : null;
    capture.beforeRevision = typeof flow.revision === 'number' ? flow.revision : null;
  } catch (error) {
    capture.beforeError = (error as { code?: string }).code ?? (error as Error).message;
  }
}

/** True when Kestra's answer to this call should be read for the source after. */
export function wantsFlowAfter(request: FastifyRequest, statusCode: number, contentType: unknown): boolean {
  const capture = captures.get(request);
  return !!capture?.wantsAfter && statusCode >= 200 && statusCode < 300 && /json/i.test(String(contentType ?? ''));
}

/** Reads Kestra's FlowWithSource answer whole, keeps its source and revision, and sends the same bytes. */
export async function sendTeedFlow(request: FastifyRequest, reply: FastifyReply, stream: NodeJS.ReadableStream): Promise<unknown> {
  const capture = captures.get(request)!;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    chunks.push(buf);
  }
  const body = Buffer.concat(chunks);
  if (size <= MAX_AFTER_BYTES) {
    try {
      const flow = JSON.parse(body.toString('utf8')) as FlowJson;
      if (typeof flow.source === 'string') capture.after = flow.source;
      if (typeof flow.revision === 'number') capture.afterRevision = flow.revision;
      if (typeof flow.namespace === 'string') capture.namespace ??= flow.namespace;
      if (typeof flow.id === 'string') capture.id ??= flow.id;
    } catch {
      // Not a flow after all: the answer still goes out untouched.
    }
  }
  return reply.send(body);
}
