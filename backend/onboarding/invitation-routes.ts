import { requestFields } from '../audit/http-hook.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acceptInvitationRequestSchema, createInvitationRequestSchema, invitationSearchQuerySchema } from '../../lib/schemas/onboarding.js';
import type { Permissions } from '../../lib/authz/catalogue.js';
import { setLoginCookies } from '../auth/cookies.js';
import { crossSiteBrowserProblem } from '../auth/guard.js';
import { hashPassword, passwordProblem } from '../auth/passwords.js';
import type { PerchContext } from '../context.js';
import { conflict, forbidden, HttpError, notFound } from '../http/errors.js';
import { requireHolds, requirePermission } from '../iam/access.js';
import { listQuery, parse, principalOf, signedIn, tenantOf } from '../http/request.js';
import {
  addMember,
  bindDefaultRole,
  bindingsOfSubject,
  findGroup,
  findRole,
  findSameBinding,
  insertBinding,
  isUniqueViolation,
  readPermissions,
  toBindingFact,
  type BindingRow,
} from '../iam/iam-store.js';
import type { Mailer } from '../mail/mailer.js';
import { invitationMail } from '../mail/messages.js';
import { createUser, findUserByEmail, type UserRow } from '../users/user-store.js';
import {
  claimInvitation,
  deleteInvitation,
  findInvitation,
  findInvitationByTokenHash,
  findPendingInvitation,
  insertInvitation,
  invitationsOfEmail,
  readGroupIds,
  readRoles,
  searchInvitations,
  statusOf,
  toApiInvitations,
  type InvitationRow,
  type NewInvitation,
  type StoredRole,
} from './invitation-store.js';
import { describeRules, renderAcceptPage } from './pages.js';
import { hashLinkToken, linkTo, newLinkToken } from './secret-links.js';
import { perchPageReply } from '../http/perch-page.js';
import type { Store } from '../store/database.js';

export const ACCEPT_PATH = '/perch/invitations/accept';

const publicRoute = { config: { access: 'public' as const } };

/** Why a link cannot be used: the status code and the sentence shown to the person. */
function deadInvitation(row: InvitationRow | undefined, now = Date.now()): HttpError | null {
  if (!row) return new HttpError(404, 'This invitation link is not valid: it may have been withdrawn. Ask the person who invited you for a new one.');
  const status = statusOf(row, now);
  if (status === 'ACCEPTED') return new HttpError(410, 'This invitation has already been used. Sign in with the account it created.');
  if (status === 'EXPIRED') return new HttpError(410, 'This invitation has expired. Ask the person who invited you to send a new one.');
  return null;
}


/**
 * Everything an invitation grants must be held by whoever sends it (anti-escalation, as for
 * bindings and group memberships): each role at each of its scopes, and each group's bindings.
 */
async function requireHoldsInvitation(ctx: PerchContext, request: FastifyRequest, tenant: string, roles: StoredRole[], groupIds: string[]): Promise<void> {
  const principal = principalOf(request);
  for (const r of roles) {
    const role = await findRole(ctx.db, tenant, r.id);
    if (!role) throw notFound(`Role ${r.id} not found`);
    const permissions = readPermissions(role.permissions);
    for (const namespace of r.namespaces.length ? r.namespaces : [null]) {
      requireHolds(ctx, principal, tenant, permissions, namespace, `invite with role ${role.name} ${namespace === null ? 'tenant-wide' : `on namespace ${namespace}`}`);
    }
  }
  for (const groupId of groupIds) {
    const group = await findGroup(ctx.db, tenant, groupId);
    if (!group) throw notFound(`Group ${groupId} not found`);
    if (principal.superAdmin) continue;
    for (const binding of await bindingsOfSubject(ctx.db, tenant, 'GROUP', group.id)) {
      const role = await findRole(ctx.db, tenant, binding.role_id);
      if (role) requireHolds(ctx, principal, tenant, readPermissions(role.permissions), binding.namespace, `invite into group ${group.name}`);
    }
  }
}

interface CreatedAccount {
  user: UserRow;
  bindings: Array<{ row: BindingRow; permissions: Permissions }>;
  groups: string[];
}

/**
 * In `trx`: creates the account for the invitation's email, applies its bindings and memberships,
 * and marks it used. Roles or groups deleted since the invitation was sent are skipped.
 */
