import { z } from 'zod';
import {
  apiBannerSchema, apiKillSwitchSchema, maintenanceStatusSchema,
  type BannerRequest, type KillSwitchRequest,
} from '../../lib/schemas/operations';
import { getJson, send } from '../app/api';

/** Perch's operations API (EE shapes): announcements, maintenance mode, kill switches. */
export const banners = {
  search: () => getJson('/api/v1/banners/search', z.array(apiBannerSchema)),
  create: (body: BannerRequest) => send('post', '/api/v1/banners', body, apiBannerSchema),
  update: (id: string, body: BannerRequest) => send('put', `/api/v1/banners/${encodeURIComponent(id)}`, body, apiBannerSchema),
  remove: (id: string) => send('delete', `/api/v1/banners/${encodeURIComponent(id)}`),
};

export const maintenance = {
  status: () => getJson('/api/v1/instance/maintenance/status', maintenanceStatusSchema),
  enter: (message: string | undefined) => send('post', '/api/v1/instance/maintenance/enter', message ? { message } : {}, maintenanceStatusSchema),
  exit: () => send('post', '/api/v1/instance/maintenance/exit', undefined, maintenanceStatusSchema),
};

export const killSwitches = {
  search: () => getJson('/api/v1/kill-switches/search', z.array(apiKillSwitchSchema)),
  create: (body: KillSwitchRequest) => send('post', '/api/v1/kill-switches', body, apiKillSwitchSchema),
  update: (id: string, body: KillSwitchRequest) => send('put', `/api/v1/kill-switches/${encodeURIComponent(id)}`, body, apiKillSwitchSchema),
  remove: (id: string) => send('delete', `/api/v1/kill-switches/${encodeURIComponent(id)}`),
};

/** A `datetime-local` value as an ISO instant, or null when empty. */
export const isoOf = (local: string) => (local ? new Date(local).toISOString() : null);
