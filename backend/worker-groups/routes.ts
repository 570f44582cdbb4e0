import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createWorkerGroupRequestSchema, updateWorkerGroupRequestSchema, type ApiWorkerGroupList } from '../../lib/schemas/worker-groups.js';
import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import type { PerchContext } from '../context.js';
import { conflict, notFound } from '../http/errors.js';
import { parse } from '../http/request.js';
import { healthMonitor, installHealthMonitor } from './health-monitor-wiring.js';
import { deleteWorkerGroup, findWorkerGroup, listWorkerGroups, saveWorkerGroup, toApiTargetHealth, toApiWorkerGroup, type WorkerGroupRecord } from './worker-group-store.js';

/*
 * EE's worker group registry (`/api/v1/instance/worker-groups`, operationIds list, create, get,
 * update, delete of `WorkerGroupController`), instance owners only, as in EE, and listRunningWorkers
 * mapped to what Perch observes: one entry per target, checked now. Every answer carries each
 * target's last health check (health-monitor.ts). Subscriptions, tokens and
 * capacity are not served here: the proxy answers 501 naming them.
 */

const ownersOnly = { config: { access: 'instanceOwner' as const } };
const BASE = '/api/v1/instance/worker-groups';
const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;
const deleteQuerySchema = z.object({ force: z.enum(['true', 'false']).default('false') });

async function mustFind(ctx: PerchContext, id: string): Promise<WorkerGroupRecord> {
  const group = await findWorkerGroup(ctx.db, id);
  if (!group) throw notFound(`Worker group ${id} not found`);
  return group;
}

const group: EntityRoute = {
  kind: 'worker-group',
  load: async (ctx, p) => {
    const found = await findWorkerGroup(ctx.db, p.id!);
    return found ? toApiWorkerGroup(found) : null;
  },
};

/**
 * Worker groups (issue 25): the registry, and the in-memory rules the proxy checks flows with
 * (`ctx.workerGroups`), read at start, after every write and when another replica says so.
 */
export function registerWorkerGroups(app: FastifyInstance, ctx: PerchContext): void {
  auditEntityStates({ [`${BASE}/:id`]: group }, { [BASE]: group });
  const monitor = healthMonitor(ctx);
  const reload = async () => {
    const groups = await listWorkerGroups(ctx.db);
    ctx.workerGroups.load(groups);
    monitor.watch(groups);
  };
  const reloadQuietly = () => void reload().catch((error) => ctx.log.error({ err: error }, 'could not re-read the worker groups'));
  ctx.changes.subscribe('worker-groups', reloadQuietly);
  ctx.changes.onResync(reloadQuietly);
  app.addHook('onReady', reload);
  installHealthMonitor(app, ctx);
  const withHealth = (g: WorkerGroupRecord) => toApiWorkerGroup(g, (host) => monitor.of(host));
  const onChange = async () => {
    await reload();
    await ctx.changes.publish('worker-groups', '');
  };

  app.get(BASE, ownersOnly, async (): Promise<ApiWorkerGroupList> => ({ workerGroups: (await listWorkerGroups(ctx.db)).map(withHealth) }));

  app.post(BASE, ownersOnly, async (request) => {
    const body = parse(createWorkerGroupRequestSchema, request.body);
    if (await findWorkerGroup(ctx.db, body.id)) throw conflict(`Worker group ${body.id} already exists`);
    await saveWorkerGroup(ctx.db, body.id, body);
    await onChange();
    return withHealth((await findWorkerGroup(ctx.db, body.id))!);
  });

  app.get(`${BASE}/:id`, ownersOnly, async (request) => withHealth(await mustFind(ctx, idOf(request))));

  app.put(`${BASE}/:id`, ownersOnly, async (request) => {
    const existing = await mustFind(ctx, idOf(request));
    const body = parse(updateWorkerGroupRequestSchema, request.body);
    await saveWorkerGroup(ctx.db, existing.id, body, existing);
    await onChange();
    return withHealth((await findWorkerGroup(ctx.db, existing.id))!);
  });

  // EE lists the Kestra workers registered to the group; Perch's workers are its Docker targets,
  // checked now (the result is kept as their last check, as the background check's are).
  app.get(`${BASE}/:id/workers`, ownersOnly, async (request) => {
    const existing = await mustFind(ctx, idOf(request));
    const checked = await monitor.checkNow(existing.targets.map((t) => ({ groupId: existing.id, targetId: t.id, host: t.host })));
    return {
      workers: existing.targets.map((t, i) => {
        const { state, checkedAt, ...seen } = toApiTargetHealth(checked[i]!);
        return { workerId: t.id, workerName: t.host, state, updatedAt: checkedAt, ...seen };
      }),
    };
  });

  // EE answers 409 while workers are connected unless forced; here, while namespaces are bound to
  // the group (deleting it lifts the constraint on their flows).
  app.delete(`${BASE}/:id`, ownersOnly, async (request, reply) => {
    const existing = await mustFind(ctx, idOf(request));
    const { force } = parse(deleteQuerySchema, request.query);
    if (existing.namespaces.length && force !== 'true') {
      throw conflict(`Worker group ${existing.id} is still bound to namespace(s) ${existing.namespaces.join(', ')}: unbind them first, or delete with force=true`);
    }
    await deleteWorkerGroup(ctx.db, existing.id);
    await onChange();
    return reply.code(204).send();
  });
}
