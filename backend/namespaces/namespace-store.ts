import { namespaceSettingsSchema, type Namespace, type NamespaceSettings } from '../../lib/schemas/namespaces.js';
import type { Store } from '../store/database.js';
import type { NamespacesTable } from '../store/schema.js';

/** The namespaces created as EE entities, by tenant. */

/** `a.b.c` → `['a', 'a.b']`: the ancestors, farthest first. */
export function ancestorsOf(namespace: string): string[] {
  const parts = namespace.split('.');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
}

/** Whether a flow or secret of `namespace` sees what `owner` holds: its own, or a parent's. */
export const inheritsFrom = (namespace: string, owner: string) => namespace === owner || namespace.startsWith(`${owner}.`);

/** Stored settings, read leniently: a field no longer known is dropped rather than failing the read. */
function readSettings(text: string): NamespaceSettings {
  const parsed = namespaceSettingsSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : {};
}

export const toApiNamespace = (row: NamespacesTable): Namespace => ({ id: row.id, deleted: false, ...readSettings(row.settings) });

/** A namespace Kestra knows from its flows only (EE's placeholder). */
export const placeholderNamespace = (id: string): Namespace => ({ id, deleted: false });

/** How the audit log reads a namespace before and after a change (its API shape). */
export const namespaceAuditEntity = { kind: 'namespace', load: async (ctx: { db: Store }, p: Record<string, string>, tenant: string) => {
  const row = await findNamespace(ctx.db, tenant, p.id!);
  return row ? toApiNamespace(row) : null;
} };

export async function findNamespace(db: Store, tenant: string, id: string): Promise<NamespacesTable | undefined> {
  return db.selectFrom('namespaces').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
}

export async function insertNamespace(db: Store, tenant: string, id: string, settings: NamespaceSettings, now = Date.now()): Promise<NamespacesTable> {
  const row: NamespacesTable = { tenant_id: tenant, id, settings: JSON.stringify(settings), created_at: now, updated_at: now };
  await db.insertInto('namespaces').values(row).execute();
  return row;
}

export async function updateNamespace(db: Store, tenant: string, id: string, settings: NamespaceSettings): Promise<void> {
  await db.updateTable('namespaces').set({ settings: JSON.stringify(settings), updated_at: Date.now() }).where('tenant_id', '=', tenant).where('id', '=', id).execute();
}

export async function deleteNamespace(db: Store, tenant: string, id: string): Promise<void> {
  await db.deleteFrom('namespaces').where('tenant_id', '=', tenant).where('id', '=', id).execute();
}

/** The variables `namespace` inherits: its ancestors' merged, the nearest winning. */
export async function inheritedVariables(db: Store, tenant: string, namespace: string): Promise<Record<string, unknown>> {
  const ancestors = ancestorsOf(namespace);
  if (ancestors.length === 0) return {};
  const rows = await db.selectFrom('namespaces').selectAll().where('tenant_id', '=', tenant).where('id', 'in', ancestors).execute();
  const byId = new Map(rows.map((row) => [row.id, readSettings(row.settings)]));
  const merged: Record<string, unknown> = {};
  for (const ancestor of ancestors) Object.assign(merged, byId.get(ancestor)?.variables ?? {});
  return merged;
}

/** A namespace's own ("dedicated") secret manager: EE's `secretType` and `secretReadOnly`. */
export interface DedicatedSecretManager {
  namespace: string;
  type: string;
  readOnly: boolean;
}

/**
 * The dedicated secret manager `namespace` uses: its own, else its nearest parent's (EE resolves a
 * namespace's secrets with its dedicated backend, else a parent's, else the tenant's); null when none has one.
 */
export async function nearestSecretManager(db: Store, tenant: string, namespace: string): Promise<DedicatedSecretManager | null> {
  const line = [...ancestorsOf(namespace), namespace];
  const rows = await db.selectFrom('namespaces').select(['id', 'settings']).where('tenant_id', '=', tenant).where('id', 'in', line).execute();
  const byId = new Map(rows.map((row) => [row.id, readSettings(row.settings)]));
  for (const id of line.reverse()) {
    const settings = byId.get(id);
    if (settings?.secretType) return { namespace: id, type: settings.secretType, readOnly: settings.secretReadOnly === true };
  }
  return null;
}
