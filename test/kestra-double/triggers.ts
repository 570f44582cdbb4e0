/**
 * Trigger states (in memory): the triggers of a flow are those of its current revision; each has a state (disabled,
 * locked, dates) created on first use. Served: the paged search of every flow's triggers with their states
 * (`GET /triggers/search`, `{trigger, state}` pairs), the paged list of a flow's trigger states, enable/disable
 * (`PUT /triggers/set-disabled`), restart, unlock (409 unless locked) and delete (the state goes; the next read
 * starts afresh from the flow's YAML, as Kestra's scheduler recreates it). The stock 2.0 UI's bulk forms for
 * listed triggers (`…/set-disabled/by-triggers`, `…/unlock/by-triggers`, `…/delete/by-triggers`) and by query (`…/by-query`,
 * the search filters on `namespace`, `flowId`, `triggerId`, `locked` and `q`; set-disabled takes `disabled`, true by default) answer 202 and an
 * `ApiAsyncOperationResponse` counting the triggers acted on, silently skipping the others (undeclared, or for
 * unlock not locked), as TriggerController and TriggerStateService do at kestra-io develop c94e7743; the double
 * applies the change before answering.
 */
import { currentRevision, findFlow, liveFlows } from './flows.js';
import { type Ctx, type Route, badRequest, conflict, filterMatches, jsonBody, newId, notFound, nowIso, paginate, parseFilters, sendEmpty, sendJson } from './http.js';
import type { TriggerRec } from './state.js';

const stateKey = (namespace: string, flowId: string, triggerId: string) => `${namespace}\u0000${flowId}\u0000${triggerId}`;

/** The trigger ids of the flow's current revision, with their `disabled` from the YAML; undefined if no such flow. */
function flowTriggers(ctx: Pick<Ctx, 'rt'>, namespace: string, flowId: string): { id: string; disabled: boolean }[] | undefined {
  const flow = findFlow(ctx.rt, namespace, flowId);
  if (!flow) return undefined;
  const triggers = currentRevision(flow).doc.triggers;
  if (!Array.isArray(triggers)) return [];
  return triggers
    .filter((t): t is Record<string, unknown> => !!t && typeof t === 'object' && typeof (t as { id?: unknown }).id === 'string')
    .map((t) => ({ id: t.id as string, disabled: t.disabled === true }));
}

function stateOf(ctx: Pick<Ctx, 'rt'>, namespace: string, flowId: string, trigger: { id: string; disabled: boolean }): TriggerRec {
  const key = stateKey(namespace, flowId, trigger.id);
  let rec = ctx.rt.store.triggers.get(key);
  if (!rec) ctx.rt.store.triggers.set(key, (rec = { disabled: trigger.disabled, locked: false, updatedAt: nowIso() }));
  return rec;
}

/** `ApiTriggerState` JSON. */
export function triggerStateJson(namespace: string, flowId: string, triggerId: string, rec: TriggerRec): Record<string, unknown> {
  return {
    namespace,
    flowId,
    triggerId,
    updatedAt: rec.updatedAt,
    ...(rec.evaluatedAt ? { evaluatedAt: rec.evaluatedAt } : {}),
    disabled: rec.disabled,
    locked: rec.locked,
    ...(rec.backfill ? { backfill: rec.backfill } : {}),
  };
}

function requireTrigger(ctx: Ctx, namespace: string, flowId: string, triggerId: string): TriggerRec {
  const trigger = flowTriggers(ctx, namespace, flowId)?.find((t) => t.id === triggerId);
  if (!trigger) throw notFound(`Trigger '${triggerId}' of flow '${namespace}.${flowId}' not found`);
  return stateOf(ctx, namespace, flowId, trigger);
}

function listForFlow(ctx: Ctx, p: Record<string, string>): void {
  const triggers = flowTriggers(ctx, p.namespace!, p.flowId!);
  if (!triggers) throw notFound(`Flow id '${p.flowId}' not found in namespace '${p.namespace}'`);
  const q = ctx.query.get('q');
  const states = triggers
    .filter((t) => !q || t.id.includes(q))
    .map((t) => triggerStateJson(p.namespace!, p.flowId!, t.id, stateOf(ctx, p.namespace!, p.flowId!, t)));
  sendJson(ctx, 200, paginate(states, ctx.query));
}

/** `GET /triggers/search`: every live flow's triggers (their declaration from the YAML) with their states. */
function search(ctx: Ctx): void {
  const pairs = liveFlows(ctx).flatMap((flow) => {
    const declared = currentRevision(flow).doc.triggers;
    if (!Array.isArray(declared)) return [];
    return declared
      .filter((t): t is Record<string, unknown> => !!t && typeof t === 'object' && typeof (t as { id?: unknown }).id === 'string' && typeof (t as { type?: unknown }).type === 'string')
      .map((t) => ({
        trigger: t,
        state: triggerStateJson(flow.namespace, flow.id, t.id as string, stateOf(ctx, flow.namespace, flow.id, { id: t.id as string, disabled: t.disabled === true })),
      }));
  });
  sendJson(ctx, 200, paginate(pairs, ctx.query));
}

