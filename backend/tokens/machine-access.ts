import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/sessions.js';
import { throttledAnswer } from '../auth/login-throttle.js';
import { passwordSignIn } from '../auth/password-sign-in.js';
import { recordAuthFailure } from '../audit/auth-failures.js';
import type { PerchContext } from '../context.js';
import { hashToken, isWellFormedToken } from './token-format.js';
import { sha256Hex } from '../crypto/sha256.js';

/** A cached token is re-read from the store this often (a backstop for missed change events). */
const REVALIDATE_AFTER_MS = 15_000;
/** last_used_at (and a sliding expiry) is written back at most this often per token. */
const PERSIST_LAST_USED_EVERY_MS = 60_000;
/** A successful Basic check is remembered this long, so scripts do not pay Argon2 on every call. */
const BASIC_CACHE_MS = 60_000;
const MAX_CACHED = 10_000;

interface CachedToken {
  tokenId: string;
  principal: Principal;
  expiresAt: number | null;
  maxAgeMs: number | null;
  extended: boolean;
  loadedAt: number;
  lastUsedAt: number;
  persistedLastUsedAt: number;
}

interface CachedBasic {
  principal: Principal;
  until: number;
}

/** Whose credential a refused one was, when Perch can tell (an expired token, a disabled owner's). */
interface RefusedAccount {
  email?: string;
  userId?: string;
  actorType?: Principal['actorType'];
}

export type HeaderAuthentication =
  | { ok: true; principal: Principal }
  | { ok: false; status: number; message: string; retryAfterSeconds?: number; account?: RefusedAccount };

const refuse = (status: number, message: string, retryAfterSeconds?: number, account?: RefusedAccount): HeaderAuthentication => ({ ok: false, status, message, retryAfterSeconds, account });
const accountOf = (principal: Principal): RefusedAccount => ({ email: principal.email, userId: principal.userId, actorType: principal.actorType });

/**
 * Authentication by `Authorization` header: API tokens (Bearer) and, when enabled, Basic with a
 * person's email and password. Both give a Principal like a session does; both are resolved from
 * memory on the hot path. Revocations reach the caches through the session events the replicas
 * already exchange (`session:token:<id>`, `user:<id>:…`, `refresh:<id>`).
 */
export class MachineAccess {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly basic = new Map<string, CachedBasic>();

