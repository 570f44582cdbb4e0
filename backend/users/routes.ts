import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  createOrUpdateUserRequestSchema,
  setPasswordRequestSchema,
  setRestrictedRequestSchema,
  setSuperAdminRequestSchema,
  updateOwnPasswordRequestSchema,
  userDetailsRequestSchema,
} from '../../lib/schemas/users.js';
import { throttledAnswer } from '../auth/login-throttle.js';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.js';
import { recordAttemptFailure } from '../auth/password-sign-in.js';
import type { PerchContext } from '../context.js';
import { conflict, forbidden, HttpError, notFound } from '../http/errors.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { pageSizeSchema, parse } from '../http/request.js';
import { bindDefaultRole, findGroup, forgetUserInIam, isUniqueViolation } from '../iam/iam-store.js';
import { groupChangeOf, indexGroupChange, memberGroupIds, NO_GROUP_CHANGE, writeGroupChange, type GroupChange } from '../iam/group-change.js';
import type { Store } from '../store/database.js';
import { announce as announceTenantChange } from '../tenants/routes.js';
import { findTenant, setAccess } from '../tenants/tenant-store.js';
import { auditUserStates } from './audit-states.js';
import {
  countUsers,
  createUser,
  deleteUser,
  findUserByEmail,
  findUserById,
  groupsOfUser,
  searchUsers,
  toApiMe,
  toApiUser,
  toApiUserSummary,
  updateUser,
  type UserChanges,
  PASSWORD_AUTH_ID,
  type UserRow,
} from './user-store.js';

const ownersOnly = { config: { access: 'instanceOwner' as const } };

const listQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  size: pageSizeSchema,
  q: z.string().max(200).optional(),
  sort: z
    .string()
    .regex(/^(email|firstName|lastName|created):(asc|desc)$/, 'sort must be field:asc|desc with field email, firstName, lastName or created')
    .optional(),
});
const sortColumn = { email: 'email', firstName: 'first_name', lastName: 'last_name', created: 'created_at' } as const;

/** Kestra-style `filters[q][EQUALS]=text` or plain `q=text`. */
function freeText(query: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(query)) {
    if (/^filters\[(q|email|username)\]\[[A-Z_]+\]$/.test(key) && typeof value === 'string') return value;
  }
  return typeof query.q === 'string' ? query.q : undefined;
}

async function mustFindUser(db: Store, id: string): Promise<UserRow> {
  const user = await findUserById(db, id);
  if (!user) throw notFound(`User ${id} not found`);
  return user;
}

/** 422 with the reason when `password` breaks the configured rules. */
function checkPasswordRules(ctx: PerchContext, password: string, path = 'password'): void {
  const problem = passwordProblem(password, ctx.config.password);
  if (problem) throw new HttpError(422, problem, { errors: [{ path, message: problem }] });
}

async function checkedPasswordHash(ctx: PerchContext, password: string): Promise<string> {
  checkPasswordRules(ctx, password);
  return hashPassword(password);
}

/** The last enabled instance owner can be neither demoted, disabled nor deleted. */
async function guardLastOwner(db: Store, user: UserRow, after: { superAdmin?: boolean; disabled?: boolean; deleted?: boolean }) {
  if (user.super_admin !== 1 || user.disabled === 1) return;
  const losesOwner = after.deleted || after.superAdmin === false || after.disabled === true;
  if (losesOwner && (await countUsers(db, { superAdmin: true, enabledOnly: true })) <= 1) {
    throw conflict('This is the last instance owner: make another user instance owner first');
  }
}

async function ensureEmailFree(db: Store, email: string, exceptId?: string) {
  const other = await findUserByEmail(db, email);
  if (other && other.id !== exceptId) throw conflict(`A user with email ${email} already exists`);
}

/** A concurrent request (here or on another replica) took the email between our check and our write. */
function emailTakenAsConflict(email: string | undefined) {
  return (error: unknown): never => {
    if (email !== undefined && isUniqueViolation(error)) throw conflict(`A user with email ${email} already exists`);
    throw error;
  };
}

