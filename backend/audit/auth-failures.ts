import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { INSTANCE_CHAIN, type ActorType } from '../../lib/schemas/audit.js';
import type { PerchContext } from '../context.js';
import type { AuditEntry, AuditLog } from './audit-log.js';
import { requestFields } from './http-hook.js';

/** How a caller tried to authenticate (the entry's `details.authMethod`). */
export type AuthMethod = 'password' | 'basic' | 'token' | 'sso' | 'password-change';

/** One failed authentication or lockout, as the code that refused it knows it. Never a password or token. */
export interface AuthFailure {
  action: 'LOGIN_FAILURE' | 'ACCOUNT_LOCKED';
  authMethod: AuthMethod;
  /** Why, in a few words drawn from a small set ("wrong password", "unknown API token", …). */
  reason: string;
  /** The account tried, when known: the email given, and the user it belongs to. */
  email?: string | null;
  userId?: string | null;
  actorType?: ActorType;
  /** The client address (request.clientAddress). */
  ip: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  path?: string | null;
  lockedUntil?: number;
}

/** Failures of one kind by one account from one address, counted over one window. */
interface Bucket {
  first: AuthFailure;
  count: number;
  firstAt: number;
  lastAt: number;
  lockedUntil?: number;
}

export interface AuthFailureTrailOptions {
  /** One entry per account, address and kind of failure per window of this length, from its first failure (ms). */
  windowMs?: number;
  /** At most this many windows open at once; failures that would open more are counted in one overflow entry. */
  maxBuckets?: number;
  /** How often closed windows are written (ms). */
  flushEveryMs?: number;
  now?: () => number;
}

const clip = (text: string | null | undefined, max: number) => (text == null ? null : text.slice(0, max));

/**
 * Failed authentications and lockouts, aggregated before they reach the audit log: the failures of
 * one kind (action, method, reason) by one account from one client address within a minute become
 * one entry with their count, written when the minute is over through the log's group commit. So a
 * flood of failures costs memory bounded by `maxBuckets` and one entry per account and address a
 * minute, never a write per request; what the bound turns away is counted in one overflow entry per
 * flush, never dropped silently. Nothing here awaits the store: the refusal leaves at once.
 */