function setDisabled(ctx: Ctx): void {
  let body: { namespace?: unknown; flowId?: unknown; triggerId?: unknown; disabled?: unknown };
  try {
    body = JSON.parse(ctx.body.toString('utf8')) as typeof body;
  } catch {
    throw badRequest('body must be JSON {namespace, flowId, triggerId, disabled}');
  }
  if (typeof body.namespace !== 'string' || typeof body.flowId !== 'string' || typeof body.triggerId !== 'string') {
    throw badRequest('body must be JSON {namespace, flowId, triggerId, disabled}');
  }
  const rec = requireTrigger(ctx, body.namespace, body.flowId, body.triggerId);
  rec.disabled = body.disabled === true;
  rec.updatedAt = nowIso();
  sendJson(ctx, 200, triggerStateJson(body.namespace, body.flowId, body.triggerId, rec));
}

/**
 * `PUT /triggers/backfill/create` ({namespace, flowId, triggerId, backfill: {start, end, inputs, labels}}): the
 * backfill is kept on the trigger's state (409 when one is already there). Not imitated: the scheduler starting
 * its executions, with the inputs and label values rendered as Pebble (docs/compatibility.md).
 */
function createBackfill(ctx: Ctx): void {
  const body = jsonBody(ctx, 'backfill') as { namespace?: unknown; flowId?: unknown; triggerId?: unknown; backfill?: Record<string, unknown> | null } | null;
  if (!body || typeof body.namespace !== 'string' || typeof body.flowId !== 'string' || typeof body.triggerId !== 'string' || !body.backfill || typeof body.backfill.start !== 'string') {
    throw badRequest('body must be JSON {namespace, flowId, triggerId, backfill: {start, …}}');
  }
  const rec = requireTrigger(ctx, body.namespace, body.flowId, body.triggerId);
  if (rec.backfill) throw conflict('Cannot create backfill: a backfill already exists');
  const { start, end, inputs, labels } = body.backfill;
  rec.backfill = { start, ...(end ? { end } : {}), currentDate: start, paused: false, ...(inputs ? { inputs } : {}), ...(labels ? { labels } : {}) };
  rec.updatedAt = nowIso();
  sendJson(ctx, 200, triggerStateJson(body.namespace, body.flowId, body.triggerId, rec));
}

function restart(ctx: Ctx, p: Record<string, string>): void {
  const rec = requireTrigger(ctx, p.namespace!, p.flowId!, p.triggerId!);
  rec.locked = false;
  rec.evaluatedAt = undefined;
  rec.updatedAt = nowIso();
  sendJson(ctx, 200, triggerStateJson(p.namespace!, p.flowId!, p.triggerId!, rec));
}

function unlock(ctx: Ctx, p: Record<string, string>): void {
  const rec = requireTrigger(ctx, p.namespace!, p.flowId!, p.triggerId!);
  if (!rec.locked) throw conflict('Trigger is not locked');
  rec.locked = false;
  rec.updatedAt = nowIso();
  sendJson(ctx, 200, triggerStateJson(p.namespace!, p.flowId!, p.triggerId!, rec));
}

function remove(ctx: Ctx, p: Record<string, string>): void {
  requireTrigger(ctx, p.namespace!, p.flowId!, p.triggerId!);
  ctx.rt.store.triggers.delete(stateKey(p.namespace!, p.flowId!, p.triggerId!));
  sendEmpty(ctx, 204);
}

interface TriggerId { namespace: string; flowId: string; triggerId: string }

/** The `ApiTriggerId` list of a bulk body (400 when it is not one). */
function triggerIds(raw: unknown, shape: string): TriggerId[] {
  const ok = (t: unknown): t is TriggerId =>
    !!t && typeof t === 'object' && ['namespace', 'flowId', 'triggerId'].every((k) => typeof (t as Record<string, unknown>)[k] === 'string');
  if (!Array.isArray(raw) || !raw.every(ok)) throw badRequest(`body must be JSON ${shape}`);
  return raw;
}

function jsonOf(ctx: Ctx, shape: string): unknown {
  try {
    return JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw badRequest(`body must be JSON ${shape}`);
  }
}

/** The declared triggers among `ids`, each with its state; undeclared ones are skipped, as Kestra skips them. */
function declared(ctx: Ctx, ids: TriggerId[]): { id: TriggerId; rec: TriggerRec }[] {
  return ids.flatMap((id) => {
    const trigger = flowTriggers(ctx, id.namespace, id.flowId)?.find((t) => t.id === id.triggerId);
    return trigger ? [{ id, rec: stateOf(ctx, id.namespace, id.flowId, trigger) }] : [];
  });
}

