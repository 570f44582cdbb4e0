import { requestFields } from '../audit/http-hook.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { INSTANCE_CHAIN } from '../../lib/schemas/audit.js';
import { forgottenPasswordRequestSchema, resetPasswordRequestSchema } from '../../lib/schemas/onboarding.js';
import { crossSiteBrowserProblem } from '../auth/guard.js';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import type { PerchContext } from '../context.js';
import { forbidden, HttpError, sendError } from '../http/errors.js';
import { parse } from '../http/request.js';
import type { Mailer } from '../mail/mailer.js';
import { passwordResetMail } from '../mail/messages.js';
import { findUserByEmail, findUserById, updateUser } from '../users/user-store.js';
import { describeRules, renderForgottenPage, renderResetPage } from './pages.js';
import { hashLinkToken, linkTo, newLinkToken } from './secret-links.js';
import { perchPageReply } from '../http/perch-page.js';

export const RESET_PATH = '/perch/reset-password';

const publicRoute = { config: { access: 'public' as const } };

/**
 * Reset requests per client IP per window, in memory (like the sign-in IP budget). At most
 * `maxTracked` addresses are tracked: past it, ended windows go first, then the oldest ones.
 */
export class IpBudget {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();
  constructor(private readonly max: number, private readonly windowMs: number, private readonly maxTracked = 10_000) {}

  /** Addresses tracked now (at most `maxTracked`). */
  get tracked(): number {
    return this.windows.size;
  }

  /** Counts one request; false when the IP is over its budget. */
  allow(ip: string, now = Date.now()): boolean {
    if (this.windows.size >= this.maxTracked && !this.windows.has(ip)) {
      for (const [key, w] of this.windows) if (now - w.startedAt >= this.windowMs) this.windows.delete(key);
      // Windows are added in the order they start: the first one is the oldest.
      if (this.windows.size >= this.maxTracked) this.windows.delete(this.windows.keys().next().value!);
    }
    const w = this.windows.get(ip);
    if (!w || now - w.startedAt >= this.windowMs) {
      this.windows.delete(ip); // a new window goes to the end of the order
      this.windows.set(ip, { startedAt: now, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= this.max;
  }
}


/**
 * Issues a reset link when the email belongs to an active person with a password, unless one was
 * issued within the cooldown. Run by {@link requestResetAfterAnswer}, never awaited by a route.
 */
async function requestReset(ctx: PerchContext, request: FastifyRequest, mailer: Mailer, username: string): Promise<void> {
  const email = username.trim().toLowerCase();
  const user = email ? await findUserByEmail(ctx.db, email) : undefined;
  if (!user || user.disabled === 1 || user.restricted === 1 || !user.password_hash) return;
  const now = Date.now();
  const recent = await ctx.db
    .selectFrom('password_resets')
    .select('created_at')
    .where('user_id', '=', user.id)
    .where('created_at', '>', now - ctx.config.passwordReset.cooldown)
    .executeTakeFirst();
  if (recent) return;
  const { token, hash } = newLinkToken();
  await ctx.db.transaction().execute(async (trx) => {
    // Only the newest link works.
    await trx.deleteFrom('password_resets').where('user_id', '=', user.id).execute();
    await trx.insertInto('password_resets').values({ token_hash: hash, user_id: user.id, created_at: now, expires_at: now + ctx.config.passwordReset.validFor, used_at: null }).execute();
  });
  await ctx.audit.record({
    tenantId: INSTANCE_CHAIN,
    actor: { type: 'ANONYMOUS', email },
    action: 'UPDATE',
    resourceType: 'USER',
    resourceId: user.id,
    ...requestFields(request),
    outcome: 'SUCCESS',
    details: { subresource: 'password-reset-request', mailed: mailer.enabled, path: request.canonical?.path ?? null },
  });
  if (!mailer.enabled) {
    request.log.warn({ userId: user.id }, 'password reset requested but mail is not configured (mail.smtp.host): no link was sent');
    return;
  }
  const link = linkTo(ctx, request, RESET_PATH, token);
  const validForMinutes = Math.round(ctx.config.passwordReset.validFor / 60_000);
  void mailer.send(user.email, passwordResetMail({ link, validForMinutes })).catch((error: unknown) => {
    request.log.error({ err: error, userId: user.id }, 'could not mail the password reset link');
  });
}

/**
 * Starts {@link requestReset} without waiting for it: the answer must take the same time whether or
 * not the account exists, and looking it up, storing a link and auditing do not.
 */
function requestResetAfterAnswer(ctx: PerchContext, request: FastifyRequest, mailer: Mailer, username: string): void {
  requestReset(ctx, request, mailer, username).catch((error: unknown) => request.log.error({ err: error }, 'could not issue a password reset link'));
}

/** Sets the new password from a reset link; the link stays usable when the password breaks a rule. */
async function resetPassword(ctx: PerchContext, request: FastifyRequest, body: unknown): Promise<void> {
  if (crossSiteBrowserProblem(ctx, request)) throw forbidden('Cross-site request refused');
  const parsed = parse(resetPasswordRequestSchema, body);
  const tokenHash = hashLinkToken(parsed.token);
  const now = Date.now();
  const row = await ctx.db.selectFrom('password_resets').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  if (!row) throw new HttpError(404, 'This reset link is not valid: ask for a new one.');
  if (row.used_at !== null) throw new HttpError(410, 'This reset link has already been used: ask for a new one.');
  if (row.expires_at <= now) throw new HttpError(410, 'This reset link has expired: ask for a new one.');
  const user = await findUserById(ctx.db, row.user_id);
  if (!user || user.disabled === 1) throw new HttpError(410, 'This account can no longer reset its password: ask an administrator.');
  const problem = passwordProblem(parsed.password, ctx.config.password);
  if (problem) throw new HttpError(422, problem, { errors: [{ path: 'password', message: problem }] });
  const passwordHash = await hashPassword(parsed.password);
  await ctx.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('password_resets')
      .set({ used_at: Date.now() })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', Date.now())
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) throw new HttpError(410, 'This reset link has already been used: ask for a new one.');
    await updateUser(trx, user.id, { passwordHash });
  });
  // Everyone signed in as this person (a thief, maybe) is signed out, and a lockout ends.
  await ctx.sessions.revokeUser(user.id);
  await ctx.throttle.clear(user.email);
  await ctx.audit.record({
    tenantId: INSTANCE_CHAIN,
    actor: { type: 'USER', id: user.id, email: user.email },
    action: 'UPDATE',
    resourceType: 'USER',
    resourceId: user.id,
    ...requestFields(request),
    outcome: 'SUCCESS',
    details: { subresource: 'password', via: 'reset link', path: request.canonical?.path ?? null },
  });
}

