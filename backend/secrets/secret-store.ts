import { randomUUID } from 'node:crypto';
import { secretTagSchema, type SecretMeta, type SecretTag } from '../../lib/schemas/secrets.js';
import type { Store } from '../store/database.js';
import type { NamespaceSecretsTable } from '../store/schema.js';
import type { ReadOptions, SecretBackend, SecretBackends, SecretRef } from './backends/index.js';
import { SecretKeys } from './secret-keys.js';

/** Namespace secrets as stored: metadata in the clear, the value in its backend. No function here returns a value to an API. */

export type SecretRow = Omit<NamespaceSecretsTable, 'value'>;
const META_COLUMNS = ['id', 'tenant_id', 'namespace', 'key', 'env_key', 'description', 'tags', 'backend', 'created_at', 'updated_at'] as const;

export { secretPlace } from './secret-place.js';

function readTags(text: string): SecretTag[] {
  const parsed = secretTagSchema.array().safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : [];
}

export const toApiSecretMeta = (row: SecretRow): SecretMeta => ({
  key: row.key,
  namespace: row.namespace,
  ...(row.description !== null ? { description: row.description } : {}),
  tags: readTags(row.tags),
});

export const refOf = (row: Pick<SecretRow, 'id' | 'tenant_id' | 'namespace' | 'key'>): SecretRef => ({ id: row.id, tenant: row.tenant_id, namespace: row.namespace, key: row.key });

/** The secret that holds `key` in the tenant, whichever namespace it is in (keys are unique per tenant). */
export async function findSecretByKey(db: Store, tenant: string, key: string): Promise<SecretRow | undefined> {
  return db.selectFrom('namespace_secrets').select(META_COLUMNS).where('tenant_id', '=', tenant).where('env_key', '=', SecretKeys.envKey(key)).executeTakeFirst();
}

export async function secretsOfTenant(db: Store, tenant: string): Promise<SecretRow[]> {
  return db.selectFrom('namespace_secrets').select(META_COLUMNS).where('tenant_id', '=', tenant).orderBy('namespace').orderBy('key').execute();
}

export interface SecretWrite {
  key: string;
  value: string;
  description?: string;
  tags?: SecretTag[];
}

/**
 * Creates the secret, or replaces the value (and metadata) of the one `existing` names. The value goes
 * to the backend first: when the backend fails, nothing is written here (no stale metadata).
 */
export async function writeSecret(db: Store, backend: SecretBackend, tenant: string, namespace: string, write: SecretWrite, existing: SecretRow | undefined): Promise<SecretRow> {
  const now = Date.now();
  const id = existing?.id ?? randomUUID();
  const ref: SecretRef = { id, tenant, namespace, key: write.key };
  const value = await backend.put(ref, write.value);
  const meta = { key: write.key, env_key: SecretKeys.envKey(write.key), description: write.description ?? null, tags: JSON.stringify(write.tags ?? []), backend: backend.type, updated_at: now };
  try {
    if (existing) {
      await db.updateTable('namespace_secrets').set({ ...meta, value }).where('id', '=', id).execute();
      return { ...existing, ...meta };
    }
    const row = { id, tenant_id: tenant, namespace, ...meta, value, created_at: now };
    await db.insertInto('namespace_secrets').values(row).execute();
    const { value: _value, ...rest } = row;
    return rest;
  } catch (error) {
    // A manager now holds a value Perch does not list: take it back (best effort) before failing.
    if (!existing && backend.type !== 'internal') await backend.remove(ref).catch(() => {});
    throw error;
  }
}

export async function patchSecretMeta(db: Store, id: string, meta: { description?: string; tags: SecretTag[] }): Promise<void> {
  await db.updateTable('namespace_secrets').set({ ...(meta.description !== undefined ? { description: meta.description } : {}), tags: JSON.stringify(meta.tags), updated_at: Date.now() }).where('id', '=', id).execute();
}

export async function deleteSecret(db: Store, id: string): Promise<void> {
  await db.deleteFrom('namespace_secrets').where('id', '=', id).execute();
}

/**
 * Every secret of a tenant with its value, from each row's backend: only for delivery to Kestra
 * (secrets sync), never for an API answer. `fresh` when the values are about to be written (a dry run may use the cache).
 */
export async function openSecretsOfTenant(db: Store, backends: SecretBackends, tenant: string, options: ReadOptions = {}): Promise<Array<{ envKey: string; namespace: string; value: string }>> {
  const rows = await db.selectFrom('namespace_secrets').select([...META_COLUMNS, 'value']).where('tenant_id', '=', tenant).orderBy('env_key').execute();
  const out = [];
  for (const row of rows) out.push({ envKey: row.env_key, namespace: row.namespace, value: await backends.of(row.backend).read(refOf(row), row.value, options) });
  return out;
}
