import type { FastifyInstance } from 'fastify';
import { enterMaintenanceRequestSchema } from '../../lib/schemas/operations.js';
import type { PerchContext } from '../context.js';
import { instanceOwnersOnly, parse, principalOf } from '../http/request.js';
import { KestraClient } from './kestra-client.js';
import { MaintenanceMode } from './maintenance-mode.js';


/**
 * EE `/api/v1/instance/maintenance/{enter,exit,status}` (Kestra EE 2.0 spec, tags Cluster/Maintenance),
 * instance owners only. Returns the mode, which the proxy consults before forwarding (server.ts).
 */
export async function registerMaintenance(app: FastifyInstance, ctx: PerchContext): Promise<MaintenanceMode> {
  const kestra = new KestraClient(ctx.config.kestra);
  const mode = new MaintenanceMode(ctx, kestra);
  mode.follow();
  // A restart finds the state where it was left, in either phase.
  await mode.refresh();
  app.addHook('onClose', () => kestra.close());

  app.post('/api/v1/instance/maintenance/enter', instanceOwnersOnly, async (request) => {
    const body = parse(enterMaintenanceRequestSchema, request.body, null);
    await mode.enter(principalOf(request).userId, body?.message ?? null);
    return mode.status();
  });

  app.post('/api/v1/instance/maintenance/exit', instanceOwnersOnly, async (request) => {
    await mode.exit(principalOf(request).userId);
    return mode.status();
  });

  app.get('/api/v1/instance/maintenance/status', instanceOwnersOnly, async (_request, reply) => reply.header('cache-control', 'no-store').send(await mode.status()));

  return mode;
}
