import type { FastifyInstance, FastifyRequest } from 'fastify';
import { killSwitchRequestSchema } from '../../lib/schemas/operations.js';
import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import type { PerchContext } from '../context.js';
import { HttpError, notFound } from '../http/errors.js';
import { instanceOwnersOnly, parse } from '../http/request.js';
import { KestraClient, KestraFailure } from '../maintenance/kestra-client.js';
import { KillSwitchGuard } from './kill-switch-guard.js';
import { findKillSwitch, insertKillSwitch, listKillSwitches, softDeleteKillSwitch, toApiKillSwitch, updateKillSwitch } from './kill-switch-store.js';

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

const killSwitch: EntityRoute = {
  kind: 'kill-switch',
  load: async (ctx, params) => {
    const row = await ctx.db.selectFrom('kill_switches').selectAll().where('id', '=', params.id!).executeTakeFirst();
    return row ? toApiKillSwitch(row) : null;
  },
  // A delete is soft: the switch is still there after it, marked deleted.
  deletesPart: true,
};

/**
 * EE `/api/v1/kill-switches` (Kestra EE 2.0 spec, tag KillSwitches), instance owners only. Returns the
 * guard, which the proxy consults before forwarding (server.ts).
 */
export async function registerKillSwitches(app: FastifyInstance, ctx: PerchContext): Promise<KillSwitchGuard> {
  const kestra = new KestraClient(ctx.config.kestra);
  const guard = new KillSwitchGuard(ctx, kestra);
  guard.follow();
  await guard.refresh();
  app.addHook('onClose', () => {
    guard.stop();
    return kestra.close();
  });
  auditEntityStates({ '/api/v1/kill-switches/:id': killSwitch }, { '/api/v1/kill-switches': killSwitch });

  /** The rule is saved (and in force for new executions) even when Kestra cannot be reached to stop running ones: 502 says so. */
  const enforce = async (id: string, request: FastifyRequest) => {
    try {
      await guard.enforce(id, request);
    } catch (error) {
      if (error instanceof KestraFailure) throw new HttpError(502, `The kill switch is saved and refuses new executions, but running ones could not be stopped: ${error.message}`, { id });
      throw error;
    }
  };

  app.post('/api/v1/kill-switches', instanceOwnersOnly, async (request) => {
    const row = await insertKillSwitch(ctx.db, parse(killSwitchRequestSchema, request.body));
    await guard.changed();
    await enforce(row.id, request);
    return toApiKillSwitch(row);
  });

  app.get('/api/v1/kill-switches/search', instanceOwnersOnly, async (_request, reply) => reply.header('cache-control', 'no-store').send((await listKillSwitches(ctx.db)).map(toApiKillSwitch)));

  app.put('/api/v1/kill-switches/:id', instanceOwnersOnly, async (request) => {
    const row = await updateKillSwitch(ctx.db, idOf(request), parse(killSwitchRequestSchema, request.body));
    if (!row) throw notFound(`Kill switch ${idOf(request)} not found`);
    await guard.changed();
    await enforce(row.id, request);
    return toApiKillSwitch(row);
  });

  app.delete('/api/v1/kill-switches/:id', instanceOwnersOnly, async (request, reply) => {
    if (!(await findKillSwitch(ctx.db, idOf(request)))) throw notFound(`Kill switch ${idOf(request)} not found`);
    await softDeleteKillSwitch(ctx.db, idOf(request));
    await guard.changed();
    return reply.code(200).send(); // the EE spec answers 200 without a body
  });

  return guard;
}
