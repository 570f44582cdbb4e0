import type { FastifyInstance } from 'fastify';
import type { PerchContext } from '../context.js';
import { registerAppApi } from './api-routes.js';
import { installAppBodyParsers } from './bodies.js';
import { registerAppPages } from './page-routes.js';
import type { Admission } from '../proxy/admission.js';

/** Apps (issue 23): EE's Apps API, and the pages that serve each app to its visitors. */
/** `admissions`: what may stop new executions now (maintenance, kill switches), handed over by server.ts. */
export function registerApps(app: FastifyInstance, ctx: PerchContext, admissions: readonly Admission[] = []): void {
  app.register(async (scope) => {
    installAppBodyParsers(scope, ctx.config.apps.maxUploadSize);
    registerAppApi(scope, ctx);
  });
  app.register(async (scope) => {
    installAppBodyParsers(scope, ctx.config.apps.maxUploadSize);
    registerAppPages(scope, ctx, admissions);
  });
}
