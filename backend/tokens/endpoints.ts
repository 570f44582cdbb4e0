import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/sessions.js';
import { createApiTokenRequestSchema } from '../../lib/schemas/tokens.js';
import type { PerchContext } from '../context.js';
import { forbidden, notFound } from '../http/errors.js';
import { parse } from '../http/request.js';
import type { Access } from '../http/fastify-types.js';
import { machineAccess } from './machine-access.js';
import { createApiToken, deleteApiToken, listApiTokens } from './token-store.js';

export const ownersOnly = { config: { access: 'instanceOwner' as const } };

export type TokenAction = 'LIST' | 'CREATE' | 'DELETE';

export interface TokenEndpoints {
  /** e.g. `/api/v1/me/api-tokens`; `/{tokenId}` is appended for DELETE. */
  path: string;
  access: { config: { access: Access } };
  /** Whose tokens these are, after checking the caller may do `action` on them (throws otherwise). */
  owner(request: FastifyRequest, action: TokenAction): Promise<string>;
  createdStatus: 200 | 201;
  /** 204 answers with no body; 200 with `{}` (the EE spec differs by path). */
  deletedStatus: 200 | 204;
}

/** Whether the caller proved who they are with an API token (rather than a session or a password). */
export function authenticatedByToken(principal: Principal | null | undefined): boolean {
  return principal !== null && principal !== undefined && (principal.authMethod === 'token' || principal.sessionHash.startsWith('token:'));
}

/**
 * A token cannot outlive or out-rank its origin: a call authenticated by an API token may not mint
 * API tokens (for its owner or anyone else), so revoking that token, or disabling its owner, ends
 * every access it could give. Tokens are created from a session or with a password (Basic).
 */
function refuseTokenMinting(request: FastifyRequest): void {
  if (authenticatedByToken(request.principal)) {
    throw forbidden('A call authenticated by an API token cannot create API tokens: sign in (or use Basic credentials) to create one');
  }
}

/** GET list, POST create (the secret is answered once), DELETE one: the same for every owner kind. */
export function registerTokenEndpoints(app: FastifyInstance, ctx: PerchContext, endpoints: TokenEndpoints): void {
  app.get(endpoints.path, endpoints.access, async (request) => listApiTokens(ctx.db, await endpoints.owner(request, 'LIST')));

  app.post(endpoints.path, endpoints.access, async (request, reply) => {
    refuseTokenMinting(request);
    const userId = await endpoints.owner(request, 'CREATE');
    const body = parse(createApiTokenRequestSchema, request.body);
    const created = await createApiToken(ctx.db, userId, body, request.principal!.userId);
    request.log.info({ event: 'api-token.created', tokenId: created.id, ownerId: userId }, 'API token created');
    return reply.code(endpoints.createdStatus).header('cache-control', 'no-store').send(created);
  });

  app.delete(`${endpoints.path}/:tokenId`, endpoints.access, async (request, reply) => {
    const userId = await endpoints.owner(request, 'DELETE');
    const { tokenId } = request.params as { tokenId: string };
    if (!(await deleteApiToken(ctx.db, userId, tokenId))) throw notFound(`API token ${tokenId} not found`);
    machineAccess(ctx).revoked([tokenId]);
    request.log.info({ event: 'api-token.deleted', tokenId, ownerId: userId }, 'API token deleted');
    return endpoints.deletedStatus === 204 ? reply.code(204).send() : reply.code(200).send({});
  });
}
