/**
 * KV store (in memory): PUT value (text body, headers `ttl` ISO-8601 duration and `description`), GET `{type,value}`,
 * DELETE, bulk DELETE, inheritance listing and the tenant-wide paged list `GET /{t}/kv?filters…`.
 */
import {
  type Ctx,
  type Route,
  badRequest,
  filterMatches,
  notFound,
  paginate,
  parseFilters,
  parseIsoDuration,
  sendEmpty,
  sendJson,
  unprocessable,
  nowIso,
  kestraInstant,
} from './http.js';
import type { KvRec } from './state.js';

const KEY_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

/** Infer the KV type from the submitted text, like Kestra's ION-ish parsing. */
export function parseKvValue(text: string): Pick<KvRec, 'type' | 'value'> {
  const trimmed = text.trim();
  try {
    const v = JSON.parse(trimmed) as unknown;
    if (typeof v === 'number') return { type: 'NUMBER', value: v };
    if (typeof v === 'boolean') return { type: 'BOOLEAN', value: v };
    if (typeof v === 'string') return { type: 'STRING', value: v };
    if (v !== null && typeof v === 'object') return { type: 'JSON', value: v };
  } catch {
    /* not JSON */
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(trimmed)) return { type: 'DATETIME', value: trimmed };
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) return { type: 'DATE', value: trimmed };
  if (parseIsoDuration(trimmed) !== undefined) return { type: 'DURATION', value: trimmed };
  return { type: 'STRING', value: text };
}

function nsKv(ctx: Ctx, ns: string): Map<string, KvRec> {
  let m = ctx.rt.store.kv.get(ns);
  if (!m) ctx.rt.store.kv.set(ns, (m = new Map()));
  return m;
}

function live(rec: KvRec | undefined): rec is KvRec {
  return rec !== undefined && (rec.expiresAt === undefined || rec.expiresAt > Date.now());
}

function entryJson(ns: string, key: string, rec: KvRec): Record<string, unknown> {
  return {
    namespace: ns,
    key,
    revision: rec.revision,
    description: rec.description ?? null,
    creationDate: rec.created,
    updateDate: rec.updated,
    expirationDate: rec.expiresAt !== undefined ? kestraInstant(rec.expiresAt) : null,
  };
}

function header(ctx: Ctx, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function setKey(ctx: Ctx, p: Record<string, string>): void {
  const key = p.key!;
  if (!KEY_PATTERN.test(key)) throw unprocessable(`Invalid entity: key: Key must match the regex ${KEY_PATTERN.source}`, [{ path: 'key', message: 'invalid key' }]);
  const ttl = header(ctx, 'ttl');
  let expiresAt: number | undefined;
  if (ttl) {
    const ms = parseIsoDuration(ttl);
    if (ms === undefined) throw badRequest(`Invalid ttl '${ttl}', it must be an ISO-8601 duration`);
    expiresAt = Date.now() + ms;
  }
  const description = header(ctx, 'description');
  const kv = nsKv(ctx, p.namespace!);
  const prev = kv.get(key);
  const now = nowIso();
  kv.set(key, {
    ...parseKvValue(ctx.body.toString('utf8')),
    ...(description !== undefined ? { description } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    revision: live(prev) ? prev.revision + 1 : 1,
    created: live(prev) ? prev.created : now,
    updated: now,
  });
  sendEmpty(ctx, 200);
}

function getKey(ctx: Ctx, p: Record<string, string>): void {
  const rec = ctx.rt.store.kv.get(p.namespace!)?.get(p.key!);
  if (!live(rec)) throw notFound(`No value found for key '${p.key}' in namespace '${p.namespace}'`);
  sendJson(ctx, 200, { type: rec.type, value: rec.value, revision: rec.revision, updated: rec.updated });
}

function deleteKey(ctx: Ctx, p: Record<string, string>): void {
  const kv = ctx.rt.store.kv.get(p.namespace!);
  const rec = kv?.get(p.key!);
  const existed = live(rec);
  kv?.delete(p.key!);
  sendJson(ctx, 200, existed);
}

function deleteKeys(ctx: Ctx, p: Record<string, string>): void {
  let keys: unknown;
  try {
    keys = (JSON.parse(ctx.body.toString('utf8')) as { keys?: unknown }).keys;
  } catch {
    throw badRequest('body must be JSON {"keys": [...]}');
  }
  if (!Array.isArray(keys)) throw badRequest('body must be JSON {"keys": [...]}');
  const kv = ctx.rt.store.kv.get(p.namespace!);
  const deleted = keys.map(String).filter((k) => {
    const had = live(kv?.get(k));
    kv?.delete(k);
    return had;
  });
  sendJson(ctx, 200, { keys: deleted });
}

function inheritance(ctx: Ctx, p: Record<string, string>): void {
  const parts = p.namespace!.split('.');
  const out: Record<string, unknown>[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const ns = parts.slice(0, i).join('.');
    for (const [k, rec] of [...(ctx.rt.store.kv.get(ns) ?? [])].sort(([a], [b]) => a.localeCompare(b))) {
      if (live(rec)) out.push(entryJson(ns, k, rec));
    }
  }
  sendJson(ctx, 200, out);
}

function listAll(ctx: Ctx): void {
  const filters = parseFilters(ctx.query);
  const entries: Record<string, unknown>[] = [];
  for (const ns of [...ctx.rt.store.kv.keys()].sort()) {
    for (const [k, rec] of [...ctx.rt.store.kv.get(ns)!].sort(([a], [b]) => a.localeCompare(b))) {
      if (!live(rec)) continue;
      const ok = filters.every((f) => {
        if (f.field === 'namespace') return filterMatches(f, ns);
        if (f.field === 'key' || f.field === 'q') return filterMatches(f.field === 'q' ? { ...f, operation: 'CONTAINS' } : f, k);
        return true;
      });
      if (ok) entries.push(entryJson(ns, k, rec));
    }
  }
  sendJson(ctx, 200, paginate(entries, ctx.query));
}

export const kvRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/:tenant/kv', handler: listAll },
  { method: 'DELETE', path: '/api/v1/:tenant/namespaces/:namespace/kv', handler: deleteKeys },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/kv/inheritance', handler: inheritance },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/kv/:key', handler: getKey },
  { method: 'PUT', path: '/api/v1/:tenant/namespaces/:namespace/kv/:key', handler: setKey },
  { method: 'DELETE', path: '/api/v1/:tenant/namespaces/:namespace/kv/:key', handler: deleteKey },
];
