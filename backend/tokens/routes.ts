import type { FastifyInstance } from 'fastify';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { notFound } from '../http/errors.js';
import { signedIn } from '../http/request.js';
import { registerServiceAccountRoutes } from '../service-accounts/routes.js';
import { findUserById } from '../users/user-store.js';
import { ownersOnly, registerTokenEndpoints } from './endpoints.js';
import { machineAccess } from './machine-access.js';

/**
 * Service accounts, API tokens and header authentication (issue 7, points 1 and 2). Call once,
 * after the guard: it wires the token and Basic caches to the session events replicas exchange.
 */
export function registerMachineAccess(app: FastifyInstance, ctx: PerchContext): void {
  const access = machineAccess(ctx);
  // Local revocations (disable, delete, password change, new flags) reach the caches at once…
  const announce = ctx.sessions.announce;
  ctx.sessions.announce = (event) => {
    access.onSessionEvent(event);
    announce(event);
  };
  // …and those made on other replicas arrive on the change feed (`<replica>|<event>`).
  ctx.changes.subscribe('sessions', (payload) => access.onSessionEvent(payload.slice(payload.indexOf('|') + 1)));
  // …unless the feed dropped some: then every cached token and Basic check is read again.
  ctx.changes.onResync(() => access.clear());
  app.addHook('onClose', async () => access.clear());

  registerTokenEndpoints(app, ctx, {
    path: '/api/v1/me/api-tokens',
    access: signedIn,
    owner: async (request) => (request.principal as Principal).userId,
    createdStatus: 200,
    deletedStatus: 200,
  });

  registerTokenEndpoints(app, ctx, {
    path: '/api/v1/users/:id/api-tokens',
    access: ownersOnly,
    owner: async (request) => {
      const { id } = request.params as { id: string };
      const user = await findUserById(ctx.db, id);
      if (!user || user.type !== 'STANDARD') throw notFound(`User ${id} not found`);
      return user.id;
    },
    createdStatus: 201,
    deletedStatus: 204,
  });

  registerServiceAccountRoutes(app, ctx);
}
