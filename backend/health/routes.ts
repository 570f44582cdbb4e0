import type { FastifyInstance } from 'fastify';
import { request as undiciRequest } from 'undici';
import type { PerchContext } from '../context.js';

/** Is Kestra answering? Asked of its one unauthenticated endpoint, bounded to two seconds. */
async function probeKestra(url: string): Promise<{ reachable: boolean; status?: number; latencyMs?: number; error?: string }> {
  const started = performance.now();
  try {
    const res = await undiciRequest(new URL('/api/v1/configs/login', url), { method: 'GET', headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return { reachable: res.statusCode < 500, status: res.statusCode, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const err = error as { code?: string; message: string };
    return { reachable: false, error: err.code ?? err.message };
  }
}

export function registerHealthRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.get('/perch/health', { config: { access: 'public' } }, async (_request, reply) => {
    const kestra = await probeKestra(ctx.config.kestra.url);
    const ready = await ctx.firstAdmin.isReady();
    return reply.header('cache-control', 'no-store').send({
      status: 'UP',
      setupRequired: !ready,
      kestra,
    });
  });
}
