import type { FastifyInstance } from 'fastify';
import { MANAGED_ROLES, PERMISSION_CATALOGUE } from '../../lib/authz/catalogue.js';
import type { AclTemplates } from '../../lib/schemas/iam.js';
import type { PerchContext } from '../context.js';
import { signedIn, tenantOf } from '../http/request.js';
import { auditIamStates } from './audit-states.js';
import { registerBindingRoutes } from './binding-routes.js';
import { registerGroupRoutes } from './group-routes.js';
import { registerRoleRoutes } from './role-routes.js';

/** Kestra EE's IAM API under /api/v1/{tenant}: roles, groups, bindings and the permission catalogue. */
export function registerIamRoutes(app: FastifyInstance, ctx: PerchContext): void {
  auditIamStates();
  registerRoleRoutes(app, ctx);
  registerGroupRoutes(app, ctx);
  registerBindingRoutes(app, ctx);

  // What the role editor is built from: public knowledge, so any signed-in person may read it.
  app.get('/api/v1/:tenant/acls/permissions', signedIn, async (request) => {
    tenantOf(request);
    return PERMISSION_CATALOGUE;
  });

  app.get('/api/v1/:tenant/acls/templates', signedIn, async (request): Promise<AclTemplates> => {
    tenantOf(request);
    return Object.fromEntries(MANAGED_ROLES.map((role) => [role.id.toUpperCase(), role.permissions])) as AclTemplates;
  });
}
