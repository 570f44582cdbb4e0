import type { Store } from '../store/database.js';
import type { MaintenanceHeldTable, MaintenanceStateTable } from '../store/schema.js';
import type { TriggerRef } from './schedule-triggers.js';

/**
 * Maintenance mode in the store (migration 011): one state row every replica reads, and the queue of
 * held execution requests. Each transition is a conditional update, so two replicas (or two clicks)
 * cannot both enter or both take the same step.
 */
export type Phase = MaintenanceStateTable['phase'];

export interface MaintenanceRecord {
  phase: Phase;
  message: string | null;
  changedBy: string | null;
  changedAt: number;
  disabledTriggers: TriggerRef[];
  heldSeq: number;
}

/** Who asked for a held request, as the audit entry of its replay records them. */
export interface HeldCaller {
  actor: { type: 'USER' | 'SERVICE_ACCOUNT' | 'ANONYMOUS'; id?: string | null; email?: string | null };
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  /** The permission the call was authorized with and where, checked again before the replay (none: a public call). */
  permission?: { resource: string; action: string; namespaces: string[] };
}

export interface HeldRequest {
  seq: number;
  receivedAt: number;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: Buffer;
  caller: HeldCaller;
}

export async function readMaintenance(db: Store): Promise<MaintenanceRecord> {
  const row = await db.selectFrom('maintenance_state').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
  return {
    phase: row.phase,
    message: row.message,
    changedBy: row.changed_by,
    changedAt: Number(row.changed_at),
    disabledTriggers: JSON.parse(row.disabled_triggers) as TriggerRef[],
    heldSeq: Number(row.held_seq),
  };
}

/** Moves from one of `from` to `to`; false when the state was elsewhere (someone else moved it). */
export async function movePhase(db: Store, from: Phase[], to: Phase, by: string | null, message?: string | null): Promise<boolean> {
  const result = await db
    .updateTable('maintenance_state')
    .set({ phase: to, changed_by: by, changed_at: Date.now(), ...(message !== undefined ? { message } : {}) })
    .where('id', '=', 1)
    .where('phase', 'in', from)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function saveDisabledTriggers(db: Store, triggers: TriggerRef[]): Promise<void> {
  await db.updateTable('maintenance_state').set({ disabled_triggers: JSON.stringify(triggers) }).where('id', '=', 1).execute();
}

/**
 * Queues a request at the next position, unless maintenance ended meanwhile (null: forward it). The
 * position is taken by bumping `held_seq` on the state row, in the transaction that inserts the row:
 * leaving maintenance checks that same counter (`finishExit`), so no request is queued after the last
 * replay.
 */
export async function holdRequest(db: Store, request: Omit<HeldRequest, 'seq'>): Promise<number | null> {
  return db.transaction().execute(async (trx) => {
    const bumped = await trx
      .updateTable('maintenance_state')
      .set((eb) => ({ held_seq: eb('held_seq', '+', 1) }))
      .where('id', '=', 1)
      .where('phase', '<>', 'off')
      .returning('held_seq')
      .executeTakeFirst();
    if (!bumped) return null;
    const seq = Number(bumped.held_seq);
    await trx
      .insertInto('maintenance_held')
      .values({
        seq,
        received_at: request.receivedAt,
        method: request.method,
        path: request.path,
        query: request.query,
        headers: JSON.stringify(request.headers),
        body: request.body.toString('base64'),
        caller: JSON.stringify(request.caller),
      })
      .execute();
    return seq;
  });
}

const toHeld = (row: MaintenanceHeldTable): HeldRequest => ({
  seq: Number(row.seq),
  receivedAt: Number(row.received_at),
  method: row.method,
  path: row.path,
  query: row.query,
  headers: JSON.parse(row.headers) as Record<string, string>,
  body: Buffer.from(row.body, 'base64'),
  caller: JSON.parse(row.caller) as HeldCaller,
});

export async function countHeld(db: Store): Promise<number> {
  const row = await db.selectFrom('maintenance_held').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The oldest held request, taken out of the queue (by this caller only: a concurrent taker gets the next one). */
export async function takeOldestHeld(db: Store): Promise<HeldRequest | null> {
  for (;;) {
    const row = await db.selectFrom('maintenance_held').selectAll().orderBy('seq').limit(1).executeTakeFirst();
    if (!row) return null;
    const taken = await db.deleteFrom('maintenance_held').where('seq', '=', row.seq).executeTakeFirst();
    if (taken.numDeletedRows > 0n) return toHeld(row);
  }
}

/** Puts a request back at its place (its replay could not reach Kestra). */
export async function putBackHeld(db: Store, held: HeldRequest): Promise<void> {
  const { seq, receivedAt, headers, body, caller, ...rest } = held;
  await db.insertInto('maintenance_held').values({ seq, received_at: receivedAt, headers: JSON.stringify(headers), body: body.toString('base64'), caller: JSON.stringify(caller), ...rest }).execute();
}

/** Leaves maintenance if no request was queued since `heldSeq` was read with an empty queue; false: replay again. */
export async function finishExit(db: Store, heldSeq: number, by: string | null): Promise<boolean> {
  const result = await db
    .updateTable('maintenance_state')
    .set({ phase: 'off', changed_by: by, changed_at: Date.now(), message: null, disabled_triggers: '[]' })
    .where('id', '=', 1)
    .where('phase', '=', 'exiting')
    .where('held_seq', '=', heldSeq)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
