import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bannerRequestSchema } from '../../lib/schemas/operations.js';
import { auditEntityStates, type EntityRoute } from '../audit/entity-states.js';
import type { PerchContext } from '../context.js';
import { notFound } from '../http/errors.js';
import { instanceOwnersOnly, parse } from '../http/request.js';
import { deleteBanner, findBanner, insertBanner, listBanners, toApiBanner, updateBanner } from './banner-store.js';

/*
 * EE `/api/v1/banners` (Kestra EE 2.0 spec, tag Banners): instance owners create, update, delete and
 * search announcements; everyone signed in sees the active ones through `/perch/api/ui-config`, beside
 * the config file's `ui.banners` (ui/routes.ts).
 */

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

const banner: EntityRoute = {
  kind: 'banner',
  load: async (ctx, params) => {
    const row = await findBanner(ctx.db, params.id!);
    return row ? toApiBanner(row) : null;
  },
};

export function registerBanners(app: FastifyInstance, ctx: PerchContext): void {
  // Audited with the banner before and after (the audit hook records `/api/v1/banners` writes).
  auditEntityStates({ '/api/v1/banners/:id': banner }, { '/api/v1/banners': banner });

  app.post('/api/v1/banners', instanceOwnersOnly, async (request) => toApiBanner(await insertBanner(ctx.db, parse(bannerRequestSchema, request.body))));

  app.get('/api/v1/banners/search', instanceOwnersOnly, async (_request, reply) => {
    const now = Date.now();
    return reply.header('cache-control', 'no-store').send((await listBanners(ctx.db)).map((row) => toApiBanner(row, now)));
  });

  app.put('/api/v1/banners/:id', instanceOwnersOnly, async (request) => {
    const row = await updateBanner(ctx.db, idOf(request), parse(bannerRequestSchema, request.body));
    if (!row) throw notFound(`Banner ${idOf(request)} not found`);
    return toApiBanner(row);
  });

  app.delete('/api/v1/banners/:id', instanceOwnersOnly, async (request, reply) => {
    if (!(await deleteBanner(ctx.db, idOf(request)))) throw notFound(`Banner ${idOf(request)} not found`);
    return reply.code(200).send(); // the EE spec answers 200 without a body
  });
}
