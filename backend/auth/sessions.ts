import { randomBytes } from 'node:crypto';
import type { Store } from '../store/database.js';
import type { UserRow } from '../users/user-store.js';
import { sha256Hex } from '../crypto/sha256.js';

/** Who is calling, as the proxy and Perch's own routes see it. */
export interface Principal {
  userId: string;
  tenantId: string;
  email: string;
  superAdmin: boolean;
  /** The session's hash; `token:<id>` or `basic:<id>` for header authentication (stream tracking keys). */
  sessionHash: string;
  /** How the caller proved who they are; absent means a session cookie. */
  authMethod?: 'session' | 'token' | 'basic';
  /** A person or a service account; absent means a person. */
  actorType?: 'USER' | 'SERVICE_ACCOUNT';
  /** When a credential with a fixed end (an API token) stops being valid: its open streams end then. */
  expiresAt?: number;
}

interface CachedSession {
  principal: Principal;
  expiresAt: number;
  lastSeenAt: number;
  persistedLastSeenAt: number;
  loadedAt: number;
}

export interface SessionTimeouts {
  idleTimeout: number;
  absoluteTimeout: number;
}

/** A cached session is re-read from the store this often, so another replica's revocation lands. */
const REVALIDATE_AFTER_MS = 30_000;
/** last_seen_at is written back at most this often per session. */
const PERSIST_LAST_SEEN_EVERY_MS = 60_000;
/**
 * Sessions kept in memory at most (about 300 bytes each): past it, the least recently loaded one
 * leaves the cache (its session stays valid and is read from the store at its next call).
 */
export const MAX_CACHED_SESSIONS = 20_000;

/** What the store keeps of a session id. */
export const hashSessionId = sha256Hex;

/**
 * Server-side sessions: 256-bit ids, only their SHA-256 stored, resolved from memory on the
 * hot path, revoked (with their open streams) at once.
 */
export class SessionManager {
  private readonly cache = new Map<string, CachedSession>();
  private readonly streams = new Map<string, Set<() => void>>();
  /** The fixed end of credentials that are not sessions (API tokens), for the sweeper: their streams end then. */
  private readonly streamsEndAt = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  /** Told of every revocation, so other replicas can drop their cached copies (see forgetLocally). */
  announce: (event: string) => void = () => {};

  constructor(
    private readonly db: Store,
    private readonly timeouts: SessionTimeouts,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly now: () => number = Date.now,
    private readonly maxCached = MAX_CACHED_SESSIONS,
  ) {
    this.sweeper = setInterval(() => void this.sweep().catch(onError), 60_000);
    this.sweeper.unref();
  }

