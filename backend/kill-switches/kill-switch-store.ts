import { randomUUID } from 'node:crypto';
import type { ApiKillSwitch, KillSwitchRequest } from '../../lib/schemas/operations.js';
import type { Store } from '../store/database.js';
import type { KillSwitchesTable } from '../store/schema.js';

/** Kill switches (EE `/api/v1/kill-switches`) in the store; a delete is soft, as in EE. */

const toIso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Only the fields with a value, as EE's serializer writes it. */
const present = <T extends object>(fields: T) => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)) as { [K in keyof T]?: NonNullable<T[K]> };

export function toApiKillSwitch(row: KillSwitchesTable): ApiKillSwitch {
  return {
    id: row.id,
    name: row.name,
    ...present({ tenantId: row.tenant_id, namespace: row.namespace, flowId: row.flow_id, endDate: toIso(row.end_date === null ? null : Number(row.end_date)), description: row.description }),
    executionIds: JSON.parse(row.execution_ids) as string[],
    startDate: toIso(Number(row.start_date))!,
    evaluationType: row.evaluation_type,
    enabled: row.enabled === 1,
    deleted: row.deleted === 1,
  };
}

const columns = (request: KillSwitchRequest) => ({
  name: request.name,
  tenant_id: request.tenantId ?? null,
  namespace: request.namespace ?? null,
  flow_id: request.flowId ?? null,
  execution_ids: JSON.stringify(request.executionIds ?? []),
  start_date: Date.parse(request.startDate),
  end_date: request.endDate ? Date.parse(request.endDate) : null,
  description: request.description ?? null,
  evaluation_type: request.evaluationType,
  enabled: request.enabled ? 1 : 0,
});

export async function findKillSwitch(db: Store, id: string): Promise<KillSwitchesTable | undefined> {
  return db.selectFrom('kill_switches').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
}

/** Every kill switch not deleted, oldest first. */
export async function listKillSwitches(db: Store): Promise<KillSwitchesTable[]> {
  return db.selectFrom('kill_switches').selectAll().where('deleted', '=', 0).orderBy('created_at').orderBy('id').execute();
}

export async function insertKillSwitch(db: Store, request: KillSwitchRequest): Promise<KillSwitchesTable> {
  const now = Date.now();
  const row: KillSwitchesTable = { id: randomUUID(), ...columns(request), deleted: 0, created_at: now, updated_at: now };
  await db.insertInto('kill_switches').values(row).execute();
  return row;
}

export async function updateKillSwitch(db: Store, id: string, request: KillSwitchRequest): Promise<KillSwitchesTable | undefined> {
  const result = await db.updateTable('kill_switches').set({ ...columns(request), updated_at: Date.now() }).where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return result.numUpdatedRows > 0n ? findKillSwitch(db, id) : undefined;
}

export async function softDeleteKillSwitch(db: Store, id: string): Promise<boolean> {
  const result = await db.updateTable('kill_switches').set({ deleted: 1, enabled: 0, updated_at: Date.now() }).where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
