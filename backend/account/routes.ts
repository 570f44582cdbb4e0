import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OwnSession, PasswordRulesView } from '../../lib/schemas/account.js';
import type { PerchContext } from '../context.js';
import { recordSecurityEvent } from '../audit/security-events.js';
import { forbidden, notFound } from '../http/errors.js';

/** The length of a session's public handle: 16 hex digits of its stored hash (64 bits, unguessable enough to name one of a person's own). */
const HANDLE_LENGTH = 16;

/** Sessions belong to people signed in with a cookie: a token or Basic caller has none to manage. */
function sessionCaller(request: FastifyRequest) {
  const principal = request.principal!;
  if (principal.authMethod && principal.authMethod !== 'session') throw forbidden('Sessions are managed from a signed-in browser, not with an API token');
  return principal;
}

/**
 * The signed-in person's self-service beyond `/api/v1/me`: their own sessions (list, end one, end
 * all others: "sign out elsewhere") and the password rules the account screen shows.
 */
export function registerAccountRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.get('/api/v1/me/sessions', async (request, reply) => {
    const principal = sessionCaller(request);
    const rows = await ctx.db
      .selectFrom('sessions')
      .select(['id_hash', 'created_at', 'last_seen_at', 'expires_at', 'ip', 'user_agent'])
      .where('user_id', '=', principal.userId)
      .where('expires_at', '>', Date.now())
      .orderBy('last_seen_at', 'desc')
      .execute();
    const iso = (ms: number) => new Date(Number(ms)).toISOString();
    const results: OwnSession[] = rows.map((row) => ({
      id: row.id_hash.slice(0, HANDLE_LENGTH),
      current: row.id_hash === principal.sessionHash,
      createdAt: iso(row.created_at),
      lastSeenAt: iso(row.last_seen_at),
      expiresAt: iso(row.expires_at),
      ip: row.ip,
      userAgent: row.user_agent,
    }));
    return reply.header('cache-control', 'no-store').send({ results });
  });

  // Every session but this one ends (their open streams too).
  app.delete('/api/v1/me/sessions', async (request, reply) => {
    const principal = sessionCaller(request);
    await ctx.sessions.revokeUser(principal.userId, principal.sessionHash);
    await recordSecurityEvent(ctx, request, { action: 'LOGOUT', email: principal.email, userId: principal.userId, reason: 'signed out every other session' });
    return reply.code(204).send();
  });

  app.delete('/api/v1/me/sessions/:id', async (request, reply) => {
    const principal = sessionCaller(request);
    const { id } = request.params as { id: string };
    if (!/^[0-9a-f]{16}$/.test(id)) throw notFound(`Session ${id} not found`);
    const row = await ctx.db
      .selectFrom('sessions')
      .select('id_hash')
      .where('user_id', '=', principal.userId)
      .where('id_hash', 'like', `${id}%`)
      .executeTakeFirst();
    if (!row) throw notFound(`Session ${id} not found`);
    await ctx.sessions.revokeHash(row.id_hash);
    await recordSecurityEvent(ctx, request, { action: 'LOGOUT', email: principal.email, userId: principal.userId, reason: `signed out session ${id}` });
    return reply.code(204).send();
  });

  app.get('/perch/api/account/groups', async (request, reply) => {
    const { userId, tenantId } = request.principal!;
    const results = await ctx.db
      .selectFrom('group_members')
      .innerJoin('groups', 'groups.id', 'group_members.group_id')
      .select(['groups.id as id', 'groups.name as name', 'group_members.membership as membership'])
      .where('group_members.user_id', '=', userId)
      .where('group_members.tenant_id', '=', tenantId)
      .orderBy('groups.name')
      .execute();
    return reply.header('cache-control', 'no-store').send({ results });
  });

  app.get('/perch/api/account/password-rules', async (_request, reply) => {
    const rules = ctx.config.password;
    const body: PasswordRulesView = {
      minLength: rules.minLength,
      minDigits: rules.minDigits ?? 0,
      minLowerCase: rules.minLowerCase ?? 0,
      minUpperCase: rules.minUpperCase ?? 0,
      minSpecial: rules.minSpecial ?? 0,
    };
    return reply.send(body);
  });
}