  async create(user: UserRow, meta: { ip?: string; userAgent?: string }): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const idHash = hashSessionId(token);
    const now = this.now();
    const expiresAt = now + this.timeouts.absoluteTimeout;
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: idHash,
        user_id: user.id,
        tenant_id: user.tenant_id,
        created_at: now,
        last_seen_at: now,
        expires_at: expiresAt,
        ip: meta.ip?.slice(0, 64) ?? null,
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
      })
      .execute();
    this.remember(idHash, {
      principal: { userId: user.id, tenantId: user.tenant_id, email: user.email, superAdmin: user.super_admin === 1, sessionHash: idHash },
      expiresAt,
      lastSeenAt: now,
      persistedLastSeenAt: now,
      loadedAt: now,
    });
    return { token, expiresAt };
  }

  /** The session's principal, or null when unknown, expired, idle too long or its user is disabled. */
  async resolve(token: string | undefined): Promise<Principal | null> {
    if (!token || token.length !== 43) return null;
    const idHash = hashSessionId(token);
    const now = this.now();
    let entry = this.cache.get(idHash);
    if (!entry || now - entry.loadedAt > REVALIDATE_AFTER_MS) entry = await this.load(idHash, entry);
    if (!entry) return null;
    if (this.ended(entry, now)) {
      await this.revokeHash(idHash);
      return null;
    }
    return this.seen(entry, idHash, now);
  }

  /**
   * What `resolve` answers when the session's cached copy decides it at once (known, re-read less
   * than REVALIDATE_AFTER_MS ago, within both timeouts), without a promise: the proxy's fast lane
   * calls this first. Undefined when `resolve` must decide (unknown here, stale, ended, bad token).
   */
  cachedPrincipal(token: string | undefined): Principal | undefined {
    if (!token || token.length !== 43) return undefined;
    const idHash = hashSessionId(token);
    const now = this.now();
    const entry = this.cache.get(idHash);
    if (!entry || now - entry.loadedAt > REVALIDATE_AFTER_MS || this.ended(entry, now)) return undefined;
    return this.seen(entry, idHash, now);
  }

  private ended(entry: CachedSession, now: number): boolean {
    return now >= entry.expiresAt || now - entry.lastSeenAt >= this.timeouts.idleTimeout;
  }

  /** A call of a live session: it was seen now (written back to the store at most every PERSIST_LAST_SEEN_EVERY_MS). */
  private seen(entry: CachedSession, idHash: string, now: number): Principal {
    entry.lastSeenAt = now;
    if (now - entry.persistedLastSeenAt >= PERSIST_LAST_SEEN_EVERY_MS) {
      entry.persistedLastSeenAt = now;
      this.db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute().catch(this.onError);
    }
    return entry.principal;
  }

  private async load(idHash: string, previous: CachedSession | undefined): Promise<CachedSession | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.user_id', 'sessions.tenant_id', 'sessions.expires_at', 'sessions.last_seen_at', 'users.email', 'users.super_admin', 'users.disabled'])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row || row.disabled === 1) {
      this.dropFromCache(idHash);
      if (row) await this.revokeHash(idHash);
      return undefined;
    }
    const lastSeenAt = Math.max(row.last_seen_at, previous?.lastSeenAt ?? 0);
    const entry: CachedSession = {
      principal: { userId: row.user_id, tenantId: row.tenant_id, email: row.email, superAdmin: row.super_admin === 1, sessionHash: idHash },
      expiresAt: row.expires_at,
      lastSeenAt,
      persistedLastSeenAt: previous?.persistedLastSeenAt ?? row.last_seen_at,
      loadedAt: this.now(),
    };
    this.remember(idHash, entry);
    return entry;
  }

  /** Sessions held in memory now (at most `maxCached`). */
  get cachedCount(): number {
    return this.cache.size;
  }

  /**
   * Caches a session, last in the map's order; a full cache first lets its oldest entry go, writing
   * back when that session was last seen (so it is not taken for idle when read again).
   */
  private remember(idHash: string, entry: CachedSession): void {
    this.cache.delete(idHash);
    if (this.cache.size >= this.maxCached) {
      const [oldHash, old] = this.cache.entries().next().value!;
      this.cache.delete(oldHash);
      if (old.lastSeenAt > old.persistedLastSeenAt) {
        this.db.updateTable('sessions').set({ last_seen_at: old.lastSeenAt }).where('id_hash', '=', oldHash).execute().catch(this.onError);
      }
    }
    this.cache.set(idHash, entry);
  }

  async revokeToken(token: string | undefined): Promise<void> {
    if (token) await this.revokeHash(hashSessionId(token));
  }

  async revokeHash(idHash: string): Promise<void> {
    this.dropFromCache(idHash);
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    this.announce(`session:${idHash}`);
  }

  /** Ends every session of a user (disable, delete, password change), optionally keeping one. */
  async revokeUser(userId: string, keepHash?: string): Promise<void> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (keepHash) query = query.where('id_hash', '!=', keepHash);
    await query.execute();
    for (const [idHash, entry] of this.cache) {
      if (entry.principal.userId === userId && idHash !== keepHash) this.dropFromCache(idHash);
    }
    this.announce(`user:${userId}:${keepHash ?? ''}`);
  }

  /** Another replica revoked a session or a user's sessions: drop the cached copies and their streams. */
  forgetLocally(event: string): void {
    // Hashes may hold a colon (`token:<id>`): a session event is everything after `session:`, a
    // user event's kept hash everything after `user:<id>:`.
    const [kind, id, ...rest] = event.split(':');
    const keep = rest.join(':');
    if (kind === 'session' && id) this.dropFromCache(event.slice('session:'.length));
    if (kind === 'user' && id) {
      for (const [idHash, entry] of this.cache) if (entry.principal.userId === id && idHash !== keep) this.dropFromCache(idHash);
    }
    if (kind === 'refresh' && id) this.markStale(id);
  }

  /**
   * The tenant a session works in (the tenant switcher): stored with the session. Its cached copies,
   * here and on the other replicas, are dropped with their open streams (they belonged to the tenant
   * left): the next request reads the session again.
   */
  async selectTenant(idHash: string, tenantId: string): Promise<void> {
    await this.db.updateTable('sessions').set({ tenant_id: tenantId }).where('id_hash', '=', idHash).execute();
    this.dropFromCache(idHash);
    this.announce(`session:${idHash}`);
  }

  /** Forget cached copies of a user's sessions so the next request re-reads its flags. */
  refreshUser(userId: string): void {
    this.markStale(userId);
    this.announce(`refresh:${userId}`);
  }

  /**
   * Revocations may have been missed (the change feed reconnected): every cached session is re-read
   * on its next use, and those with open streams now, so a revoked one's streams end.
   */
  async revalidateAll(): Promise<void> {
    for (const entry of this.cache.values()) entry.loadedAt = 0;
    for (const idHash of [...this.streams.keys()]) {
      const entry = this.cache.get(idHash);
      if (entry && !idHash.includes(':')) await this.load(idHash, entry);
    }
  }

  private markStale(userId: string): void {
    for (const entry of this.cache.values()) if (entry.principal.userId === userId) entry.loadedAt = 0;
  }

  /** Registers a long-lived response (SSE, download) to be cut when its session ends. */
  trackStream(idHash: string, close: () => void, endsAt?: number): () => void {
    let set = this.streams.get(idHash);
    if (!set) this.streams.set(idHash, (set = new Set()));
    set.add(close);
    if (endsAt !== undefined) this.streamsEndAt.set(idHash, Math.min(endsAt, this.streamsEndAt.get(idHash) ?? Infinity));
    return () => {
      set.delete(close);
      if (set.size === 0 && this.streams.get(idHash) === set) {
        this.streams.delete(idHash);
        this.streamsEndAt.delete(idHash);
      }
    };
  }

  openStreams(idHash: string): number {
    return this.streams.get(idHash)?.size ?? 0;
  }

  private dropFromCache(idHash: string): void {
    this.cache.delete(idHash);
    const open = this.streams.get(idHash);
    this.streamsEndAt.delete(idHash);
    if (open) {
      this.streams.delete(idHash);
      for (const close of open) close();
    }
  }

  private async sweep(): Promise<void> {
    const now = this.now();
    for (const [idHash, entry] of this.cache) {
      if (now >= entry.expiresAt || now - entry.lastSeenAt >= this.timeouts.idleTimeout) this.dropFromCache(idHash);
    }
    for (const [idHash, endsAt] of this.streamsEndAt) if (now >= endsAt) this.dropFromCache(idHash);
    await this.db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - this.timeouts.idleTimeout - PERSIST_LAST_SEEN_EVERY_MS)]))
      .execute();
  }

  /**
   * Sessions still valid, as far as the store tells (every replica's): not expired, and seen within
   * the idle timeout (last_seen_at is persisted at most every minute, so it counts a minute long).
   */
  async countActive(): Promise<number> {
    const now = this.now();
    const row = await this.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('expires_at', '>', now)
      .where('last_seen_at', '>', now - this.timeouts.idleTimeout - PERSIST_LAST_SEEN_EVERY_MS)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const idHash of [...this.streams.keys()]) this.dropFromCache(idHash);
    this.cache.clear();
  }
}
