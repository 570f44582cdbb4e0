import { z } from 'zod';
import { actionSchema, permissionsSchema, resourceSchema } from '../authz/catalogue.js';
import { namespaceSchema } from '../authz/namespaces.js';

/**
 * Roles, groups and bindings with the shapes of Kestra EE's IAMRoleController, IAMGroupController
 * and IAMBindingController (behaviour spec §2.2) so EE clients work unchanged.
 */

const name = z.string().trim().min(1, { message: 'name must not be empty' }).max(200);
const description = z.string().trim().max(2000).nullish();
const id = z.string().min(1).max(64);

/** A role's permissions as Perch answers them: resources and actions of the 2.0 model. */
export const permissionsOutSchema = z.partialRecord(resourceSchema, z.array(actionSchema));

// ---------------------------------------------------------------------------------------------
// Roles

/** ApiRoleCreateOrUpdateRequest; `permissions` may also be a legacy 1.x CRUD payload. */
export const roleCreateOrUpdateRequestSchema = z.object({
  name,
  description,
  permissions: permissionsSchema,
  isDefault: z.boolean().optional(),
});
export type RoleCreateOrUpdateRequest = z.infer<typeof roleCreateOrUpdateRequestSchema>;

export const apiRoleDetailSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  permissions: permissionsOutSchema,
  isDefault: z.boolean(),
  isManaged: z.boolean(),
});
export type ApiRoleDetail = z.infer<typeof apiRoleDetailSchema>;

/** `Role`, what POST /roles/ids answers. */
export const apiRoleSchema = apiRoleDetailSchema.extend({ deleted: z.boolean() });
export type ApiRole = z.infer<typeof apiRoleSchema>;

export const apiRoleSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  isDefault: z.boolean(),
  isManaged: z.boolean(),
  permissionCount: z.number().int(),
});
export type ApiRoleSummary = z.infer<typeof apiRoleSummarySchema>;

// ---------------------------------------------------------------------------------------------
// Shared request bodies

/** ApiAutocomplete: `ids` must be present in the results whatever `q` says. */
export const autocompleteRequestSchema = z.object({
  q: z.string().max(200).nullish(),
  ids: z.array(id).max(1000).nullish(),
  existingOnly: z.boolean().optional(),
});
export type AutocompleteRequest = z.infer<typeof autocompleteRequestSchema>;

export const idsRequestSchema = z.object({ ids: z.array(id).max(1000).default([]) });
/** EE's `IAMUserGroupController.ApiUpdateUserGroupsRequest`: the user's groups in the tenant, all of them. */
export const updateUserGroupsRequestSchema = z.strictObject({ groupIds: z.array(id).max(1000).default([]) });

// ---------------------------------------------------------------------------------------------
// Groups

export const membershipSchema = z.enum(['OWNER', 'MEMBER']);
export type Membership = z.infer<typeof membershipSchema>;

export const createGroupRequestSchema = z.object({
  name,
  description,
  membersId: z.array(id).max(1000).optional(),
});
export type CreateGroupRequest = z.infer<typeof createGroupRequestSchema>;

export const updateGroupRequestSchema = z.object({ name, description });
export type UpdateGroupRequest = z.infer<typeof updateGroupRequestSchema>;

export const apiGroupDetailSchema = z.object({ id: z.string(), name: z.string(), description: z.string().nullable() });
export type ApiGroupDetail = z.infer<typeof apiGroupDetailSchema>;

export const apiGroupSummarySchema = apiGroupDetailSchema.extend({
  /** Set when a SCIM integration manages the group; Perch has none yet. */
  securityIntegrationName: z.string().nullable(),
});
export type ApiGroupSummary = z.infer<typeof apiGroupSummarySchema>;

export const apiGroupMembershipSchema = z.object({
  id: z.string(),
  name: z.string(),
  external: z.boolean(),
  membership: membershipSchema,
});

export const apiGroupMemberSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  /** Every group of the tenant the user belongs to, with the membership in each. */
  groups: z.array(apiGroupMembershipSchema),
});
export type ApiGroupMember = z.infer<typeof apiGroupMemberSchema>;

export const setMembershipQuerySchema = z.object({ membership: membershipSchema });

// ---------------------------------------------------------------------------------------------
// Bindings

export const bindingTypeSchema = z.enum(['USER', 'GROUP']);
export type BindingType = z.infer<typeof bindingTypeSchema>;

/** Strict: `namespace` (the answers' name) for `namespaceId` would otherwise bind tenant-wide, without a word. */
export const createBindingRequestSchema = z.strictObject({
  type: bindingTypeSchema,
  externalId: id,
  roleId: id,
  namespaceId: namespaceSchema.nullish(),
});
export type CreateBindingRequest = z.infer<typeof createBindingRequestSchema>;

export const bulkCreateBindingsRequestSchema = z.array(createBindingRequestSchema).max(1000);

export const apiBindingDetailSchema = z.object({
  id: z.string(),
  type: bindingTypeSchema,
  namespace: z.string().nullable(),
  role: z.object({ id: z.string(), name: z.string() }),
  group: z.object({ id: z.string(), name: z.string() }).nullable(),
  user: z.object({ id: z.string(), username: z.string(), displayName: z.string(), type: z.enum(['STANDARD', 'SERVICE_ACCOUNT']) }).nullable(),
});
export type ApiBindingDetail = z.infer<typeof apiBindingDetailSchema>;

export const bindingSearchQuerySchema = z.object({
  type: bindingTypeSchema.optional(),
  id: z.string().max(64).optional(),
  namespace: z.string().max(150).optional(),
});

// ---------------------------------------------------------------------------------------------
// Catalogue

/** GET /acls/templates: the managed roles' permission sets keyed ADMIN, DEVELOPER, EDITOR, LAUNCHER, VIEWER. */
export const aclTemplatesSchema = z.record(z.enum(['ADMIN', 'DEVELOPER', 'EDITOR', 'LAUNCHER', 'VIEWER']), permissionsOutSchema);
export type AclTemplates = z.infer<typeof aclTemplatesSchema>;
