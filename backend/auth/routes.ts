import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loginRequestSchema } from '../../lib/schemas/users.js';
import { recordAuthFailure } from '../audit/auth-failures.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import type { PerchContext } from '../context.js';
import { sendError } from '../http/errors.js';
import { clearLoginCookies, readSessionToken, setLoginCookies } from './cookies.js';
import { crossSiteBrowserProblem, csrfProblem } from './guard.js';
import { throttledAnswer } from './login-throttle.js';
import { passwordSignIn } from './password-sign-in.js';
import { renderLoginPage } from './login-page.js';
import { perchPageReply } from '../http/perch-page.js';

type LoginOutcome = { ok: true } | { ok: false; status: number; message: string; retryAfterSeconds?: number };

const WRONG_CREDENTIALS = 'Email or password is incorrect';

/** Only same-site relative targets survive: `//host` and `/\host` would leave Perch. */
export function safeReturnPath(from: unknown): string {
  if (typeof from !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(from) || from.includes('\\')) return '/ui/';
  return from;
}

/** Password sign-in shared by Perch's form, its JSON API and Kestra's own `POST /api/v1/login`. */
async function signIn(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply, body: unknown): Promise<LoginOutcome> {
  const parsed = loginRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, status: 400, message: 'Give an email (username) and a password' };
  if (crossSiteBrowserProblem(ctx, request)) {
    return { ok: false, status: 403, message: 'Cross-site sign-in refused' };
  }
  const email = parsed.data.username.trim().toLowerCase().slice(0, 320);
  const attempt = await passwordSignIn(ctx, request, 'password', email, parsed.data.password);
  const throttled = throttledAnswer(attempt);
  if (throttled) return { ok: false, status: 429, ...throttled };
  if (attempt.outcome !== 'ok') {
    const locked = attempt.outcome === 'wrong' ? attempt.lockedUntil : null;
    request.log.info({ event: 'login.failed', email, locked: Boolean(locked) }, 'sign-in refused');
    return { ok: false, status: 401, message: WRONG_CREDENTIALS };
  }
  const { user } = attempt;
  if (user.disabled === 1) {
    recordAuthFailure(ctx, request, { action: 'LOGIN_FAILURE', authMethod: 'password', email, userId: user.id, reason: 'account disabled' });
    return { ok: false, status: 403, message: 'This account is disabled; ask an administrator' };
  }
  // A fresh id at every sign-in: a planted cookie (session fixation) is thrown away.
  await ctx.sessions.revokeToken(readSessionToken(request, ctx.cookies));
  const session = await ctx.sessions.create(user, { ip: request.clientAddress ?? undefined, userAgent: request.headers['user-agent'] });
  await recordSecurityEvent(ctx, request, { action: 'LOGIN', email: user.email, userId: user.id });
  setLoginCookies(reply, ctx.cookies, session.token);
  request.log.info({ event: 'login.succeeded', userId: user.id }, 'signed in');
  return { ok: true };
}

function sendLoginFailure(reply: FastifyReply, outcome: Extract<LoginOutcome, { ok: false }>) {
  if (outcome.retryAfterSeconds) reply.header('retry-after', String(outcome.retryAfterSeconds));
  return sendError(reply, outcome.status, outcome.message);
}

async function signOut(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply) {
  const problem = csrfProblem(ctx, request);
  if (problem) return sendError(reply, 403, problem);
  const token = readSessionToken(request, ctx.cookies);
  const principal = await ctx.sessions.resolve(token);
  await ctx.sessions.revokeToken(token);
  if (principal) await recordSecurityEvent(ctx, request, { action: 'LOGOUT', email: principal.email, userId: principal.userId });
  clearLoginCookies(reply, ctx.cookies);
  return reply.code(204).send();
}

const publicRoute = { config: { access: 'public' as const } };

export function registerAuthRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.get('/perch/login', publicRoute, async (request, reply) => {
    const from = safeReturnPath((request.query as Record<string, unknown>).from);
    return perchPageReply(reply).send(renderLoginPage(ctx.config, { from }));
  });

  // The HTML form: answers with a redirect on success, the page again with the reason on failure.
  app.post('/perch/login', publicRoute, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const from = safeReturnPath(body.from);
    const outcome = await signIn(ctx, request, reply, body);
    if (outcome.ok) return reply.redirect(from, 303);
    if (outcome.retryAfterSeconds) reply.header('retry-after', String(outcome.retryAfterSeconds));
    const email = typeof body.username === 'string' ? body.username : undefined;
    return perchPageReply(reply).code(outcome.status).send(renderLoginPage(ctx.config, { from, email, error: outcome.message }));
  });

  // JSON sign-in for scripts and for the stock Kestra UI, whose login form posts here.
  for (const url of ['/perch/api/login', '/api/v1/login']) {
    app.post(url, publicRoute, async (request, reply) => {
      const outcome = await signIn(ctx, request, reply, request.body);
      return outcome.ok ? reply.code(204).send() : sendLoginFailure(reply, outcome);
    });
  }
  for (const url of ['/perch/api/logout', '/api/v1/logout', '/perch/logout']) {
    app.post(url, publicRoute, (request, reply) => signOut(ctx, request, reply));
  }

  // Kestra's own login and first-run setup pages are never shown: people sign in at Perch.
  for (const url of ['/ui/login', '/ui/setup', '/ui/:tenant/login', '/ui/:tenant/setup']) {
    app.get(url, publicRoute, (_request, reply) => reply.redirect('/perch/login?from=%2Fui%2F', 302));
  }
  app.get('/api/v1/configs/login', publicRoute, async () => ({ isBasicAuthInitialized: true }));
  const kestraCredentials = (_request: FastifyRequest, reply: FastifyReply) =>
    sendError(reply, 403, "Kestra's own credentials are managed by Perch's configuration, not through the API");
  app.get('/api/v1/basicAuthValidationErrors', kestraCredentials);
  app.post('/api/v1/basicAuth', kestraCredentials);
  app.post('/api/v1/:tenant/basicAuth', kestraCredentials);
}
