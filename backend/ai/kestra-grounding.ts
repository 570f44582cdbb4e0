import { Pool } from 'undici';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import { kestraTarget } from '../proxy/kestra-target.js';
import { LRUCache } from 'lru-cache';

/**
 * What the copilot asks Kestra, with Perch's own Kestra account: the plugin types it has installed
 * (listPlugins, kept a few minutes: they change only when Kestra restarts) and its verdict on a flow
 * (validateFlows, nothing stored). Kestra not answering is a 502 naming Kestra.
 */

/** How long the plugin list is kept. */
const PLUGINS_TTL_MS = 5 * 60_000;
/** At most this many plugin types go into a prompt. */
const MAX_TYPES = 3000;
/** At most this many plugins' documentation entries are kept (each is small once summarized). */
const MAX_DOCUMENTED = 500;
const ELEMENT_LISTS = ['tasks', 'triggers', 'conditions', 'controllers', 'storages', 'secrets', 'taskRunners', 'logExporters', 'apps', 'appBlocks'];

interface PluginJson { [list: string]: unknown }

export class AiKestraClient {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private plugins: { at: number; types: Promise<string[]> } | null = null;
  /** Each plugin type's properties as the prompt shows them, kept like the type list (bounded, oldest first out). */
  private readonly documented = new LRUCache<string, Promise<string>>({ max: MAX_DOCUMENTED, ttl: PLUGINS_TTL_MS });

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

  /** A JSON answer of Kestra to a GET, with Perch's own account: authorize the person's read first. */
  read(path: string): Promise<unknown> {
    return this.call('GET', path);
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

  /**
   * One plugin type's properties, summarized for a prompt from Kestra's documentation of it
   * (getPluginDocumentation: `schema.properties` is the class's JSON schema).
   */
  pluginProperties(type: string): Promise<string> {
    const kept = this.documented.get(type);
    if (kept) return kept;
    const properties = this.call('GET', `/api/v1/plugins/${encodeURIComponent(type)}`).then((answer) =>
      summarizeProperties(type, (answer as { schema?: { properties?: unknown } })?.schema?.properties),
    );
    this.documented.set(type, properties);
    properties.catch(() => this.documented.delete(type));
    return properties;
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

/** At most this many characters of one type's properties go into a prompt. */
const MAX_PROPERTIES_CHARS = 4000;

/** A property's JSON-schema type, short: `string`, `string | array`, `enum ERROR, WARN`, `object`. */
function typeOf(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.join(', ')}`;
  if (typeof schema.type === 'string') return schema.type;
  const options = (schema.anyOf ?? schema.oneOf) as Array<Record<string, unknown>> | undefined;
  if (Array.isArray(options)) return [...new Set(options.map((o) => (typeof o?.type === 'string' ? o.type : typeof o?.$ref === 'string' ? o.$ref.split('/').at(-1) : 'any')))].join(' | ');
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').at(-1)!;
  return 'any';
}

/** `type`: its properties one a line (name, type, required, default, title), from the class's JSON schema. */
export function summarizeProperties(type: string, schema: unknown): string {
  const properties = (schema as { properties?: unknown })?.properties;
  const required = new Set(((schema as { required?: unknown })?.required as unknown[] | undefined)?.filter((r): r is string => typeof r === 'string') ?? []);
  const lines = [`${type}:`];
  if (properties && typeof properties === 'object') {
    for (const [name, raw] of Object.entries(properties as Record<string, unknown>)) {
      const property = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const facts = [typeOf(property), required.has(name) ? 'required' : '', property.default !== undefined ? `default ${JSON.stringify(property.default)}` : ''].filter(Boolean).join(', ');
      const title = typeof property.title === 'string' ? ` — ${property.title.replace(/\s+/g, ' ').slice(0, 160)}` : '';
      lines.push(`  ${name} (${facts})${title}`);
    }
  }
  const text = lines.join('\n');
  return text.length > MAX_PROPERTIES_CHARS ? `${text.slice(0, MAX_PROPERTIES_CHARS)}\n  …` : text;
}