/** Every declared trigger of a live flow that the request's `filters[…]` select (other fields are not filtered on). */
function matching(ctx: Ctx): { id: TriggerId; rec: TriggerRec }[] {
  const filters = parseFilters(ctx.query);
  const all = liveFlows(ctx).flatMap((flow) =>
    (flowTriggers(ctx, flow.namespace, flow.id) ?? []).map((t) => ({ namespace: flow.namespace, flowId: flow.id, triggerId: t.id })),
  );
  return declared(ctx, all).filter(({ id, rec }) =>
    filters.every((f) => {
      switch (f.field) {
        case 'namespace':
        case 'flowId':
        case 'triggerId':
          return filterMatches(f, id[f.field]);
        case 'locked':
          return filterMatches(f, String(rec.locked));
        case 'q':
          return filterMatches({ ...f, operation: 'CONTAINS' }, `${id.namespace} ${id.flowId} ${id.triggerId}`);
        default:
          return true;
      }
    }),
  );
}

const accepted = (ctx: Ctx, count: number): void => sendJson(ctx, 202, { operationId: newId(), totalItems: count });

function setDisabledByQuery(ctx: Ctx): void {
  const found = matching(ctx);
  const disabled = ctx.query.get('disabled') !== 'false';
  for (const { rec } of found) {
    rec.disabled = disabled;
    rec.updatedAt = nowIso();
  }
  accepted(ctx, found.length);
}

function unlockByQuery(ctx: Ctx): void {
  const locked = matching(ctx).filter(({ rec }) => rec.locked);
  for (const { rec } of locked) {
    rec.locked = false;
    rec.updatedAt = nowIso();
  }
  accepted(ctx, locked.length);
}

function deleteByQuery(ctx: Ctx): void {
  const found = matching(ctx);
  for (const { id } of found) ctx.rt.store.triggers.delete(stateKey(id.namespace, id.flowId, id.triggerId));
  accepted(ctx, found.length);
}

function setDisabledByTriggers(ctx: Ctx): void {
  const SHAPE = '{triggers: [{namespace, flowId, triggerId}], disabled}';
  const body = jsonOf(ctx, SHAPE) as { triggers?: unknown; disabled?: unknown } | null;
  if (!body || typeof body.disabled !== 'boolean' || !Array.isArray(body.triggers) || body.triggers.length === 0) throw badRequest(`body must be JSON ${SHAPE}`);
  const found = declared(ctx, triggerIds(body.triggers, SHAPE));
  for (const { rec } of found) {
    rec.disabled = body.disabled;
    rec.updatedAt = nowIso();
  }
  accepted(ctx, found.length);
}

function unlockByTriggers(ctx: Ctx): void {
  const SHAPE = '[{namespace, flowId, triggerId}]';
  const locked = declared(ctx, triggerIds(jsonOf(ctx, SHAPE), SHAPE)).filter(({ rec }) => rec.locked);
  for (const { rec } of locked) {
    rec.locked = false;
    rec.updatedAt = nowIso();
  }
  accepted(ctx, locked.length);
}

function deleteByTriggers(ctx: Ctx): void {
  const SHAPE = '[{namespace, flowId, triggerId}]';
  const found = declared(ctx, triggerIds(jsonOf(ctx, SHAPE), SHAPE));
  for (const { id } of found) ctx.rt.store.triggers.delete(stateKey(id.namespace, id.flowId, id.triggerId));
  accepted(ctx, found.length);
}

/** Double-only helper for tests: marks a trigger locked (as a running evaluation would). */
export function lockTrigger(ctx: Pick<Ctx, 'rt'>, namespace: string, flowId: string, triggerId: string): void {
  const trigger = flowTriggers(ctx, namespace, flowId)?.find((t) => t.id === triggerId);
  if (!trigger) throw new Error(`no trigger ${namespace}.${flowId}.${triggerId}`);
  const rec = stateOf(ctx, namespace, flowId, trigger);
  rec.locked = true;
  rec.evaluatedAt = nowIso();
}

export const triggerRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/:tenant/triggers/search', handler: search },
  { method: 'PUT', path: '/api/v1/:tenant/triggers/set-disabled', handler: setDisabled },
  { method: 'PUT', path: '/api/v1/:tenant/triggers/backfill/create', handler: createBackfill },
  { method: 'POST', path: '/api/v1/:tenant/triggers/set-disabled/by-triggers', handler: setDisabledByTriggers },
  { method: 'POST', path: '/api/v1/:tenant/triggers/unlock/by-triggers', handler: unlockByTriggers },
  { method: 'DELETE', path: '/api/v1/:tenant/triggers/delete/by-triggers', handler: deleteByTriggers },
  { method: 'POST', path: '/api/v1/:tenant/triggers/set-disabled/by-query', handler: setDisabledByQuery },
  { method: 'POST', path: '/api/v1/:tenant/triggers/unlock/by-query', handler: unlockByQuery },
  { method: 'DELETE', path: '/api/v1/:tenant/triggers/delete/by-query', handler: deleteByQuery },
  { method: 'GET', path: '/api/v1/:tenant/triggers/:namespace/:flowId', handler: listForFlow },
  { method: 'DELETE', path: '/api/v1/:tenant/triggers/:namespace/:flowId/:triggerId', handler: remove },
  { method: 'POST', path: '/api/v1/:tenant/triggers/:namespace/:flowId/:triggerId/restart', handler: restart },
  { method: 'POST', path: '/api/v1/:tenant/triggers/:namespace/:flowId/:triggerId/unlock', handler: unlock },
];