async function createAccountFrom(trx: Store, row: InvitationRow, passwordHash: string | null, names: { firstName?: string | null; lastName?: string | null }): Promise<CreatedAccount> {
  if (await findUserByEmail(trx, row.email)) throw conflict(`An account already exists for ${row.email}: sign in instead`);
  const user = await createUser(trx, {
    email: row.email,
    firstName: names.firstName?.trim() || null,
    lastName: names.lastName?.trim() || null,
    passwordHash,
    superAdmin: row.super_admin === 1,
    tenantId: row.tenant_id,
  });
  const now = Date.now();
  if (!(await claimInvitation(trx, row.id, user.id, now))) {
    throw deadInvitation(await findInvitationByTokenHash(trx, row.token_hash), now) ?? new HttpError(410, 'This invitation can no longer be used.');
  }
  const bindings: CreatedAccount['bindings'] = [];
  for (const r of readRoles(row)) {
    const role = await findRole(trx, row.tenant_id, r.id);
    if (!role) continue;
    for (const namespace of r.namespaces.length ? r.namespaces : [null]) {
      const input = { type: 'USER' as const, subjectId: user.id, roleId: role.id, namespace };
      if (await findSameBinding(trx, row.tenant_id, input)) continue;
      bindings.push({ row: await insertBinding(trx, row.tenant_id, input), permissions: readPermissions(role.permissions) });
    }
  }
  const groups: string[] = [];
  for (const groupId of readGroupIds(row)) {
    if (!(await findGroup(trx, row.tenant_id, groupId))) continue;
    await addMember(trx, row.tenant_id, groupId, user.id, 'MEMBER');
    groups.push(groupId);
  }
  return { user, bindings, groups };
}

const accountTakenAsConflict = (email: string) => (error: unknown): never => {
  if (isUniqueViolation(error)) throw conflict(`An account already exists for ${email}: sign in instead`);
  throw error;
};

/** Once the account's transaction committed: the decision index, the default role, the other replicas. */
async function announceAccount(ctx: PerchContext, tenantId: string, created: CreatedAccount): Promise<void> {
  ctx.tenants.granted(created.user.tenant_id, created.user.id);
  for (const b of created.bindings) ctx.authz.addBinding(toBindingFact(b.row, b.permissions));
  for (const groupId of created.groups) ctx.authz.addMembership({ tenantId, groupId, userId: created.user.id });
  // Like any new account, the person also gets the tenant's default role.
  await bindDefaultRole(ctx, created.user.id, tenantId);
  // Other replicas re-read the authorization facts (this one already has them).
  await ctx.changes.publish('iam', 'onboarding').catch((error: unknown) => ctx.log.error({ err: error }, 'could not announce an IAM change'));
}

/** The person accepts: account, grants and claim in one transaction. */
async function acceptInvitation(ctx: PerchContext, row: InvitationRow, passwordHash: string, names: { firstName?: string | null; lastName?: string | null }): Promise<UserRow> {
  const created = await ctx.db
    .transaction()
    .execute((trx) => createAccountFrom(trx, row, passwordHash, names))
    .catch(accountTakenAsConflict(row.email));
  await announceAccount(ctx, row.tenant_id, created);
  return created.user;
}

/** Shared by the HTML form and the JSON route: checks, creates, signs in. */
async function acceptFromRequest(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply, body: unknown): Promise<{ user: UserRow; row: InvitationRow }> {
  if (crossSiteBrowserProblem(ctx, request)) throw forbidden('Cross-site request refused');
  const parsed = parse(acceptInvitationRequestSchema, body);
  const row = await findInvitationByTokenHash(ctx.db, hashLinkToken(parsed.token));
  const dead = deadInvitation(row);
  if (dead) throw dead;
  const problem = passwordProblem(parsed.password, ctx.config.password);
  // The link stays usable: the person can try another password.
  if (problem) throw new HttpError(422, problem, { errors: [{ path: 'password', message: problem }] });
  if (await findUserByEmail(ctx.db, row!.email)) throw conflict(`An account already exists for ${row!.email}: sign in instead`);
  const user = await acceptInvitation(ctx, row!, await hashPassword(parsed.password), parsed);
  await ctx.audit.record({
    tenantId: row!.tenant_id,
    actor: { type: 'USER', id: user.id, email: user.email },
    action: 'CREATE',
    resourceType: 'USER',
    resourceId: user.id,
    ...requestFields(request),
    outcome: 'SUCCESS',
    details: { via: 'invitation', invitationId: row!.id, path: request.canonical?.path ?? null },
  });
  const session = await ctx.sessions.create(user, { ip: request.clientAddress ?? undefined, userAgent: request.headers['user-agent'] });
  setLoginCookies(reply, ctx.cookies, session.token);
  return { user, row: row! };
}

/**
 * EE's `createUserIfNotExist` ("skip the invitation", for single sign-on): the account is created at
 * once, without a password, with the invitation's roles and groups, and the invitation is recorded as
 * accepted, all in one transaction. The person signs in through single sign-on, or with a password an
 * instance owner sets or a reset link. No link exists, so none is shown or mailed.
 */
