import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, requestFields } from '../audit/entry-fields.js';
import { matchPolicy } from '../authz/policy-map.js';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import type { Admission, AdmissionCall, NewExecutionRefusal } from '../proxy/admission.js';
import type { MaintenanceStatus } from '../../lib/schemas/operations.js';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import { KestraFailure, type KestraClient } from './kestra-client.js';
import {
  countHeld, finishExit, holdRequest, movePhase, putBackHeld, readMaintenance, saveDisabledTriggers, takeOldestHeld,
  type HeldRequest, type MaintenanceRecord, type Phase,
} from './maintenance-store.js';
import { enabledScheduleTriggers, setTriggerDisabled, type TriggerRef } from './schedule-triggers.js';
import { isEdit, isNewWork } from './stopped-work.js';
import { announceOperations, followOperations } from './operations-feed.js';

/** Headers a held request keeps for its replay: what Kestra reads of it, nothing that authenticates. */
const KEPT_HEADERS = ['content-type', 'accept', 'user-agent'];

const unavailable = (message: string) => new HttpError(502, message);

/**
 * Maintenance mode (issue 22, point 1). The state lives in the store (one row) and in memory on each
 * replica, re-read when another replica announces a change on the change feed: the proxy decides
 * from memory. Entering stops new work (refused with 503 + Retry-After, or held in the store's queue
 * per `maintenance.onExecution`), refuses edits of flows and namespaces except by instance owners, and
 * disables Kestra's enabled schedule triggers, remembering which. Exiting re-enables exactly those and
 * replays the held requests in order, each audited with its original caller.
 */
export class MaintenanceMode implements Admission {
  private record: MaintenanceRecord | undefined;
  /** One enter or exit at a time on this replica (the store's conditional updates guard across replicas). */
  private busy = false;

  constructor(
    private readonly ctx: PerchContext,
    private readonly kestra: KestraClient,
  ) {}

  get phase(): Phase {
    return this.record?.phase ?? 'off';
  }

  get active(): boolean {
    return this.phase !== 'off';
  }

  /** Reads the state from the store; the change feed calls it when another replica changed it. */
  async refresh(): Promise<void> {
    this.record = await readMaintenance(this.ctx.db);
  }

  /** Follows the other replicas: their announcements, and a re-read after the feed was down. */
  follow(): void {
    followOperations(this.ctx, 'maintenance', () => this.refresh());
  }

  private async changed(): Promise<void> {
    await this.refresh();
    await announceOperations(this.ctx, 'maintenance');
  }

  async status(): Promise<MaintenanceStatus> {
    const record = await readMaintenance(this.ctx.db);
    const on = record.phase !== 'off';
    return {
      maintenance: on,
      ready: record.phase === 'on',
      services: { WEBSERVER: { total: 1, inMaintenance: on ? 1 : 0 } },
      onExecution: this.ctx.config.maintenance.onExecution,
      held: await countHeld(this.ctx.db),
      disabledTriggers: record.disabledTriggers.length,
      since: on ? new Date(record.changedAt).toISOString() : null,
      message: record.message,
    };
  }

