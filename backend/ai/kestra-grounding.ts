import { Pool } from 'undici';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import { kestraTarget } from '../proxy/kestra-target.js';

/**
 * What the copilot asks Kestra, with Perch's own Kestra account: the plugin types it has installed
 * (listPlugins, kept a few minutes: they change only when Kestra restarts) and its verdict on a flow
 * (validateFlows, nothing stored). Kestra not answering is a 502 naming Kestra.
 */

/** How long the plugin list is kept. */
const PLUGINS_TTL_MS = 5 * 60_000;
/** At most this many plugin types go into a prompt. */
const MAX_TYPES = 3000;
const ELEMENT_LISTS = ['tasks', 'triggers', 'conditions', 'controllers', 'storages', 'secrets', 'taskRunners', 'logExporters', 'apps', 'appBlocks'];

interface PluginJson { [list: string]: unknown }

export class AiKestraClient {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private plugins: { at: number; types: Promise<string[]> } | null = null;

  constructor(ctx: PerchContext, private readonly now: () => number = Date.now) {
    const target = kestraTarget(ctx.config.kestra);
    this.pool = new Pool(target.origin, { connections: 4, headersTimeout: target.timeout, bodyTimeout: target.timeout });
    this.headers = target.authorization ? { authorization: target.authorization } : {};
  }

  private async call(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
    let res;
    try {
      res = await this.pool.request({
        method,
        path,
        headers: { ...this.headers, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/x-yaml' } : {}) },
        body,
      });
    } catch (error) {
      throw new HttpError(502, `Kestra is not answering (${(error as { code?: string }).code ?? 'error'}), so the suggestion cannot be checked`);
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new HttpError(502, `Kestra answered ${res.statusCode} to ${method} ${path.split('?')[0]}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(502, `Kestra's answer to ${method} ${path} is not JSON`);
    }
  }

  /** Every plugin class Kestra reports (tasks, triggers, conditions…), sorted. */
  pluginTypes(): Promise<string[]> {
    if (this.plugins && this.now() - this.plugins.at < PLUGINS_TTL_MS) return this.plugins.types;
    const types = this.call('GET', '/api/v1/plugins?size=10000').then((answer) => {
      // 2.0 pages the list (PagedResults_Plugin_); earlier versions answer a bare list.
      const list = (Array.isArray(answer) ? answer : (answer as { results?: unknown })?.results) as PluginJson[] | undefined;
      const found = new Set<string>();
      for (const plugin of Array.isArray(list) ? list : []) {
        for (const key of ELEMENT_LISTS) {
          const elements = plugin?.[key];
          if (!Array.isArray(elements)) continue;
          for (const e of elements) if (typeof e?.cls === 'string' && !e.deprecated) found.add(e.cls);
        }
      }
      return [...found].sort().slice(0, MAX_TYPES);
    });
    this.plugins = { at: this.now(), types };
    types.catch(() => { this.plugins = null; });
    return types;
  }

  /** Kestra's constraint violations for one flow source (empty: valid). */
  async validate(source: string): Promise<string[]> {
    const answer = await this.call('POST', `/api/v1/${KESTRA_TENANT}/flows/validate`, source);
    if (!Array.isArray(answer)) throw new HttpError(502, "Kestra's flow validation answered something other than a list");
    return answer.flatMap((v: { constraints?: unknown; deprecationPaths?: unknown }) => (typeof v?.constraints === 'string' && v.constraints !== '' ? [v.constraints] : []));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