/** After a change of a user's tenant access: the directory re-read (and authorization, if access was revoked). */
async function announceAccess(ctx: PerchContext, access: { granted: string[]; revoked: string[] } | null): Promise<void> {
  if (access && access.granted.length + access.revoked.length > 0) await announceTenantChange(ctx, access.revoked.length > 0);
}

/**
 * Applies a change (with the user's new groups and, when given, exactly these tenants, in the same
 * transaction), then ends sessions or refreshes cached flags as the change requires.
 */
async function applyUserChange(ctx: PerchContext, user: UserRow, changes: UserChanges, groups: GroupChange = NO_GROUP_CHANGE, tenants?: string[]): Promise<UserRow> {
  const { updated, access } = await ctx.db.transaction().execute(async (trx) => {
    await guardLastOwner(trx, user, { superAdmin: changes.superAdmin, disabled: changes.disabled });
    if (changes.email) await ensureEmailFree(trx, changes.email, user.id);
    await writeGroupChange(trx, DEFAULT_TENANT, user.id, groups);
    const access = tenants ? await setAccess(trx, user.id, tenants) : null;
    return { updated: (await updateUser(trx, user.id, changes))!, access };
  }).catch(emailTakenAsConflict(changes.email));
  indexGroupChange(ctx, DEFAULT_TENANT, user.id, groups);
  await announceAccess(ctx, access);
  if (changes.disabled || changes.passwordHash !== undefined) await ctx.sessions.revokeUser(user.id);
  else ctx.sessions.refreshUser(user.id);
  return updated;
}

/**
 * EE's `tenants` and `groups` of a create or update: every tenant and group must exist, else 404
 * (behaviour spec §1), checked before anything is written (a deleted tenant is gone from the store).
 * The groups are the user's in the default tenant (groups stay there), so an update keeping groups
 * keeps that tenant (a new user always gets it). Answers the change of the groups: none when the body leaves them out.
 */
async function wantedGroupChange(db: Store, userId: string | null, body: { tenants?: string[]; groups?: string[] }): Promise<GroupChange> {
  for (const tenant of new Set(body.tenants)) if (!(await findTenant(db, tenant))) throw notFound(`Tenant ${tenant} not found`);
  if (userId !== null && body.tenants && !body.tenants.includes(DEFAULT_TENANT) && (body.groups?.length ?? 0) > 0) {
    throw new HttpError(422, `Invalid request: tenants: groups are in tenant ${DEFAULT_TENANT}, so a user with groups keeps access to it`, { errors: [{ path: 'tenants', message: `must include ${DEFAULT_TENANT} when groups are given` }] });
  }
  if (body.groups === undefined) return NO_GROUP_CHANGE;
  for (const id of new Set(body.groups)) if (!(await findGroup(db, DEFAULT_TENANT, id))) throw notFound(`Group ${id} not found`);
  return groupChangeOf(userId === null ? new Set() : await memberGroupIds(db, DEFAULT_TENANT, userId), body.groups);
}

/** `ApiUser` with the user's groups. */
async function apiUser(ctx: PerchContext, user: UserRow) {
  // EE's `ApiUser.tenants`: the tenants the user has access to.
  return { ...toApiUser(user, await groupsOfUser(ctx.db, user.id)), tenants: ctx.tenants.tenantsOf(user.id).map((t) => ({ id: t.id, name: t.name })) };
}

