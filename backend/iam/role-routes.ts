import type { FastifyInstance } from 'fastify';
import { normalizePermissions, type Permissions } from '../../lib/authz/catalogue.js';
import { autocompleteRequestSchema, idsRequestSchema, roleCreateOrUpdateRequestSchema } from '../../lib/schemas/iam.js';
import type { PerchContext } from '../context.js';
import { conflict, forbidden, notFound } from '../http/errors.js';
import type { Store } from '../store/database.js';
import { requireHolds, requirePermission } from './access.js';
import { listQuery, parse, signedIn, tenantOf } from '../http/request.js';
import {
  autocompleteRoles,
  bindingsOfRole,
  countBindingsOfRole,
  deleteRole,
  findRole,
  findRoleByName,
  insertRole,
  isUniqueViolation,
  readPermissions,
  rolesByIds,
  searchRoles,
  toApiRole,
  toApiRoleDetail,
  toApiRoleSummary,
  toBindingFact,
  updateRole,
  type RoleRow,
} from './iam-store.js';

async function mustFindRole(db: Store, tenant: string, id: string): Promise<RoleRow> {
  const role = await findRole(db, tenant, id);
  if (!role) throw notFound(`Role ${id} not found`);
  return role;
}

async function ensureRoleNameFree(db: Store, tenant: string, name: string, exceptId?: string): Promise<void> {
  const other = await findRoleByName(db, tenant, name);
  if (other && other.id !== exceptId) throw conflict(`A role named ${name} already exists`);
}

/** A concurrent request took the name between our check and our write. */
function duplicateNameAsConflict(name: string) {
  return (error: unknown): never => {
    if (isUniqueViolation(error)) throw conflict(`A role named ${name} already exists`);
    throw error;
  };
}

const samePermissions = (a: Permissions, b: Permissions) => JSON.stringify(normalizePermissions(a)) === JSON.stringify(normalizePermissions(b));

/** After a role's permissions change, every binding of it is re-resolved in the decision index. */
async function refreshBindingsOf(ctx: PerchContext, tenant: string, role: RoleRow): Promise<void> {
  const permissions = readPermissions(role.permissions);
  for (const binding of await bindingsOfRole(ctx.db, tenant, role.id)) ctx.authz.addBinding(toBindingFact(binding, permissions));
}

export function registerRoleRoutes(app: FastifyInstance, ctx: PerchContext): void {
  app.post('/api/v1/:tenant/roles', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'ROLE', 'CREATE');
    const body = parse(roleCreateOrUpdateRequestSchema, request.body);
    requireHolds(ctx, principal, tenant, body.permissions, null, `create role ${body.name}`);
    const role = await ctx.db
      .transaction()
      .execute(async (trx) => {
        await ensureRoleNameFree(trx, tenant, body.name);
        return insertRole(trx, tenant, { name: body.name, description: body.description ?? null, permissions: body.permissions, isDefault: body.isDefault ?? false });
      })
      .catch(duplicateNameAsConflict(body.name));
    return toApiRoleDetail(role);
  });

  app.get('/api/v1/:tenant/roles/search', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'ROLE', 'LIST');
    const { rows, total } = await searchRoles(ctx.db, tenant, listQuery(request));
    return { results: rows.map(toApiRoleSummary), total };
  });

  app.post('/api/v1/:tenant/roles/autocomplete', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'ROLE', 'LIST');
    const body = parse(autocompleteRequestSchema, request.body);
    return (await autocompleteRoles(ctx.db, tenant, body.q, body.ids ?? [])).map(toApiRoleSummary);
  });

  app.post('/api/v1/:tenant/roles/ids', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'ROLE', 'LIST');
    const body = parse(idsRequestSchema, request.body);
    return (await rolesByIds(ctx.db, tenant, body.ids)).map(toApiRole);
  });

  app.get('/api/v1/:tenant/roles/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'ROLE', 'VIEW');
    return toApiRoleDetail(await mustFindRole(ctx.db, tenant, (request.params as { id: string }).id));
  });

  app.put('/api/v1/:tenant/roles/:id', signedIn, async (request) => {
    const tenant = tenantOf(request);
    const principal = requirePermission(ctx, request, tenant, 'ROLE', 'UPDATE');
    const id = (request.params as { id: string }).id;
    await mustFindRole(ctx.db, tenant, id);
    const body = parse(roleCreateOrUpdateRequestSchema, request.body);

    const { role, permissionsChanged } = await ctx.db
      .transaction()
      .execute(async (trx) => {
        const current = await mustFindRole(trx, tenant, id);
        const currentPermissions = readPermissions(current.permissions);
        const permissionsChanged = !samePermissions(currentPermissions, body.permissions);
        const makesDefault = body.isDefault === true && current.is_default !== 1;
        if (current.is_managed === 1) {
          const descriptionChanged = body.description !== undefined && (body.description ?? null) !== current.description;
          if (body.name !== current.name || descriptionChanged || permissionsChanged) {
            throw forbidden(`Role ${current.name} is managed by Perch and cannot be edited (only isDefault can be set): create a custom role instead`);
          }
        }
        // Changing what a role grants changes every binding of it; making it the default hands it to every new user.
        if (permissionsChanged) requireHolds(ctx, principal, tenant, body.permissions, null, `update role ${current.name}`);
        else if (makesDefault) requireHolds(ctx, principal, tenant, currentPermissions, null, `make role ${current.name} the default`);
        await ensureRoleNameFree(trx, tenant, body.name, id);
        const role = await updateRole(trx, tenant, id, current.is_managed === 1
          ? { isDefault: body.isDefault }
          : { name: body.name, description: body.description ?? null, permissions: body.permissions, isDefault: body.isDefault });
        return { role, permissionsChanged };
      })
      .catch(duplicateNameAsConflict(body.name));
    if (permissionsChanged) await refreshBindingsOf(ctx, tenant, role);
    return toApiRoleDetail(role);
  });

  app.delete('/api/v1/:tenant/roles/:id', signedIn, async (request, reply) => {
    const tenant = tenantOf(request);
    requirePermission(ctx, request, tenant, 'ROLE', 'DELETE');
    const id = (request.params as { id: string }).id;
    await ctx.db
      .transaction()
      .execute(async (trx) => {
        const role = await mustFindRole(trx, tenant, id);
        if (role.is_managed === 1) throw forbidden(`Role ${role.name} is managed by Perch and cannot be deleted`);
        const used = await countBindingsOfRole(trx, tenant, id);
        if (used > 0) throw conflict(`Role ${role.name} is used by ${used} binding${used === 1 ? '' : 's'}: delete them first`);
        await deleteRole(trx, tenant, id);
      })
      .catch((error: unknown) => {
        // A binding created concurrently: the foreign key refuses the delete.
        const code = (error as { code?: unknown } | null)?.code;
        if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw conflict(`Role ${id} is used by bindings: delete them first`);
        throw error;
      });
    return reply.code(204).send();
  });
}