  private async exclusively<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy) throw new HttpError(409, 'Maintenance mode is being entered or left already');
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  /** Enters maintenance; on a failure half way, leaves it again (triggers restored, held requests replayed). */
  enter(by: string, message: string | null): Promise<void> {
    return this.exclusively(async () => {
      if (!(await movePhase(this.ctx.db, ['off'], 'entering', by, message))) throw new HttpError(409, 'The instance is already in maintenance');
      // New work stops here, before any trigger is touched.
      await this.changed();
      const disabled: TriggerRef[] = [];
      try {
        for (const trigger of await enabledScheduleTriggers(this.kestra)) {
          // Remembered before it is switched off: a Perch stopped half way, or a call whose answer was
          // lost, still re-enables it (it was enabled, so enabling it again restores its state).
          disabled.push(trigger);
          await saveDisabledTriggers(this.ctx.db, disabled);
          await setTriggerDisabled(this.kestra, trigger, true);
        }
        await movePhase(this.ctx.db, ['entering'], 'on', by);
        await this.changed();
      } catch (error) {
        await this.leave(by).catch((again) => this.ctx.log.error({ err: again }, 'could not leave maintenance after a failed entry'));
        throw error instanceof KestraFailure ? unavailable(`Maintenance was not entered, and everything was put back: ${error.message}`) : error;
      }
    });
  }

  /** Leaves maintenance: every trigger back as it was, every held request replayed in order. */
  exit(by: string): Promise<void> {
    return this.exclusively(async () => {
      if (!(await movePhase(this.ctx.db, ['entering', 'on', 'exiting'], 'exiting', by))) throw new HttpError(409, 'The instance is not in maintenance');
      await this.changed();
      try {
        await this.leave(by);
      } catch (error) {
        // Still leaving: new work stays stopped; calling exit again goes on from here.
        throw error instanceof KestraFailure ? unavailable(`Maintenance is not over yet (call exit again): ${error.message}`) : error;
      }
    });
  }

  private async leave(by: string): Promise<void> {
    await movePhase(this.ctx.db, ['entering', 'on', 'exiting'], 'exiting', by);
    const remaining = [...(await readMaintenance(this.ctx.db)).disabledTriggers];
    while (remaining.length > 0) {
      await setTriggerDisabled(this.kestra, remaining[0]!, false);
      remaining.shift();
      await saveDisabledTriggers(this.ctx.db, remaining);
    }
    for (;;) {
      const { heldSeq } = await readMaintenance(this.ctx.db);
      let held = await takeOldestHeld(this.ctx.db);
      if (!held) {
        if (await finishExit(this.ctx.db, heldSeq, by)) break;
        continue;
      }
      for (; held; held = await takeOldestHeld(this.ctx.db)) await this.replay(held);
    }
    await this.changed();
  }

  /**
   * Whether the caller may still do what was held: their account still there and enabled, and the
   * permission the call was authorized with still held where it applied (a public call: always).
   */
  private async stillAllowed(held: HeldRequest): Promise<boolean> {
    const { actor, permission } = held.caller;
    if (!permission) return true;
    if (!actor.id) return false;
    const user = await this.ctx.db.selectFrom('users').select(['super_admin', 'disabled']).where('id', '=', actor.id).executeTakeFirst();
    if (!user || user.disabled === 1) return false;
    if (user.super_admin === 1) return true;
    const { resource, action, namespaces } = permission as { resource: Resource; action: Action; namespaces: string[] };
    const tenant = matchPolicy(held.method, held.path)?.tenant ?? '';
    if (namespaces.length > 0) return namespaces.every((ns) => this.ctx.authz.allows(tenant, actor.id!, resource, action, ns));
    // A call by query: its query was narrowed to the caller's namespaces when it was held; some must remain.
    const reach = this.ctx.authz.scope(tenant, actor.id, resource, action);
    return reach.all || reach.namespaces.length > 0;
  }

  /** Sends a held request to Kestra as it was authorized, and records it under its original caller. */
  private async replay(held: HeldRequest): Promise<void> {
    if (!(await this.stillAllowed(held))) {
      // Nothing reaches Kestra: the caller lost the right meanwhile.
      await this.ctx.audit.record({ ...replayEntry(held, 403), upstreamStatus: null, outcome: 'REFUSED' });
      return;
    }
    let status: number;
    try {
      status = (await this.kestra.send(held.method, `${held.path}${held.query ? `?${held.query}` : ''}`, held.headers, held.body)).status;
    } catch (error) {
      await putBackHeld(this.ctx.db, held);
      throw error;
    }
    await this.ctx.audit.record(replayEntry(held, status));
  }

  // --- Admission (the proxy's hot path: memory only until a call is actually stopped) ---

  concerns(row: AdmissionCall['row']): boolean {
    return this.active && (isNewWork(row) || isEdit(row));
  }

  async stops(call: AdmissionCall): Promise<boolean> {
    const { row, request, reply } = call;
    if (!this.active) return false;
    if (isEdit(row)) {
      if (request.principal?.superAdmin) return false;
      this.refuse(reply, 'The instance is in maintenance: flows, namespaces, KV entries and triggers can only be changed by an instance owner until it ends');
      return true;
    }
    if (!isNewWork(row)) return false;
    if (this.ctx.config.maintenance.onExecution === 'refuse') {
      this.refuse(reply, 'The instance is in maintenance: no new execution starts until it ends');
      return true;
    }
    const seq = await holdRequest(this.ctx.db, {
      receivedAt: Date.now(),
      method: request.method,
      path: request.canonical.path,
      query: call.query,
      headers: Object.fromEntries(KEPT_HEADERS.flatMap((name) => (typeof request.headers[name] === 'string' ? [[name, request.headers[name] as string]] : []))),
      body: await call.body(),
      caller: {
        ...({ actor: actorOf(request), ...requestFields(request) } as HeldRequest['caller']),
        ...(row.access === 'permission' ? { permission: { resource: row.resource, action: row.action, namespaces: call.namespaces } } : {}),
      },
    });
    if (seq === null) {
      // Maintenance ended meanwhile: forwarded as usual.
      void this.refresh().catch(() => undefined);
      return false;
    }
    reply.code(202).header('cache-control', 'no-store').send({ message: 'The instance is in maintenance: this request is held and will be sent to Kestra, in order, when maintenance ends', held: true, position: seq });
    return true;
  }

  /** An app's submission is refused while in maintenance (never held: the app's page follows the run it starts). */
  refusesNewExecution(): NewExecutionRefusal | null {
    if (!this.active) return null;
    return { status: 503, message: 'The instance is in maintenance: no new execution starts until it ends. Try again later.', retryAfter: Math.ceil(this.ctx.config.maintenance.retryAfter / 1000) };
  }

  private refuse(reply: AdmissionCall['reply'], message: string): void {
    reply.code(503).header('retry-after', String(Math.ceil(this.ctx.config.maintenance.retryAfter / 1000))).header('cache-control', 'no-store').send({ message });
  }
}

/** The audit entry of a replayed request: its original caller, the operation, Kestra's answer now. */
function replayEntry(held: HeldRequest, status: number): AuditEntry {
  const match = matchPolicy(held.method, held.path);
  const row = match?.row;
  const params = match?.params ?? {};
  return {
    tenantId: match?.tenant ?? null,
    actor: held.caller.actor,
    action: 'EXECUTE',
    resourceType: row?.access === 'permission' ? row.resource : 'FLOW',
    resourceId: params.executionId ?? params.id ?? null,
    namespace: params.namespace ?? null,
    requestId: held.caller.requestId,
    ip: held.caller.ip,
    userAgent: held.caller.userAgent,
    outcome: status >= 400 ? 'FAILURE' : 'SUCCESS',
    upstreamStatus: status,
    details: { method: held.method, path: row?.path ?? null, replayedAfterMaintenance: true, heldPosition: held.seq, heldAt: new Date(held.receivedAt).toISOString() },
  };
}
