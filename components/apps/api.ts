import { z } from 'zod';
import { getJson, send, sendYaml, tenantApi } from '../app/api';
import { apiAppSchema, apiAppSourceSchema, appPageSchema, appSourceErrorSchema } from '../../lib/schemas/apps';

/** The Apps API as the catalog and editor use it. */

export const APPS_PAGE_SIZE = 50;
const appListSchema = appPageSchema(apiAppSchema);
const tagsSchema = z.object({ tags: z.array(z.string()) });
const previewSchema = z.object({ layout: z.object({ blocks: z.array(z.looseObject({ type: z.string() })) }) });

export const appsPath = (tenant: string, rest = '') => tenantApi(tenant, `apps${rest}`);

export function searchApps(tenant: string, q: string, tag: string) {
  const params: Record<string, string> = { page: '1', size: String(APPS_PAGE_SIZE) };
  if (q.trim()) params['filters[q][EQUALS]'] = q.trim();
  if (tag) params['filters[tags][IN]'] = tag;
  return getJson(appsPath(tenant, '/search'), appListSchema, { searchParams: params });
}

export const loadTags = (tenant: string) => getJson(appsPath(tenant, '/tags'), tagsSchema);
export const loadSource = (tenant: string, uid: string) => getJson(appsPath(tenant, `/${encodeURIComponent(uid)}`), apiAppSourceSchema);
export const saveSource = (tenant: string, uid: string | undefined, yaml: string) =>
  uid ? sendYaml('put', appsPath(tenant, `/${encodeURIComponent(uid)}`), yaml, apiAppSourceSchema) : sendYaml('post', appsPath(tenant), yaml, apiAppSourceSchema);
export const previewSource = (tenant: string, yaml: string) => sendYaml('post', appsPath(tenant, '/preview'), yaml, previewSchema);
export const setEnabled = (tenant: string, uid: string, enabled: boolean) => send('post', appsPath(tenant, `/${encodeURIComponent(uid)}/${enabled ? 'enable' : 'disable'}`), undefined, apiAppSchema);

/** The source errors a 422 names, each at its line. */
export function sourceErrorsOf(details: unknown) {
  const parsed = z.object({ errors: z.array(appSourceErrorSchema) }).safeParse(details);
  return parsed.success ? parsed.data.errors : [];
}

/** The page a visitor opens: EE's app address. */
export const publicLinkOf = (tenant: string, uid: string) => `${location.origin}/ui/${encodeURIComponent(tenant)}/apps/${encodeURIComponent(uid)}`;
