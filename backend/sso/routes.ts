import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiAuths, SsoProviderConfig } from '../../lib/schemas/sso.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { recordAuthFailure } from '../audit/auth-failures.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { readSessionToken, setLoginCookies } from '../auth/cookies.js';
import { renderLoginPage } from '../auth/login-page.js';
import { safeReturnPath } from '../auth/routes.js';
import type { PerchContext } from '../context.js';
import { addMember, bindDefaultRole, findGroup, isUniqueViolation, membershipOf } from '../iam/iam-store.js';
import { createUser, findUserByEmail, findUserById, type UserRow } from '../users/user-store.js';
import { loadOidcLibrary, OidcClients, type OpenIdClient } from './oidc.js';
import { findIdentity, hashHandle, linkIdentity, saveLoginAttempt, takeLoginAttempt, touchIdentity } from './sso-store.js';
import { perchPageReply } from '../http/perch-page.js';

/** How long a person has to finish signing in at the provider. */
const ATTEMPT_TTL_MS = 10 * 60_000;

const publicRoute = { config: { access: 'public' as const } };

/**
 * The sign-in in flight lives in the store (state, nonce, PKCE verifier, return path); the browser
 * only holds a random handle to it in this HttpOnly cookie. Why not a signed cookie: Perch has no
 * configured signing secret shared by its replicas, the verifier never leaves the server, and a
 * deleted row makes each attempt single-use (a replayed callback finds nothing). The cookie ties
 * the callback to the browser that started it, so nobody can sign a victim into their own account
 * by sending them a callback link (login CSRF). SameSite=Lax: the provider's redirect back is a
 * top-level GET, which Lax lets through.
 */
const attemptCookie = (ctx: PerchContext) => (ctx.cookies.secure ? '__Host-perch_sso' : 'perch_sso');

export const ssoLoginUrl = (providerId: string, from?: string) =>
  `/perch/sso/${encodeURIComponent(providerId)}/login${from ? `?from=${encodeURIComponent(from)}` : ''}`;

/** Perch's own address as the provider must send people back to it. */
function baseUrl(ctx: PerchContext, request: FastifyRequest): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}

const callbackUrl = (ctx: PerchContext, request: FastifyRequest, provider: SsoProviderConfig) =>
  `${baseUrl(ctx, request)}/perch/sso/${encodeURIComponent(provider.id)}/callback`;

class SsoRefusal extends Error {
  constructor(readonly status: number, message: string, readonly reason: string, readonly email = '', readonly userId: string | null = null) {
    super(message);
  }
}

function refusalPage(ctx: PerchContext, reply: FastifyReply, status: number, message: string, from = '/ui/') {
  return perchPageReply(reply)
    .code(status)
    .send(renderLoginPage(ctx.config, { from, error: message }));
}

const asString = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

function groupValues(claim: unknown): string[] {
  if (typeof claim === 'string') return [claim];
  if (Array.isArray(claim)) return claim.filter((v): v is string => typeof v === 'string');
  return [];
}