export function registerUserRoutes(app: FastifyInstance, ctx: PerchContext): void {
  auditUserStates();

  app.get('/api/v1/users', ownersOnly, async (request) => {
    const raw = request.query as Record<string, unknown>;
    const query = parse(listQuerySchema, { page: raw.page, size: raw.size, sort: Array.isArray(raw.sort) ? raw.sort[0] : raw.sort });
    const [field, direction] = (query.sort ?? 'email:asc').split(':') as [keyof typeof sortColumn, 'asc' | 'desc'];
    const { rows, total } = await searchUsers(ctx.db, { page: query.page, size: query.size, q: freeText(raw), sort: { field: sortColumn[field], direction } });
    return { results: rows.map(toApiUserSummary), total };
  });

  app.post('/api/v1/users', ownersOnly, async (request, reply) => {
    const body = parse(createOrUpdateUserRequestSchema, request.body);
    const groups = await wantedGroupChange(ctx.db, null, body);
    const passwordHash = body.password ? await checkedPasswordHash(ctx, body.password) : null;
    const { user, access } = await ctx.db.transaction().execute(async (trx) => {
      await ensureEmailFree(trx, body.email);
      const created = await createUser(trx, {
        email: body.email,
        firstName: body.firstName,
        lastName: body.lastName,
        passwordHash,
        superAdmin: body.superAdmin ?? body.instanceOwner ?? false,
        restricted: body.restricted ?? false,
        disabled: body.disabled ?? false,
      });
      await writeGroupChange(trx, DEFAULT_TENANT, created.id, groups);
      // The user's own tenant (as every new user), and each tenant the body lists.
      const access = body.tenants ? await setAccess(trx, created.id, [created.tenant_id, ...body.tenants]) : null;
      return { user: created, access };
    }).catch(emailTakenAsConflict(body.email));
    ctx.tenants.granted(user.tenant_id, user.id);
    await announceAccess(ctx, access);
    indexGroupChange(ctx, DEFAULT_TENANT, user.id, groups);
    await bindDefaultRole(ctx, user.id, user.tenant_id);
    return reply.code(201).send(await apiUser(ctx, user));
  });

  app.get('/api/v1/users/:id', ownersOnly, async (request) => {
    return apiUser(ctx, await mustFindUser(ctx.db, (request.params as { id: string }).id));
  });

  app.put('/api/v1/users/:id', ownersOnly, async (request) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    const body = parse(createOrUpdateUserRequestSchema, request.body);
    const groups = await wantedGroupChange(ctx.db, user.id, body);
    const passwordHash = body.password ? await checkedPasswordHash(ctx, body.password) : undefined;
    const updated = await applyUserChange(ctx, user, {
      email: body.email,
      firstName: body.firstName ?? null,
      lastName: body.lastName ?? null,
      passwordHash,
      superAdmin: body.superAdmin ?? body.instanceOwner ?? user.super_admin === 1,
      restricted: body.restricted ?? false,
      disabled: body.disabled ?? user.disabled === 1,
    }, groups, body.tenants);
    return apiUser(ctx, updated);
  });

  app.patch('/api/v1/users/:id', ownersOnly, async (request) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    const body = parse(userDetailsRequestSchema, request.body);
    return apiUser(ctx, await applyUserChange(ctx, user, body));
  });

  app.patch('/api/v1/users/:id/password', ownersOnly, async (request) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    const body = parse(setPasswordRequestSchema, request.body);
    const updated = await applyUserChange(ctx, user, { passwordHash: await checkedPasswordHash(ctx, body.password) });
    await ctx.throttle.clear(user.email); // a new password from an owner also lifts a lockout
    return apiUser(ctx, updated);
  });

  app.patch('/api/v1/users/:id/superadmin', ownersOnly, async (request, reply) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    const body = parse(setSuperAdminRequestSchema, request.body);
    await applyUserChange(ctx, user, { superAdmin: body.superAdmin });
    return reply.code(200).send(); // the EE spec answers 200 without a body
  });

  app.patch('/api/v1/users/:id/restricted', ownersOnly, async (request, reply) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    const body = parse(setRestrictedRequestSchema, request.body);
    await applyUserChange(ctx, user, { restricted: body.restricted });
    return reply.code(200).send(); // the EE spec answers 200 without a body
  });

  // Perch keeps no refresh tokens: what one would carry, a signed-in session, is what ends here.
  app.delete('/api/v1/users/:id/refresh-token', ownersOnly, async (request, reply) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    await ctx.sessions.revokeUser(user.id);
    return reply.code(204).send();
  });

  // The one auth method Perch lists is the password (`auths`); removing it ends the user's sessions,
  // and leaves single sign-on or an owner's new password as the ways back in.
  app.delete('/api/v1/users/:id/auths/:auth', ownersOnly, async (request) => {
    const { id, auth } = request.params as { id: string; auth: string };
    const user = await mustFindUser(ctx.db, id);
    if (auth !== PASSWORD_AUTH_ID || user.password_hash === null) throw notFound(`User ${id} has no auth method ${auth}`);
    if (user.super_admin === 1 && user.disabled !== 1 && (await countUsers(ctx.db, { superAdmin: true, enabledOnly: true })) <= 1) {
      throw conflict('This is the last instance owner: removing their password could lock every owner out');
    }
    return apiUser(ctx, await applyUserChange(ctx, user, { passwordHash: null }));
  });

  app.delete('/api/v1/users/:id', ownersOnly, async (request, reply) => {
    const user = await mustFindUser(ctx.db, (request.params as { id: string }).id);
    await ctx.db.transaction().execute(async (trx) => {
      await guardLastOwner(trx, user, { deleted: true });
      await deleteUser(trx, user.id);
    });
    await ctx.sessions.revokeUser(user.id);
    await forgetUserInIam(ctx, user.id);
    return reply.code(204).send();
  });

  // The signed-in person.
  app.get('/api/v1/me', async (request) => {
    const { userId, tenantId } = request.principal!;
    // EE's `ApiMe.tenants`: the tenants this person may enter (what the tenant switcher lists).
    const tenants = ctx.tenants.enterable(request.principal!).map((t) => ({ id: t.id, name: t.name, logo: null }));
    return { ...toApiMe(await mustFindUser(ctx.db, userId)), tenants, selectedTenant: tenantId, permissions: ctx.authz.effective(tenantId, userId) };
  });

  app.patch('/api/v1/me', async (request) => {
    const user = await mustFindUser(ctx.db, request.principal!.userId);
    if (user.restricted === 1) throw forbidden('This account is restricted and cannot change its profile');
    const { disabled: _ignored, ...details } = parse(userDetailsRequestSchema, request.body);
    // An email someone gave themselves would be trusted where Perch trusts emails: single sign-on links
    // the person the identity provider vouches for to the account with that email, and reset links
    // and invitations go to it. So only an instance owner sets one (here or on /users/{id}).
    if (details.email !== undefined && details.email !== user.email && user.super_admin !== 1) {
      throw forbidden('Only an instance owner can change an account’s email: it is how the account signs in and how single sign-on finds it');
    }
    return toApiMe(await applyUserChange(ctx, user, details));
  });

  app.put('/api/v1/me/password', async (request, reply) => {
    const principal = request.principal!;
    const user = await mustFindUser(ctx.db, principal.userId);
    if (user.restricted === 1) throw forbidden('This account is restricted and cannot change its password');
    const body = parse(updateOwnPasswordRequestSchema, request.body);
    // The new password's rules first: a guess at the current one must learn nothing from the answer.
    checkPasswordRules(ctx, body.newPassword, 'newPassword');
    // A stolen session or token must not be a way to guess the password around the sign-in lock.
    const attempt = await ctx.throttle.attempt(request.clientAddress ?? '', user.email, () => verifyPassword(user.password_hash, body.oldPassword));
    if (attempt.outcome !== 'ok') recordAttemptFailure(ctx, request, 'password-change', user.email, attempt, user, 'wrong current password (password change)');
    const throttled = throttledAnswer(attempt);
    if (throttled) {
      reply.header('retry-after', String(throttled.retryAfterSeconds));
      throw new HttpError(429, throttled.message);
    }
    if (attempt.outcome === 'wrong') {
      throw new HttpError(422, 'The current password is incorrect', { errors: [{ path: 'oldPassword', message: 'incorrect' }] });
    }
    const passwordHash = await hashPassword(body.newPassword);
    await updateUser(ctx.db, user.id, { passwordHash });
    await ctx.sessions.revokeUser(user.id, principal.sessionHash); // other sessions end, this one stays
    return {};
  });
}