async function createDirectly(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply, invitation: NewInvitation) {
  const principal = principalOf(request);
  const created = await ctx.db
    .transaction()
    .execute(async (trx) => {
      if (await findPendingInvitation(trx, invitation.tenantId, invitation.email)) throw conflict(`An invitation for ${invitation.email} is already pending: delete it first`);
      const row = await insertInvitation(trx, invitation);
      return { row, account: await createAccountFrom(trx, row, null, {}) };
    })
    .catch(accountTakenAsConflict(invitation.email));
  await announceAccount(ctx, invitation.tenantId, created.account);
  const actor = { type: principal.actorType === 'SERVICE_ACCOUNT' ? ('SERVICE_ACCOUNT' as const) : ('USER' as const), id: principal.userId, email: principal.email };
  await ctx.audit.record({
    tenantId: invitation.tenantId,
    actor,
    action: 'CREATE',
    resourceType: 'USER',
    resourceId: created.account.user.id,
    ...requestFields(request),
    outcome: 'SUCCESS',
    details: { via: 'createUserIfNotExist', invitationId: created.row.id, email: invitation.email, roles: invitation.roles, groups: invitation.groupIds, superAdmin: invitation.superAdmin },
  });
  const row = (await findInvitation(ctx.db, invitation.tenantId, created.row.id))!;
  const [detail] = await toApiInvitations(ctx.db, [row]);
  return reply.code(201).header('cache-control', 'no-store').send(detail);
}