const html = (reply: FastifyReply) => perchPageReply(reply, { secretLink: true });

export function registerPasswordResetRoutes(app: FastifyInstance, ctx: PerchContext, mailer: Mailer): void {
  const budget = new IpBudget(ctx.config.passwordReset.maxRequestsPerIp, ctx.config.passwordReset.window);
  const tooMany = 'Too many password reset requests from this address; try again later';

  // Always 200 (no hint whether the account exists), unless this address is over its budget.
  app.post('/api/v1/forgotten-password', publicRoute, async (request, reply) => {
    const body = parse(forgottenPasswordRequestSchema, request.body);
    if (!budget.allow(request.clientAddress ?? '')) {
      reply.header('retry-after', String(Math.ceil(ctx.config.passwordReset.window / 1000)));
      return sendError(reply, 429, tooMany);
    }
    requestResetAfterAnswer(ctx, request, mailer, body.username);
    return reply.header('cache-control', 'no-store').send({});
  });

  app.post('/api/v1/reset-password', publicRoute, async (request, reply) => {
    await resetPassword(ctx, request, request.body);
    return reply.header('cache-control', 'no-store').send({});
  });

  // Kestra EE's policy check (text/plain body): 200 when the password is acceptable, else 422 with the reason.
  app.post('/api/v1/validate-password', publicRoute, async (request, reply) => {
    const password = typeof request.body === 'string' ? request.body : '';
    const problem = passwordProblem(password, ctx.config.password);
    if (problem) return sendError(reply, 422, problem, { errors: [{ path: 'password', message: problem }] });
    return reply.send({});
  });

  const mailOff = !mailer.enabled;
  app.get('/perch/forgotten-password', publicRoute, async (_request, reply) => html(reply).send(renderForgottenPage({ mailOff })));

  app.post('/perch/forgotten-password', publicRoute, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (crossSiteBrowserProblem(ctx, request)) return html(reply).code(403).send(renderForgottenPage({ error: 'Cross-site request refused' }));
    // Without a mail server there is no link to promise (the same answer for every email: it tells nothing).
    if (mailOff) return html(reply).send(renderForgottenPage({ mailOff }));
    if (!budget.allow(request.clientAddress ?? '')) return html(reply).code(429).send(renderForgottenPage({ error: tooMany }));
    requestResetAfterAnswer(ctx, request, mailer, typeof body.username === 'string' ? body.username.slice(0, 320) : '');
    return html(reply).send(renderForgottenPage({ notice: 'If this email belongs to an account, a link to choose a new password is on its way.' }));
  });

  app.get(RESET_PATH, publicRoute, async (request, reply) => {
    const token = (request.query as Record<string, unknown>).token;
    if (typeof token !== 'string' || token.length > 200) return html(reply).code(404).send(renderResetPage({ dead: true }));
    const row = await ctx.db.selectFrom('password_resets').selectAll().where('token_hash', '=', hashLinkToken(token)).executeTakeFirst();
    if (!row || row.used_at !== null || row.expires_at <= Date.now()) {
      return html(reply).code(row ? 410 : 404).send(renderResetPage({ dead: true, error: row ? 'This reset link has expired or has already been used: ask for a new one.' : undefined }));
    }
    return html(reply).send(renderResetPage({ token, rules: describeRules(ctx.config.password) }));
  });

  app.post(RESET_PATH, publicRoute, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    try {
      await resetPassword(ctx, request, body);
      return html(reply).send(renderResetPage({ notice: 'Your password has been changed and every session signed out. Sign in with the new password.' }));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const token = typeof body.token === 'string' ? body.token : undefined;
      return html(reply).code(error.status).send(renderResetPage({ token, dead: error.status !== 422, rules: describeRules(ctx.config.password), error: error.message }));
    }
  });
}
