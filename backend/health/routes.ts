import type { FastifyInstance } from 'fastify';
import type { PerchContext } from '../context.js';
import { probeKestraReachable, probeKestraReady } from './kestra-probe.js';

const PUBLIC = { config: { access: 'public' as const } };

/**
 * `/perch/health` (kept as it was: Perch up, Kestra reachable, setup done), `/perch/health/live`
 * (Perch itself answers: for a liveness probe, never failing because Kestra is down) and
 * `/perch/health/ready` (Kestra answers and accepts Perch's credentials: 503 with the reason otherwise).
 */
export function registerHealthRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.get('/perch/health', PUBLIC, async (_request, reply) => {
    const kestra = await probeKestraReachable(ctx.config.kestra);
    const ready = await ctx.firstAdmin.isReady();
    return reply.header('cache-control', 'no-store').send({
      status: 'UP',
      setupRequired: !ready,
      kestra,
    });
  });

  app.get('/perch/health/live', PUBLIC, async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'UP' }));

  app.get('/perch/health/ready', PUBLIC, async (_request, reply) => {
    const kestra = await probeKestraReady(ctx.config.kestra);
    const setupRequired = !(await ctx.firstAdmin.isReady());
    const up = kestra.ready && !setupRequired;
    const reason = setupRequired ? 'Perch has no administrator yet: run `perch admin create`' : kestra.reason;
    return reply
      .code(up ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: up ? 'UP' : 'DOWN', ...(reason ? { reason } : {}), setupRequired, kestra });
  });
}
