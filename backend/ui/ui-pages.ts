import type { FastifyReply, FastifyRequest } from 'fastify';
import { injectScreens } from './screens-bundle.js';

/** Kestra answers every /ui/** path that is not a file with its index.html (the SPA's routes). */
export function isUiPage(request: FastifyRequest): boolean {
  const path = request.canonical.path;
  if (request.method !== 'GET' || !(path === '/ui' || path.startsWith('/ui/')) || path.startsWith('/ui/assets/')) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return !/\.[A-Za-z0-9]+$/.test(last);
}

/**
 * A UI page may only be framed by Perch's own origin: the screens on it delete users and mint tokens
 * in a click or two (clickjacking). Kestra 2.0 sends X-Frame-Options itself, and its choice stands;
 * an older or differently configured Kestra that sends none gets SAMEORIGIN.
 */
export function guardUiPageFraming(reply: FastifyReply, upstreamHeaders: Record<string, unknown> | undefined): void {
  const policy = String(upstreamHeaders?.['content-security-policy'] ?? '');
  if (upstreamHeaders?.['x-frame-options'] === undefined && !/frame-ancestors/i.test(policy)) reply.header('x-frame-options', 'SAMEORIGIN');
}

/** Kestra's index.html is a few KB; a page announced as far larger is passed through untouched. */
const MAX_PAGE_BYTES = 2 * 1024 * 1024;

/** Sends a UI page with Perch's screens added; anything that is not a whole HTML page streams through. */
export async function sendWithScreens(reply: FastifyReply, res: { statusCode: number; headers?: Record<string, unknown>; stream: NodeJS.ReadableStream }): Promise<FastifyReply> {
  const type = String(res.headers?.['content-type'] ?? '');
  const encoding = String(res.headers?.['content-encoding'] ?? 'identity');
  if (res.statusCode !== 200 || !/^text\/html/i.test(type) || encoding !== 'identity') return reply.send(res.stream);
  const declared = Number(res.headers?.['content-length'] ?? 0);
  if (declared > MAX_PAGE_BYTES) return reply.send(res.stream);
  const chunks: Buffer[] = [];
  for await (const chunk of res.stream) chunks.push(chunk as Buffer);
  const html = injectScreens(Buffer.concat(chunks).toString('utf8'));
  reply.removeHeader('content-length');
  reply.removeHeader('etag');
  return reply.header('cache-control', 'no-cache').send(html);
}
