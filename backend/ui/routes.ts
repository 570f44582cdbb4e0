import type { FastifyInstance } from 'fastify';
import type { PerchConfig } from '../config/config.js';
import type { PerchContext } from '../context.js';
import type { PerchUiConfig } from '../../lib/schemas/ui-config.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { BUNDLE_PATH, type ScreensBundle } from './screens-bundle.js';
import { sha256Hex } from '../crypto/sha256.js';
import { activeApiBanners } from '../banners/banner-store.js';
import { readMaintenance } from '../maintenance/maintenance-store.js';
import { killSwitchBanners } from '../kill-switches/kill-switch-banners.js';

/** The announcements whose window contains `now`; ids default to a digest of the message. */
export function activeBanners(banners: PerchConfig['ui']['banners'], now: Date): PerchUiConfig['banners'] {
  const t = now.getTime();
  return banners
    .filter((b) => (!b.startDate || Date.parse(b.startDate) <= t) && (!b.endDate || t < Date.parse(b.endDate)))
    .map((b) => ({
      id: b.id ?? sha256Hex(b.message).slice(0, 12),
      message: b.message,
      type: b.type,
      startDate: b.startDate ?? null,
      endDate: b.endDate ?? null,
    }));
}

export function registerUiRoutes(app: FastifyInstance, ctx: PerchContext, bundle: ScreensBundle | undefined): void {
  const ui = ctx.config.ui;

  // The same file as the extension's content script: public like the Kestra UI's own assets.
  app.get(BUNDLE_PATH, { config: { access: 'public' } }, async (request, reply) => {
    if (!bundle) return reply.code(404).send({ message: 'Perch screens are not built: run npm run build:ext' });
    reply.header('etag', bundle.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === bundle.etag) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(bundle.code);
  });

  // What the screens show beside Kestra: announcements (the config file's, then the API's), maintenance, links, tenants.
  app.get('/perch/api/ui-config', async (request, reply) => {
    const principal = request.principal;
    const tenantId = principal?.tenantId ?? DEFAULT_TENANT;
    const now = new Date();
    const maintenance = await readMaintenance(ctx.db);
    const inMaintenance = ui.maintenance.active || maintenance.phase !== 'off';
    const body: PerchUiConfig = {
      banners: [...activeBanners(ui.banners, now), ...(await activeApiBanners(ctx.db, now.getTime())), ...(await killSwitchBanners(ctx, request.principal, now.getTime()))],
      inMaintenance,
      maintenanceMessage: maintenance.message ?? ui.maintenance.message ?? null,
      rightSidebar: { customLinks: ui.links },
      // The switcher lists the tenants this person may enter (tenants/tenant-directory.ts).
      tenants: principal ? ctx.tenants.enterable(principal).map((t) => ({ id: t.id, name: t.name })) : [{ id: tenantId, name: tenantId }],
    };
    return reply.header('cache-control', 'no-store').send(body);
  });
}
