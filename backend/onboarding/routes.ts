import type { FastifyInstance } from 'fastify';
import type { PerchContext } from '../context.js';
import { createMailer } from '../mail/mailer.js';
import { registerInvitationRoutes } from './invitation-routes.js';
import { registerPasswordResetRoutes } from './password-reset.js';

/** Invitations and password reset (issue 7, points 3 and 4), with their mailer. */
export function registerOnboarding(app: FastifyInstance, ctx: PerchContext): void {
  const mailer = createMailer(ctx.config.mail);
  app.addHook('onClose', async () => mailer.close());
  registerInvitationRoutes(app, ctx, mailer);
  registerPasswordResetRoutes(app, ctx, mailer);
}
