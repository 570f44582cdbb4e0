import { HttpError } from '../http/errors.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import type { KestraAuthorizer } from '../authz/kestra-authorizer.js';
import { KestraReadError, type KestraReader } from '../proxy/kestra-reader.js';
import type { KestraAccess } from '../proxy/kestra-proxy.js';
import { LRUCache } from 'lru-cache';
import type { FlowGenerationPrompt } from '../../lib/schemas/ai.js';
import { typesToDocument } from './plugin-selection.js';
import { systemPrompt } from './prompt.js';

/**
 * What the copilot asks a tenant's Kestra, with Perch's own Kestra account and the proxy's reader
 * (kestra-reader.ts): the plugin types it has installed (listPlugins, kept a few minutes: they change
 * only when Kestra restarts), its verdict on a flow (validateFlows, nothing stored), and what a person
 * may read. Kestra not answering is a 502 naming Kestra; what it does not have, a 404.
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
  private plugins: { at: number; types: Promise<string[]> } | null = null;
  /** Each plugin type's properties as the prompt shows them, kept like the type list (bounded, oldest first out). */
  private readonly documented = new LRUCache<string, Promise<string>>({ max: MAX_DOCUMENTED, ttl: PLUGINS_TTL_MS });

  constructor(private readonly kestra: KestraReader, private readonly now: () => number = Date.now) {}

  /** Kestra's JSON answer; `missing` is the status when Kestra has none (404, or an empty answer). */
  private async call(path: string, what: string, missing: 404 | 502, yaml?: string): Promise<unknown> {
    let answer;
    try {
      answer = await this.kestra.json(path, what, { yaml });
    } catch (error) {
      if (error instanceof KestraReadError) throw new HttpError(502, error.message);
      throw error;
    }
    if (answer === null || answer === undefined) throw new HttpError(missing, `Kestra has no ${what}`);
    return answer;
  }

  /** A JSON answer of Kestra to a GET, with Perch's own account: authorize the person's read first. */
  read(path: string, what: string): Promise<unknown> {
    return this.call(path, what, 404);
  }

  /** Every plugin class Kestra reports (tasks, triggers, conditions…), sorted. */
  pluginTypes(): Promise<string[]> {
    if (this.plugins && this.now() - this.plugins.at < PLUGINS_TTL_MS) return this.plugins.types;
    const types = this.call('/api/v1/plugins?size=10000', 'its plugin list', 502).then((answer) => {
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
    const properties = this.call(`/api/v1/plugins/${encodeURIComponent(type)}`, `documentation for ${type}`, 502).then((answer) =>
      summarizeProperties(type, (answer as { schema?: { properties?: unknown } })?.schema?.properties),
    );
    this.documented.set(type, properties);
    properties.catch(() => this.documented.delete(type));
    return properties;
  }

  /** Kestra's constraint violations for one flow source (empty: valid). */
  async validate(source: string): Promise<string[]> {
    const answer = await this.call(`/api/v1/${KESTRA_TENANT}/flows/validate`, 'a verdict on the flow', 502, source);
    if (!Array.isArray(answer)) throw new HttpError(502, "Kestra's flow validation answered something other than a list");
    return answer.flatMap((v: { constraints?: unknown; deprecationPaths?: unknown }) => (typeof v?.constraints === 'string' && v.constraints !== '' ? [v.constraints] : []));
  }

}

/** The Kestra a tenant's copilot reads and the proxy's decisions for it. */
export interface CopilotKestra {
  kestra: AiKestraClient;
  authorizer: KestraAuthorizer;
}

/**
 * Each tenant's copilot client, over the reader of the Kestra the proxy sends that tenant's calls to
 * (an INSTANCE tenant's own). One client per reader: its plugin caches go when the proxy drops that Kestra.
 */
export function copilotKestra(kestraOf: (tenantId: string) => KestraAccess): (tenantId: string) => CopilotKestra {
  const clients = new WeakMap<KestraReader, AiKestraClient>();
  return (tenantId) => {
    const { reader, authorizer } = kestraOf(tenantId);
    let kestra = clients.get(reader);
    if (!kestra) clients.set(reader, (kestra = new AiKestraClient(reader)));
    return { kestra, authorizer };
  };
}

/**
 * The copilot's system prompt for a flow prompt, grounded in the tenant's Kestra: its plugin types and
 * the properties of those the prompt names. A type Kestra cannot document is left out (grounding, not a check).
 */
export async function groundedSystemPrompt(kestra: AiKestraClient, prompt: FlowGenerationPrompt): Promise<string> {
  const pluginTypes = await kestra.pluginTypes();
  const properties = await Promise.all(typesToDocument(prompt, pluginTypes).map((type) => kestra.pluginProperties(type).catch(() => undefined)));
  return systemPrompt(prompt, pluginTypes, properties.filter((p): p is string => p !== undefined));
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
