import type { Kysely } from 'kysely';
import type { ApiTargetHealth, ApiWorkerGroup, CreateWorkerGroupRequest, UpdateWorkerGroupRequest, WorkerTarget } from '../../lib/schemas/worker-groups.js';
import { conflict } from '../http/errors.js';
import { isUniqueViolation } from '../iam/iam-store.js';
import type { Database } from '../store/schema.js';
import type { TargetHealth } from './target-health.js';

/** A group with its targets (in the order given) and its namespaces (sorted). */
export interface WorkerGroupRecord {
  id: string;
  name: string;
  description: string | null;
  targets: WorkerTarget[];
  namespaces: string[];
  createdAt: number;
  updatedAt: number;
}

const iso = (ms: number) => new Date(Number(ms)).toISOString();

/** A health check's result as the API answers it. */
export function toApiTargetHealth(h: TargetHealth): ApiTargetHealth {
  return { state: h.state, checkedAt: iso(h.checkedAt), ...(h.engine ? { engine: h.engine } : {}), ...(h.problem ? { problem: h.problem } : {}) };
}

/**
 * EE's `ApiWorkerGroup`: Perch has no worker queues and no registration tokens (it reaches its
 * targets itself), so both lists are empty, and no group is undeletable (there is no `default`).
 * With `healthOf`, each target carries its last health check (the audit's states leave it out).
 */
export function toApiWorkerGroup(g: WorkerGroupRecord, healthOf?: (host: string) => TargetHealth | undefined): ApiWorkerGroup {
  const targets = healthOf ? g.targets.map((t) => {
    const health = healthOf(t.host);
    return health ? { ...t, health: toApiTargetHealth(health) } : t;
  }) : g.targets;
  return {
    id: g.id, name: g.name, ...(g.description !== null ? { description: g.description } : {}),
    subscriptions: [], tokens: [], deletable: true, createdAt: iso(g.createdAt), updatedAt: iso(g.updatedAt),
    targets, namespaces: g.namespaces,
  };
}

export async function listWorkerGroups(db: Kysely<Database>, id?: string): Promise<WorkerGroupRecord[]> {
  let groups = db.selectFrom('worker_groups').selectAll().orderBy('id');
  let targets = db.selectFrom('worker_group_targets').selectAll().orderBy('group_id').orderBy('position');
  let namespaces = db.selectFrom('worker_group_namespaces').selectAll().orderBy('namespace');
  if (id !== undefined) {
    groups = groups.where('id', '=', id);
    targets = targets.where('group_id', '=', id);
    namespaces = namespaces.where('group_id', '=', id);
  }
  const [g, t, n] = await Promise.all([groups.execute(), targets.execute(), namespaces.execute()]);
  return g.map((row) => ({
    id: row.id, name: row.name, description: row.description, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at),
    targets: t.filter((x) => x.group_id === row.id).map((x) => ({ id: x.target_id, kind: x.kind as 'docker', host: x.host })),
    namespaces: n.filter((x) => x.group_id === row.id).map((x) => x.namespace),
  }));
}

export async function findWorkerGroup(db: Kysely<Database>, id: string): Promise<WorkerGroupRecord | undefined> {
  return (await listWorkerGroups(db, id))[0];
}

/** Which other group already holds one of these hosts or namespaces, for a 409 that names it. */
async function claimedElsewhere(db: Kysely<Database>, id: string, body: UpdateWorkerGroupRequest): Promise<string> {
  const hosts = body.targets.map((t) => t.host);
  const host = hosts.length ? await db.selectFrom('worker_group_targets').select(['host', 'group_id']).where('host', 'in', hosts).where('group_id', '!=', id).executeTakeFirst() : undefined;
  if (host) return `Docker host ${host.host} is already a target of worker group ${host.group_id}`;
  const ns = body.namespaces.length ? await db.selectFrom('worker_group_namespaces').select(['namespace', 'group_id']).where('namespace', 'in', body.namespaces).where('group_id', '!=', id).executeTakeFirst() : undefined;
  if (ns) return `Namespace ${ns.namespace} is already bound to worker group ${ns.group_id}`;
  return `Worker group ${id} already exists`;
}

/** Creates a group, or replaces the whole desired state of one (EE's PUT), in one transaction. */
export async function saveWorkerGroup(db: Kysely<Database>, id: string, body: CreateWorkerGroupRequest | UpdateWorkerGroupRequest, existing?: WorkerGroupRecord): Promise<void> {
  const now = Date.now();
  try {
    await db.transaction().execute(async (trx) => {
      if (existing) {
        await trx.updateTable('worker_groups').set({ name: body.name, description: body.description ?? null, updated_at: now }).where('id', '=', id).execute();
        await trx.deleteFrom('worker_group_targets').where('group_id', '=', id).execute();
        await trx.deleteFrom('worker_group_namespaces').where('group_id', '=', id).execute();
      } else {
        await trx.insertInto('worker_groups').values({ id, name: body.name, description: body.description ?? null, created_at: now, updated_at: now }).execute();
      }
      if (body.targets.length) {
        await trx.insertInto('worker_group_targets').values(body.targets.map((t, position) => ({ host: t.host, group_id: id, target_id: t.id, kind: t.kind, position }))).execute();
      }
      if (body.namespaces.length) {
        await trx.insertInto('worker_group_namespaces').values(body.namespaces.map((namespace) => ({ namespace, group_id: id }))).execute();
      }
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(await claimedElsewhere(db, id, body));
    throw error;
  }
}

export async function deleteWorkerGroup(db: Kysely<Database>, id: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('worker_group_targets').where('group_id', '=', id).execute();
    await trx.deleteFrom('worker_group_namespaces').where('group_id', '=', id).execute();
    await trx.deleteFrom('worker_groups').where('id', '=', id).execute();
  });
}