export function registerInvitationRoutes(app: FastifyInstance, ctx: PerchContext, mailer: Mailer): void {
  app.post('/api/v1/:tenant/invitations', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'INVITATION', 'CREATE');
    const body = parse(createInvitationRequestSchema, request.body);
    if (body.superAdmin && !principal.superAdmin) throw forbidden('Only an instance owner may invite an instance owner');
    const roles: StoredRole[] = (body.roles ?? []).map((r) => ({ id: r.id, namespaces: [...new Set(r.namespaces ?? [])] }));
    const groupIds = [...new Set(body.groups ?? [])];
    await requireHoldsInvitation(ctx, request, tenant, roles, groupIds);
    if (await findUserByEmail(ctx.db, body.email)) throw conflict(`${body.email} already has an account: grant them roles with bindings instead`);
    const { token, hash } = newLinkToken();
    const sentAt = Date.now();
    const expiresAt = sentAt + ctx.config.invitations.expireAfter;
    const invitation = { tenantId: tenant, email: body.email, tokenHash: hash, roles, groupIds, superAdmin: body.superAdmin ?? false, createdBy: principal.userId, sentAt, expiresAt };
    if (body.createUserIfNotExist) return createDirectly(ctx, request, reply, invitation);
    const row = await ctx.db.transaction().execute(async (trx) => {
      if (await findPendingInvitation(trx, tenant, body.email)) throw conflict(`An invitation for ${body.email} is already pending: delete it first to send a new one`);
      return insertInvitation(trx, invitation);
    });
    const link = linkTo(ctx, request, ACCEPT_PATH, token);
    let mailed = false;
    if (mailer.enabled) {
      try {
        await mailer.send(body.email, invitationMail({ link, tenantId: tenant, invitedBy: principal.email, expiresAt }));
        mailed = true;
        await ctx.db.updateTable('invitations').set({ mailed: 1 }).where('id', '=', row.id).execute();
        row.mailed = 1;
      } catch (error) {
        request.log.error({ err: error, invitationId: row.id }, 'could not mail the invitation: its link is returned to the admin instead');
      }
    }
    await ctx.audit.record({
      tenantId: tenant,
      actor: { type: principal.actorType === 'SERVICE_ACCOUNT' ? 'SERVICE_ACCOUNT' : 'USER', id: principal.userId, email: principal.email },
      action: 'CREATE',
      resourceType: 'INVITATION',
      resourceId: row.id,
      ...requestFields(request),
      outcome: 'SUCCESS',
      details: { email: body.email, roles, groups: groupIds, superAdmin: body.superAdmin ?? false, mailed },
    });
    // The link (it holds the secret) is shown once, and only when it could not be mailed.
    const [detail] = await toApiInvitations(ctx.db, [row], mailed ? new Map() : new Map([[row.id, link]]));
    return reply.code(201).header('cache-control', 'no-store').send(detail);
  });

  app.get('/api/v1/:tenant/invitations/search', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'INVITATION', 'VIEW');
    const raw = request.query as Record<string, unknown>;
    const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
    let email = first(raw.email);
    let status = first(raw.status);
    for (const [key, value] of Object.entries(raw)) {
      if (/^filters\[email\]\[[A-Z_]+\]$/.test(key)) email = first(value);
      if (/^filters\[status\]\[[A-Z_]+\]$/.test(key)) status = first(value);
    }
    const filters = parse(invitationSearchQuerySchema, { email: email || undefined, status: status || undefined });
    const page = listQuery(request);
    const { rows, total } = await searchInvitations(ctx.db, tenant, { page: page.page, size: page.size, direction: page.direction === 'asc' ? 'asc' : 'desc', ...filters });
    return { results: await toApiInvitations(ctx.db, rows), total };
  });

  app.get('/api/v1/:tenant/invitations/email/:email', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'INVITATION', 'VIEW');
    return toApiInvitations(ctx.db, await invitationsOfEmail(ctx.db, (request.params as { email: string }).email, tenant));
  });

  app.get('/api/v1/:tenant/invitations/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'INVITATION', 'VIEW');
    const id = (request.params as { id: string }).id;
    const row = await findInvitation(ctx.db, tenant, id);
    if (!row) throw notFound(`Invitation ${id} not found`);
    return (await toApiInvitations(ctx.db, [row]))[0];
  });

  app.delete('/api/v1/:tenant/invitations/:id', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'INVITATION', 'DELETE');
    const id = (request.params as { id: string }).id;
    if (!(await deleteInvitation(ctx.db, tenant, id))) throw notFound(`Invitation ${id} not found`);
    await ctx.audit.record({
      tenantId: tenant,
      actor: { type: principal.actorType === 'SERVICE_ACCOUNT' ? 'SERVICE_ACCOUNT' : 'USER', id: principal.userId, email: principal.email },
      action: 'DELETE',
      resourceType: 'INVITATION',
      resourceId: id,
      ...requestFields(request),
      outcome: 'SUCCESS',
      details: { method: 'DELETE', path: request.canonical.path },
    });
    return reply.code(204).send();
  });

  // EE answers `Invitation` entities here (required: deleted, email; `bindings` are `Binding`s, `groupIds`), not
  // the admin's ApiInvitationDetail: Perch's detail fields stay, the entity's replace the shapes that differ.
  app.get('/api/v1/me/invitations', signedIn, async (request) => {
    const principal = principalOf(request);
    const rows = await invitationsOfEmail(ctx.db, principal.email);
    const pending = rows.filter((r) => statusOf(r) === 'PENDING');
    const details = await toApiInvitations(ctx.db, pending);
    return details.map((detail, i) => {
      const { acceptedAt, link, bindings, ...rest } = detail;
      return {
        ...rest,
        ...(acceptedAt === null ? {} : { acceptedAt }),
        ...(link === null ? {} : { link }),
        deleted: false,
        userType: 'STANDARD' as const,
        groupIds: readGroupIds(pending[i]!),
        bindings: bindings.map((b) => ({
          type: 'USER' as const,
          externalId: principal.userId,
          roleId: b.roleId,
          ...(b.namespace === null ? {} : { namespaceId: b.namespace }),
          deleted: false,
        })),
      };
    });
  });

  // The page the link opens: a password form, or why the link cannot be used.
  app.get(ACCEPT_PATH, publicRoute, async (request, reply) => {
    const token = (request.query as Record<string, unknown>).token;
    perchPageReply(reply, { secretLink: true });
    const row = typeof token === 'string' && token.length <= 200 ? await findInvitationByTokenHash(ctx.db, hashLinkToken(token)) : undefined;
    const dead = deadInvitation(row);
    if (dead) return reply.code(dead.status).send(renderAcceptPage({ dead: true, error: dead.message }));
    return reply.send(renderAcceptPage({ token: token as string, email: row!.email, rules: describeRules(ctx.config.password) }));
  });

  app.post(ACCEPT_PATH, publicRoute, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    reply.header('cache-control', 'no-store');
    try {
      await acceptFromRequest(ctx, request, reply, body);
      return reply.redirect('/ui/', 303);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const token = typeof body.token === 'string' ? body.token : undefined;
      const row = token && token.length <= 200 ? await findInvitationByTokenHash(ctx.db, hashLinkToken(token)) : undefined;
      const alive = row && statusOf(row) === 'PENDING';
      return perchPageReply(reply, { secretLink: true })
        .code(error.status)
        .send(renderAcceptPage({ dead: !alive, token, email: row?.email, rules: describeRules(ctx.config.password), error: error.message }));
    }
  });

  // JSON for scripts and a future UI: 200 with the new user's id, the session cookie set.
  app.post('/perch/api/invitations/accept', publicRoute, async (request, reply) => {
    const { user, row } = await acceptFromRequest(ctx, request, reply, request.body);
    return reply.header('cache-control', 'no-store').send({ userId: user.id, email: user.email, tenantId: row.tenant_id });
  });
}