/** Adds the memberships the provider's groups map to (never removes any); true if one was added. */
async function applyGroupMapping(ctx: PerchContext, provider: SsoProviderConfig, userId: string, claims: Record<string, unknown>): Promise<boolean> {
  const wanted = new Set<string>();
  for (const value of groupValues(claims[provider.groupsClaim])) {
    const groupId = Object.hasOwn(provider.groupMapping, value) ? provider.groupMapping[value] : undefined;
    if (groupId) wanted.add(groupId);
  }
  let changed = false;
  for (const groupId of wanted) {
    if (!(await findGroup(ctx.db, DEFAULT_TENANT, groupId))) {
      ctx.log.warn({ event: 'sso.group-mapping', provider: provider.id, groupId }, 'SSO group mapping names a group that does not exist');
      continue;
    }
    if (await membershipOf(ctx.db, groupId, userId)) continue;
    try {
      await addMember(ctx.db, DEFAULT_TENANT, groupId, userId, 'MEMBER');
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    ctx.authz.addMembership({ tenantId: DEFAULT_TENANT, groupId, userId });
    changed = true;
  }
  return changed;
}

/** The provider's subject → the Perch user it is linked to, or the one with its verified email, or a new one. */
async function resolveUser(ctx: PerchContext, provider: SsoProviderConfig, claims: Record<string, unknown>): Promise<{ user: UserRow; created: boolean }> {
  const subject = String(claims.sub);
  const email = asString(claims.email)?.trim().toLowerCase();
  const link = await findIdentity(ctx.db, provider.id, subject);
  if (link) {
    const user = await findUserById(ctx.db, link.user_id);
    if (user) {
      await touchIdentity(ctx.db, provider.id, subject, email ?? null);
      return { user, created: false };
    }
  }
  if (!email) throw new SsoRefusal(403, `${provider.name} did not give an email address; Perch cannot sign you in`, 'no email claim');
  // Missing counts as unverified: an unverified address could belong to somebody else's Perch account.
  if (claims.email_verified !== true) {
    throw new SsoRefusal(403, `${provider.name} has not verified your email address; verify it there, then sign in again`, 'email not verified at the provider', email);
  }
  let user = await findUserByEmail(ctx.db, email);
  let created = false;
  if (!user) {
    try {
      user = await createUser(ctx.db, { email, firstName: asString(claims.given_name) ?? null, lastName: asString(claims.family_name) ?? null, passwordHash: null });
      created = true;
      ctx.tenants.granted(user.tenant_id, user.id);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      user = await findUserByEmail(ctx.db, email);
      if (!user) throw new SsoRefusal(403, 'This email address belongs to an account that cannot sign in with SSO', 'email taken by a non-person account', email);
    }
  }
  await linkIdentity(ctx.db, { providerId: provider.id, subject, userId: user.id, email });
  const linked = await findIdentity(ctx.db, provider.id, subject);
  if (linked && linked.user_id !== user.id) {
    // A concurrent first sign-in linked this subject elsewhere first: follow the link.
    user = (await findUserById(ctx.db, linked.user_id)) ?? user;
  }
  return { user, created };
}

async function startLogin(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply, clients: OidcClients, provider: SsoProviderConfig) {
  const from = safeReturnPath((request.query as Record<string, unknown>).from);
  let configuration: OpenIdClient.Configuration;
  try {
    configuration = await clients.configuration(provider);
  } catch (error) {
    request.log.error({ err: error, provider: provider.id }, 'OpenID Connect discovery failed');
    return refusalPage(ctx, reply, 502, `${provider.name} cannot be reached right now; try again later`, from);
  }
  const client = await loadOidcLibrary();
  const handle = randomBytes(32).toString('base64url');
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  const now = Date.now();
  await saveLoginAttempt(ctx.db, {
    id_hash: hashHandle(handle), provider_id: provider.id, state, nonce, code_verifier: verifier, return_to: from, created_at: now, expires_at: now + ATTEMPT_TTL_MS,
  });
  const scopes = new Set(['openid', ...provider.scopes]);
  const target = client.buildAuthorizationUrl(configuration, {
    redirect_uri: callbackUrl(ctx, request, provider),
    scope: [...scopes].join(' '),
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  reply.setCookie(attemptCookie(ctx), handle, { path: '/', httpOnly: true, secure: ctx.cookies.secure, sameSite: 'lax', maxAge: ATTEMPT_TTL_MS / 1000 });
  return reply.header('cache-control', 'no-store').redirect(target.href, 302);
}

async function finishLogin(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply, clients: OidcClients, provider: SsoProviderConfig) {
  const query = request.query as Record<string, unknown>;
  const cookieName = attemptCookie(ctx);
  const handle = request.cookies[cookieName];
  reply.clearCookie(cookieName, { path: '/', httpOnly: true, secure: ctx.cookies.secure, sameSite: 'lax' });
  const attempt = handle ? await takeLoginAttempt(ctx.db, hashHandle(handle)) : undefined;
  const fail = async (error: SsoRefusal) => {
    recordAuthFailure(ctx, request, { action: 'LOGIN_FAILURE', authMethod: 'sso', email: error.email || null, userId: error.userId, reason: `SSO ${provider.id}: ${error.reason}` });
    request.log.info({ event: 'sso.login.failed', provider: provider.id, reason: error.reason }, 'SSO sign-in refused');
    return refusalPage(ctx, reply, error.status, error.message, attempt?.return_to);
  };
  if (!attempt || attempt.provider_id !== provider.id) {
    return fail(new SsoRefusal(400, 'This sign-in is unknown, expired or already used; start again', 'unknown or reused sign-in attempt'));
  }
  if (query.state !== attempt.state) return fail(new SsoRefusal(400, 'The sign-in answer does not match the sign-in started here; start again', 'state mismatch'));
  const providerError = asString(query.error);
  if (providerError) {
    const description = asString(query.error_description);
    return fail(new SsoRefusal(401, `${provider.name} did not sign you in${description ? `: ${description.slice(0, 200)}` : ''}`, `provider error ${providerError.slice(0, 100)}`));
  }

  let claims: Record<string, unknown>;
  try {
    const configuration = await clients.configuration(provider);
    const client = await loadOidcLibrary();
    const currentUrl = new URL(request.url, callbackUrl(ctx, request, provider));
    // openid-client checks state, the PKCE verifier (via the provider), and the ID token's
    // signature, iss, aud, exp and nonce.
    const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: attempt.code_verifier,
      expectedState: attempt.state,
      expectedNonce: attempt.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims()!;
    claims = { ...idClaims };
    // Providers often keep email and groups out of the ID token: ask the userinfo endpoint too
    // (openid-client checks its `sub` is the ID token's).
    if (configuration.serverMetadata().userinfo_endpoint && tokens.access_token) {
      const info = await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
      claims = { ...info, ...idClaims };
    }
  } catch (error) {
    request.log.warn({ err: error, provider: provider.id }, 'SSO code exchange or ID token validation failed');
    return fail(new SsoRefusal(400, `The answer from ${provider.name} could not be verified; start again`, `token validation failed: ${(error as Error).message?.slice(0, 200) ?? 'unknown'}`));
  }

  let user: UserRow;
  let created: boolean;
  try {
    ({ user, created } = await resolveUser(ctx, provider, claims));
  } catch (error) {
    if (error instanceof SsoRefusal) return fail(error);
    throw error;
  }
  if (user.disabled === 1) return fail(new SsoRefusal(403, 'This account is disabled; ask an administrator', 'account disabled', user.email, user.id));
  if (user.type !== 'STANDARD') return fail(new SsoRefusal(403, 'Service accounts cannot sign in', 'service account', user.email, user.id));

  let iamChanged = false;
  if (created) iamChanged = (await bindDefaultRole(ctx, user.id)) !== null;
  if (await applyGroupMapping(ctx, provider, user.id, claims)) iamChanged = true;
  // Other replicas re-read the authorization facts (this one is already patched).
  if (iamChanged) await ctx.changes.publish('iam', 'sso').catch((error) => request.log.error({ err: error }, 'could not announce an IAM change'));

  // As the password sign-in: a fresh session id, any planted cookie thrown away.
  await ctx.sessions.revokeToken(readSessionToken(request, ctx.cookies));
  const session = await ctx.sessions.create(user, { ip: request.clientAddress ?? undefined, userAgent: request.headers['user-agent'] });
  await recordSecurityEvent(ctx, request, { action: 'LOGIN', email: user.email, userId: user.id, reason: `SSO ${provider.id}` });
  setLoginCookies(reply, ctx.cookies, session.token);
  request.log.info({ event: 'login.succeeded', userId: user.id, provider: provider.id, created }, 'signed in with SSO');
  return reply.header('cache-control', 'no-store').redirect(safeReturnPath(attempt.return_to), 303);
}

export function registerSsoRoutes(app: FastifyInstance, ctx: PerchContext): void {
  const clients = new OidcClients();
  const providerOf = (request: FastifyRequest) => {
    const id = (request.params as { provider?: string }).provider;
    return ctx.config.sso.providers.find((p) => p.id === id);
  };

  app.get('/perch/sso/:provider/login', publicRoute, async (request, reply) => {
    const provider = providerOf(request);
    if (!provider) return refusalPage(ctx, reply, 404, 'There is no such sign-in provider');
    return startLogin(ctx, request, reply, clients, provider);
  });

  app.get('/perch/sso/:provider/callback', publicRoute, async (request, reply) => {
    const provider = providerOf(request);
    if (!provider) return refusalPage(ctx, reply, 404, 'There is no such sign-in provider');
    return finishLogin(ctx, request, reply, clients, provider);
  });

  // EE: what the login page may offer. Public, like the page itself.
  app.get('/api/v1/auths', publicRoute, async (): Promise<ApiAuths> => {
    const mail = (ctx.config as { mail?: { smtp?: { host?: string } } }).mail;
    return {
      loginPassword: true,
      mailsEnabled: Boolean(mail?.smtp?.host),
      passwordless: false,
      oauths: ctx.config.sso.providers.map((p) => p.id),
      providers: ctx.config.sso.providers.map((p) => ({ id: p.id, name: p.name, loginUrl: ssoLoginUrl(p.id) })),
    };
  });
}
