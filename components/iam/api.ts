import { getJson, tenantApi } from '../app/api';
import { kestraNamespacePageSchema } from '../../lib/schemas/kestra-namespaces';
import {
  apiBindingDetailSchema,
  apiGroupMemberSchema,
  apiGroupSummarySchema,
  apiRoleDetailSchema,
  apiRoleSummarySchema,
  permissionsOutSchema,
} from '../../lib/schemas/iam';
import { apiInvitationDetailSchema } from '../../lib/schemas/onboarding';
import { apiTokenListSchema, apiServiceAccountTenantAccessSchema } from '../../lib/schemas/tokens';
import { apiUserSchema, apiUserSummarySchema, pagedResultsSchema } from '../../lib/schemas/users';

/** Rows per page of every IAM list. */
export const PAGE_SIZE = 25;

export const userPageSchema = pagedResultsSchema(apiUserSummarySchema);
export const groupPageSchema = pagedResultsSchema(apiGroupSummarySchema);
export const memberPageSchema = pagedResultsSchema(apiGroupMemberSchema);
export const rolePageSchema = pagedResultsSchema(apiRoleSummarySchema);
export const bindingPageSchema = pagedResultsSchema(apiBindingDetailSchema);
export const serviceAccountPageSchema = pagedResultsSchema(apiServiceAccountTenantAccessSchema);
export const invitationPageSchema = pagedResultsSchema(apiInvitationDetailSchema);

export type Page<T> = { results: T[]; total: number };

/** `page`, `size` and a non-empty `q` as query parameters. */
function listParams(page: number, q?: string, extra: Record<string, string> = {}): Record<string, string> {
  return { page: String(page), size: String(PAGE_SIZE), ...(q?.trim() ? { q: q.trim() } : {}), ...extra };
}

const seg = encodeURIComponent;

// Instance-owner user routes.
export const usersPath = (id?: string, rest = '') => `/api/v1/users${id ? `/${seg(id)}` : ''}${rest}`;
export const loadUsers = (page: number, q: string) => getJson(usersPath(), userPageSchema, { searchParams: listParams(page, q) });
export const loadUser = (id: string) => getJson(usersPath(id), apiUserSchema);

// Tenant IAM routes.
export const groupsPath = (tenant: string, rest = '') => tenantApi(tenant, `groups${rest}`);
export const loadGroups = (tenant: string, page: number, q: string) => getJson(groupsPath(tenant, '/search'), groupPageSchema, { searchParams: listParams(page, q) });
/** Every group of the tenant, for the invitation form. */
export const loadAllGroups = (tenant: string) => getJson(groupsPath(tenant, '/search'), groupPageSchema, { searchParams: { page: '1', size: '500' } });
export const loadMembers = (tenant: string, groupId: string, page: number) =>
  getJson(groupsPath(tenant, `/${seg(groupId)}/members`), memberPageSchema, { searchParams: listParams(page) });

export const rolesPath = (tenant: string, rest = '') => tenantApi(tenant, `roles${rest}`);
export const loadRoles = (tenant: string, page: number, q: string) => getJson(rolesPath(tenant, '/search'), rolePageSchema, { searchParams: listParams(page, q) });
/** Every role of the tenant (managed and custom), for the pickers. */
export const loadAllRoles = (tenant: string) => getJson(rolesPath(tenant, '/search'), rolePageSchema, { searchParams: { page: '1', size: '500' } });
export const loadRole = (tenant: string, id: string) => getJson(rolesPath(tenant, `/${seg(id)}`), apiRoleDetailSchema);
/** The permission catalogue the role editor is built from. */
export const loadCatalogue = (tenant: string) => getJson(tenantApi(tenant, 'acls/permissions'), permissionsOutSchema);

export const bindingsPath = (tenant: string, rest = '') => tenantApi(tenant, `bindings${rest}`);
export const loadBindings = (tenant: string, page: number, q: string) => getJson(bindingsPath(tenant, '/search'), bindingPageSchema, { searchParams: listParams(page, q) });

export const serviceAccountsPath = (tenant: string, rest = '') => tenantApi(tenant, `service-accounts${rest}`);
export const loadServiceAccounts = (tenant: string, page: number, q: string) => getJson(serviceAccountsPath(tenant), serviceAccountPageSchema, { searchParams: listParams(page, q) });
export const tokensPath = (tenant: string, accountId: string, tokenId?: string) =>
  serviceAccountsPath(tenant, `/${seg(accountId)}/api-tokens${tokenId ? `/${seg(tokenId)}` : ''}`);
export const loadTokens = (tenant: string, accountId: string) => getJson(tokensPath(tenant, accountId), apiTokenListSchema);

export const invitationsPath = (tenant: string, rest = '') => tenantApi(tenant, `invitations${rest}`);
export const loadInvitations = (tenant: string, page: number, email: string) =>
  getJson(invitationsPath(tenant, '/search'), invitationPageSchema, { searchParams: listParams(page, undefined, email.trim() ? { email: email.trim() } : {}) });

// Suggestions for the pickers: each answers [] when the caller may not list (the field stays free text).

export interface Suggestion {
  id: string;
  label: string;
  detail?: string;
}

export async function suggestUsers(q: string): Promise<Suggestion[]> {
  const page = await loadUsers(1, q);
  return page.results.map((u) => ({ id: u.id, label: u.username, detail: u.displayName !== u.username ? u.displayName : undefined }));
}

export async function suggestGroups(tenant: string, q: string): Promise<Suggestion[]> {
  const page = await loadGroups(tenant, 1, q);
  return page.results.map((g) => ({ id: g.id, label: g.name, detail: g.description ?? undefined }));
}

export async function suggestNamespaces(tenant: string, q: string): Promise<Suggestion[]> {
  const page = await getJson(tenantApi(tenant, 'namespaces/search'), kestraNamespacePageSchema, { searchParams: { q: q.trim(), size: '20', page: '1' } });
  return page.results.map((n) => ({ id: n.id, label: n.id }));
}