  constructor(
    private readonly ctx: PerchContext,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: no header this class handles (absent, another scheme, or Basic while disabled). */
  async authenticate(request: FastifyRequest): Promise<HeaderAuthentication | null> {
    const header = request.headers.authorization;
    if (header === undefined) return null;
    const { scheme, value } = readAuthorization(header);
    if (scheme === 'bearer') {
      const found = await this.bearer(value);
      if (!found.ok) recordAuthFailure(this.ctx, request, { action: 'LOGIN_FAILURE', authMethod: 'token', ...found.account, reason: found.message });
      return found;
    }
    if (scheme === 'basic' && this.ctx.config.auth.basic.enabled) return this.basicAuth(request, header, value);
    return null;
  }

  /** An API token (the value of `Authorization: Bearer …`). */
  async bearer(token: string): Promise<HeaderAuthentication> {
    if (!isWellFormedToken(token)) return refuse(401, 'The API token is malformed');
    const hash = hashToken(token);
    const now = this.now();
    let entry = this.tokens.get(hash);
    if (!entry || now - entry.loadedAt > REVALIDATE_AFTER_MS) {
      const loaded = await this.load(hash, entry);
      if ('refused' in loaded) return refuse(401, loaded.refused, undefined, loaded.account);
      entry = loaded;
    }
    if (entry.expiresAt !== null && now >= entry.expiresAt) return refuse(401, 'The API token has expired', undefined, accountOf(entry.principal));
    entry.lastUsedAt = now;
    if (entry.extended && entry.maxAgeMs !== null) entry.expiresAt = now + entry.maxAgeMs;
    // A fixed end bounds the streams opened with the token (a sliding one is pushed by every use: not bounded here).
    else if (entry.expiresAt !== null) entry.principal.expiresAt = entry.expiresAt;
    if (now - entry.persistedLastUsedAt >= PERSIST_LAST_USED_EVERY_MS) {
      entry.persistedLastUsedAt = now;
      const set = entry.extended ? { last_used_at: now, expires_at: entry.expiresAt } : { last_used_at: now };
      // Not awaited: bookkeeping never delays the call.
      this.ctx.db.updateTable('api_tokens').set(set).where('id', '=', entry.tokenId).execute().catch((error) => this.ctx.log.error({ err: error }, 'could not record API token use'));
    }
    return { ok: true, principal: entry.principal };
  }

  private async load(hash: string, previous: CachedToken | undefined): Promise<CachedToken | { refused: string; account?: RefusedAccount }> {
    const row = await this.ctx.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id', 'api_tokens.expires_at', 'api_tokens.max_age_ms', 'api_tokens.extended', 'api_tokens.last_used_at',
        'users.id as user_id', 'users.tenant_id', 'users.email', 'users.super_admin', 'users.disabled', 'users.type',
      ])
      .where('api_tokens.secret_hash', '=', hash)
      .executeTakeFirst();
    if (!row) {
      this.tokens.delete(hash);
      return { refused: 'The API token is unknown or was revoked' };
    }
    if (row.disabled === 1) {
      this.tokens.delete(hash);
      const actorType = row.type === 'SERVICE_ACCOUNT' ? 'SERVICE_ACCOUNT' : 'USER';
      return { refused: 'The account this API token belongs to is disabled', account: { email: row.email, userId: row.user_id, actorType } };
    }
    const extended = row.extended === 1;
    // A sliding expiry pushed in memory may be ahead of the store (written at most once a minute).
    const expiresAt = extended && previous?.expiresAt != null && row.expires_at !== null ? Math.max(row.expires_at, previous.expiresAt) : row.expires_at;
    const entry: CachedToken = {
      tokenId: row.id,
      principal: {
        userId: row.user_id,
        tenantId: row.tenant_id,
        email: row.email,
        superAdmin: row.super_admin === 1,
        sessionHash: `token:${row.id}`,
        authMethod: 'token',
        actorType: row.type === 'SERVICE_ACCOUNT' ? 'SERVICE_ACCOUNT' : 'USER',
      },
      expiresAt,
      maxAgeMs: row.max_age_ms,
      extended,
      loadedAt: this.now(),
      lastUsedAt: Math.max(row.last_used_at ?? 0, previous?.lastUsedAt ?? 0),
      persistedLastUsedAt: previous?.persistedLastUsedAt ?? row.last_used_at ?? 0,
    };
    if (this.tokens.size >= MAX_CACHED) this.tokens.clear();
    this.tokens.set(hash, entry);
    return entry;
  }

  /** Basic: the sign-in route's throttling, lockout and Argon2 check, then a short cache. */
  private async basicAuth(request: FastifyRequest, header: string, value: string): Promise<HeaderAuthentication> {
    const key = sha256Hex(header);
    const now = this.now();
    const cached = this.basic.get(key);
    if (cached && now < cached.until) return { ok: true, principal: cached.principal };
    if (cached) this.basic.delete(key);

    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || colon < 1 || colon === decoded.length - 1) {
      recordAuthFailure(this.ctx, request, { action: 'LOGIN_FAILURE', authMethod: 'basic', reason: 'malformed Basic credentials' });
      return refuse(401, 'Basic credentials must be base64(email:password)');
    }
    const email = decoded.slice(0, colon).trim().toLowerCase().slice(0, 320);
    const password = decoded.slice(colon + 1);
    const attempt = await passwordSignIn(this.ctx, request, 'basic', email, password);
    const throttled = throttledAnswer(attempt);
    if (throttled) return refuse(429, throttled.message, throttled.retryAfterSeconds);
    if (attempt.outcome !== 'ok') {
      request.log.info({ event: 'login.failed', method: 'basic', email, locked: attempt.outcome === 'wrong' && Boolean(attempt.lockedUntil) }, 'basic authentication refused');
      return refuse(401, 'Email or password is incorrect');
    }
    const { user } = attempt;
    if (user.disabled === 1) {
      recordAuthFailure(this.ctx, request, { action: 'LOGIN_FAILURE', authMethod: 'basic', email, userId: user.id, reason: 'account disabled' });
      return refuse(403, 'This account is disabled; ask an administrator');
    }
    const principal: Principal = {
      userId: user.id,
      tenantId: user.tenant_id,
      email: user.email,
      superAdmin: user.super_admin === 1,
      sessionHash: `basic:${randomUUID()}`,
      authMethod: 'basic',
      actorType: 'USER',
    };
    if (this.basic.size >= MAX_CACHED) this.basic.clear();
    this.basic.set(key, { principal, until: now + BASIC_CACHE_MS });
    return { ok: true, principal };
  }

  /** A token was deleted here: forget it now, close its streams, tell the other replicas. */
  revoked(tokenIds: readonly string[]): void {
    for (const id of tokenIds) {
      const event = `session:token:${id}`;
      this.onSessionEvent(event);
      this.ctx.sessions.forgetLocally(event);
      this.ctx.sessions.announce(event);
    }
  }

  /** A session event, local or from another replica (see SessionManager.forgetLocally). */
  onSessionEvent(event: string): void {
    const [kind, id, ...rest] = event.split(':');
    const keep = rest.join(':');
    if (kind === 'session' && event.startsWith('session:token:')) {
      const tokenId = event.slice('session:token:'.length);
      for (const [hash, entry] of this.tokens) if (entry.tokenId === tokenId) this.tokens.delete(hash);
    }
    if ((kind === 'user' || kind === 'refresh') && id) {
      // Disabled, deleted, new password, new flags: re-read on the next call; open streams end.
      for (const [hash, entry] of this.tokens) {
        if (entry.principal.userId !== id) continue;
        this.tokens.delete(hash);
        if (kind === 'user' && entry.principal.sessionHash !== keep) this.ctx.sessions.forgetLocally(`session:${entry.principal.sessionHash}`);
      }
      for (const [key, entry] of this.basic) {
        if (entry.principal.userId !== id) continue;
        this.basic.delete(key);
        if (kind === 'user') this.ctx.sessions.forgetLocally(`session:${entry.principal.sessionHash}`);
      }
    }
  }

  clear(): void {
    this.tokens.clear();
    this.basic.clear();
  }
}

const instances = new WeakMap<PerchContext, MachineAccess>();

/** An Authorization header's scheme (lower-cased) and credentials. */
export function readAuthorization(header: string): { scheme: string; value: string } {
  const space = header.indexOf(' ');
  return { scheme: (space < 0 ? header : header.slice(0, space)).toLowerCase(), value: space < 0 ? '' : header.slice(space + 1).trim() };
}

/** The context's MachineAccess (one per Perch; kept here so the context's shape stays as it is). */

export function machineAccess(ctx: PerchContext): MachineAccess {
  let instance = instances.get(ctx);
  if (!instance) instances.set(ctx, (instance = new MachineAccess(ctx)));
  return instance;
}
