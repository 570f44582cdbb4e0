import type { FastifyInstance } from 'fastify';
import type { PerchContext } from '../context.js';
import { registerAppApi } from './api-routes.js';
import { installAppBodyParsers } from './bodies.js';
import { registerAppPages } from './page-routes.js';

/** Apps (issue 23): EE's Apps API, and the pages that serve each app to its visitors. */
export function registerApps(app: FastifyInstance, ctx: PerchContext): void {
  app.register(async (scope) => {
    installAppBodyParsers(scope, ctx.config.apps.maxUploadSize);
    registerAppApi(scope, ctx);
  });
  app.register(async (scope) => {
    installAppBodyParsers(scope, ctx.config.apps.maxUploadSize);
    registerAppPages(scope, ctx);
  });
}