export class AuthFailureTrail {
  private readonly buckets = new Map<string, Bucket>();
  /** Failures no bucket could take since the last flush (the map was full). */
  private overflow: { count: number; firstAt: number; lastAt: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly windowMs: number;
  private readonly maxBuckets: number;
  private readonly flushEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly audit: Pick<AuditLog, 'record'>,
    private readonly log: Pick<FastifyBaseLogger, 'error' | 'warn'>,
    options: AuthFailureTrailOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxBuckets = options.maxBuckets ?? 10_000;
    this.flushEveryMs = options.flushEveryMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Counts one failure. */
  note(failure: AuthFailure): void {
    const now = this.now();
    if (this.closed) {
      void this.write(this.entryOf({ first: failure, count: 1, firstAt: now, lastAt: now, lockedUntil: failure.lockedUntil }, now));
      return;
    }
    const key = [failure.action, failure.authMethod, failure.reason, failure.email ?? '', failure.userId ?? '', failure.ip ?? ''].join('\u0000');
    let bucket = this.buckets.get(key);
    if (bucket && now - bucket.firstAt >= this.windowMs) {
      void this.write(this.entryOf(bucket, now));
      this.buckets.delete(key);
      bucket = undefined;
    }
    if (bucket) {
      bucket.count++;
      bucket.lastAt = now;
      if (failure.lockedUntil !== undefined) bucket.lockedUntil = failure.lockedUntil;
    } else if (this.buckets.size < this.maxBuckets) {
      this.buckets.set(key, { first: failure, count: 1, firstAt: now, lastAt: now, lockedUntil: failure.lockedUntil });
    } else {
      if (!this.overflow) this.log.warn({ event: 'auth-failures.overflow', maxBuckets: this.maxBuckets }, 'failed authentications from too many accounts and addresses at once: the rest are counted, not itemised');
      this.overflow ??= { count: 0, firstAt: now, lastAt: now };
      this.overflow.count++;
      this.overflow.lastAt = now;
    }
    this.schedule();
  }

  /** Writes the windows that are over (all of them with `all`); resolves once they are stored. */
  async flush(all = true): Promise<void> {
    const now = this.now();
    const written: Array<Promise<unknown>> = [];
    for (const [key, bucket] of this.buckets) {
      // Buckets are kept in the order they opened: the first one still open ends the closed ones.
      if (!all && now - bucket.firstAt < this.windowMs) break;
      written.push(this.write(this.entryOf(bucket, now)));
      this.buckets.delete(key);
    }
    if (this.overflow && (all || now - this.overflow.firstAt >= this.windowMs)) {
      written.push(this.write(this.overflowEntry(this.overflow, now)));
      this.overflow = null;
    }
    if (!this.buckets.size && !this.overflow) this.stopTimer();
    await Promise.all(written);
  }

  /** Writes everything still counted; later failures are written one by one. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    await this.flush(true);
  }

  /** Failures counted and not yet written. */
  get pending(): number {
    let count = this.overflow?.count ?? 0;
    for (const bucket of this.buckets.values()) count += bucket.count;
    return count;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(false), this.flushEveryMs);
    // Counting failures never keeps the process alive.
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private write(entry: AuditEntry): Promise<unknown> {
    return this.audit.record(entry).catch((error: unknown) => this.log.error({ err: error }, 'could not record failed authentications in the audit log'));
  }

  private entryOf(bucket: Bucket, now: number): AuditEntry {
    const { first } = bucket;
    const actorType: ActorType = first.userId ? (first.actorType ?? 'USER') : 'ANONYMOUS';
    return {
      tenantId: INSTANCE_CHAIN,
      actor: { type: actorType, id: first.userId ?? null, email: clip(first.email, 320) },
      action: first.action,
      resourceType: 'USER',
      resourceId: first.userId ?? null,
      requestId: first.requestId ?? null,
      ip: first.ip,
      userAgent: first.userAgent ?? null,
      outcome: 'FAILURE',
      date: now,
      details: {
        ...(first.email ? { email: clip(first.email, 320) } : {}),
        authMethod: first.authMethod,
        reason: first.reason,
        count: bucket.count,
        firstAt: new Date(bucket.firstAt).toISOString(),
        lastAt: new Date(bucket.lastAt).toISOString(),
        path: first.path ?? null,
        ...(bucket.lockedUntil ? { lockedUntil: new Date(bucket.lockedUntil).toISOString() } : {}),
      },
    };
  }

  private overflowEntry(overflow: NonNullable<AuthFailureTrail['overflow']>, now: number): AuditEntry {
    return {
      tenantId: INSTANCE_CHAIN,
      actor: { type: 'ANONYMOUS' },
      action: 'LOGIN_FAILURE',
      resourceType: 'USER',
      outcome: 'FAILURE',
      date: now,
      details: {
        reason: `failures past the ${this.maxBuckets} accounts and addresses counted at once: not itemised`,
        overflow: true,
        count: overflow.count,
        firstAt: new Date(overflow.firstAt).toISOString(),
        lastAt: new Date(overflow.lastAt).toISOString(),
      },
    };
  }
}

const trails = new WeakMap<PerchContext, AuthFailureTrail>();

/** The context's trail of failed authentications (one per Perch; kept here so the context's shape stays as it is). */
export function authFailures(ctx: PerchContext): AuthFailureTrail {
  let trail = trails.get(ctx);
  if (!trail) trails.set(ctx, (trail = new AuthFailureTrail(ctx.audit, ctx.log)));
  return trail;
}

/** Counts a failed authentication of this request (its client address, user agent, path). */
export function recordAuthFailure(ctx: PerchContext, request: FastifyRequest, failure: Omit<AuthFailure, 'ip' | 'userAgent' | 'requestId' | 'path'>): void {
  authFailures(ctx).note({ ...failure, ...requestFields(request), path: request.canonical?.path ?? null });
}

/** Writes what the trail still counts when Perch stops (before the audit log closes). */
export function installAuthFailureTrail(app: FastifyInstance, ctx: PerchContext): void {
  app.addHook('onClose', () => authFailures(ctx).close());
}
