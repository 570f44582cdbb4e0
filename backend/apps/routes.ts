import type { FastifyInstance } from 'fastify';
import type { PerchContext } from '../context.js';
import { registerAppApi } from './api-routes.js';
import { installAppBodyParsers } from './bodies.js';

/** Apps (issue 23): EE's Apps API. */
export function registerApps(app: FastifyInstance, ctx: PerchContext): void {
  app.register(async (scope) => {
    installAppBodyParsers(scope, ctx.config.apps.maxUploadSize);
    registerAppApi(scope, ctx);
  });
}
