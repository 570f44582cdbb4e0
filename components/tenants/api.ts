import { z } from 'zod';
import { getJson, send } from '../app/api';
import { apiTenantSchema, apiUserTenantAccessSchema, tenantHealthSchema, type TenantIsolationRequest } from '../../lib/schemas/tenants';
import { pagedResultsSchema } from '../../lib/schemas/users';

/** The Tenants screen's calls: EE's `/api/v1/tenants` and tenant access, and Perch's upstream health. */
const seg = encodeURIComponent;
export const tenantPageSchema = pagedResultsSchema(apiTenantSchema);
const accessPageSchema = pagedResultsSchema(apiUserTenantAccessSchema);

export const tenantsPath = (id?: string, rest = '') => `/api/v1/tenants${id ? `/${seg(id)}` : ''}${rest}`;
export const loadTenants = () => getJson(tenantsPath(undefined, '/search'), tenantPageSchema, { searchParams: { page: '1', size: '500' } });
export const loadHealth = (id: string) => getJson(tenantsPath(id, '/health'), tenantHealthSchema);
/** How many people may enter the tenant. */
export const loadMemberCount = (id: string) => getJson(`/api/v1/${seg(id)}/tenant-access`, accessPageSchema, { searchParams: { page: '1', size: '1' } }).then((page) => page.total);

export interface TenantForm {
  id: string;
  name: string;
  isolation?: TenantIsolationRequest;
}
export const saveTenant = (form: TenantForm, existing: boolean) =>
  existing ? send('put', tenantsPath(form.id), form, apiTenantSchema) : send('post', tenantsPath(), form, apiTenantSchema);
/** `confirm`: the tenant's id again, when it still holds members or IAM (the server answers 409 without it). */
export const deleteTenant = (id: string, confirm?: string) => send('delete', `${tenantsPath(id)}${confirm ? `?confirm=${seg(confirm)}` : ''}`);

/** What a 409 on delete says the tenant still holds. */
export const holdingsSchema = z.object({ holds: z.record(z.string(), z.number()) });
