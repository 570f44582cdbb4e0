import { apiTenantSchema, tenantIdSchema, type ApiTenant } from '../../lib/schemas/tenants.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { callPerch, RemoteError, type RemoteOptions } from '../remote/commands.js';
import { InstanceError, kestraCredentials, type Instance } from './instance-stacks.js';

/**
 * A client's Kestra as an INSTANCE-mode tenant of a central Perch (issue 19, point 2), through the
 * central Perch's EE tenants API with an owner's API token. The tenant id is the client's name; the
 * Kestra password is read from the stack's secret file and goes only into the request body.
 */

/** Where a client stands on the central Perch. */
export type Registration = 'registered' | 'not registered' | 'another Kestra';

/** The tenant id a client gets: its name, checked as EE checks tenant ids; `main` is Perch's own Kestra. */
export function tenantIdOf(client: string): string {
  const id = tenantIdSchema.parse(client);
  if (id === DEFAULT_TENANT) throw new InstanceError(`${DEFAULT_TENANT} is the central Perch's own Kestra, not a client's: choose another client name`);
  return id;
}

/** The central Perch's tenant of that id, or undefined (404). */
async function findTenant(remote: RemoteOptions, id: string): Promise<ApiTenant | undefined> {
  try {
    return apiTenantSchema.parse(await callPerch(remote, 'GET', `/api/v1/tenants/${encodeURIComponent(id)}`));
  } catch (error) {
    if (error instanceof RemoteError && error.status === 404) return undefined;
    throw error;
  }
}

const isThisKestra = (tenant: ApiTenant, kestraUrl: string) => tenant.isolation.mode === 'INSTANCE' && tenant.isolation.kestraUrl === kestraUrl;

const describeTenant = (tenant: ApiTenant) =>
  tenant.isolation.mode === 'INSTANCE' ? `INSTANCE on ${tenant.isolation.kestraUrl ?? "the central Perch's configured Kestra"}` : `NAMESPACE (${tenant.isolation.namespaces.join(', ')})`;

type TenantInstance = Instance & { tenant: NonNullable<Instance['tenant']> };

/**
 * Whether the client's tenant exists on the central Perch with this Kestra (`kept`) or not at all
 * (`absent`); one with another Kestra (or another isolation) is refused, and nothing is changed.
 * Asked before the stack is written, it also checks the server and the token.
 */
export async function checkTenant(remote: RemoteOptions, instance: TenantInstance): Promise<'absent' | 'kept'> {
  const id = tenantIdOf(instance.client);
  const { kestraUrl } = instance.tenant;
  const existing = await findTenant(remote, id);
  if (!existing) return 'absent';
  if (isThisKestra(existing, kestraUrl)) return 'kept';
  throw new InstanceError(`tenant ${id} already exists on ${instance.tenant.server} as ${describeTenant(existing)}, not this client's Kestra (${kestraUrl}): nothing was changed there`);
}

/** Registers the stack's Kestra (idempotent: an existing tenant with this Kestra is kept as it is). */
export async function registerTenant(remote: RemoteOptions, root: string, instance: TenantInstance): Promise<'created' | 'kept'> {
  if ((await checkTenant(remote, instance)) === 'kept') return 'kept';
  const { username, password } = await kestraCredentials(root, instance.client);
  const isolation = { mode: 'INSTANCE', kestraUrl: instance.tenant.kestraUrl, username, password };
  await callPerch(remote, 'POST', '/api/v1/tenants', { json: { id: tenantIdOf(instance.client), name: instance.client, isolation } });
  return 'created';
}

/** Whether each client's Kestra is a tenant of the central Perch (one call per client). */
export async function registrations(remote: RemoteOptions, instances: Instance[]): Promise<Map<string, Registration>> {
  const found = new Map<string, Registration>();
  for (const instance of instances) {
    const tenant = instance.client === DEFAULT_TENANT ? undefined : await findTenant(remote, instance.client);
    const kestraUrl = instance.tenant?.kestraUrl;
    found.set(instance.client, !tenant ? 'not registered' : kestraUrl && isThisKestra(tenant, kestraUrl) ? 'registered' : 'another Kestra');
  }
  return found;
}

/**
 * Deletes the client's tenant from the central Perch, with what Perch holds for it (access, roles,
 * bindings: the caller has confirmed). A tenant pointing at another Kestra is not this client's: refused.
 */
export async function unregisterTenant(remote: RemoteOptions, instance: Instance): Promise<'deleted' | 'absent'> {
  const id = tenantIdOf(instance.client);
  const existing = await findTenant(remote, id);
  if (!existing) return 'absent';
  const kestraUrl = instance.tenant?.kestraUrl;
  if (!kestraUrl || !isThisKestra(existing, kestraUrl)) {
    throw new InstanceError(`tenant ${id} on ${remote.server} is ${describeTenant(existing)}, not this client's Kestra${kestraUrl ? ` (${kestraUrl})` : ''}: not deleted, and nothing removed`);
  }
  await callPerch(remote, 'DELETE', `/api/v1/tenants/${encodeURIComponent(id)}?confirm=${encodeURIComponent(id)}`);
  return 'deleted';
}
