import type { Dispatcher } from 'undici';
import { parseQuery } from './query-scope.js';
import { filterByNamespace } from './response-filter.js';

/** Upstream page size while scanning, and the most items Perch scans for one answer. */
const SCAN_PAGE_SIZE = 500;
const MAX_SCANNED = 20_000;

/** Paging parameters as Kestra reads their names (decoded, split on `&` and `;`): Perch's own replace them all. */
const isPaging = (part: string) => {
  const name = parseQuery(part)[0]?.name;
  return name === 'page' || name === 'size';
};

function withPaging(query: string, page: number, size: number): string {
  const kept = query.split(/[&;]/).filter((part) => part !== '' && !isPaging(part));
  return [...kept, `page=${page}`, `size=${size}`].join('&');
}

function pageOf(query: string): { page: number; size: number } {
  const parameters = parseQuery(query);
  const read = (name: string, fallback: number) => {
    const given = parameters.filter((p) => p.name === name);
    const value = given.length === 1 && /^\d+$/.test(given[0]!.value) ? Number(given[0]!.value) : fallback;
    return Number.isSafeInteger(value) && value > 0 ? value : fallback;
  };
  return { page: read('page', 1), size: Math.min(read('size', 10), 1000) };
}

export type PageFillResult = { ok: true; body: { results: unknown[]; total: number } } | { ok: false; status: number; message: string };

/**
 * When the caller may see several namespace roots, Kestra's query language cannot ask for exactly
 * their union, so Perch scans Kestra's pages itself, keeps the visible items and cuts the page the
 * caller asked for: paging and totals stay exact and count nothing hidden.
 */
export async function fillPage(
  upstream: Dispatcher,
  request: { path: string; query: string; headers: Record<string, string> },
  where: string,
  visible: (namespace: string) => boolean,
): Promise<PageFillResult> {
  const { page, size } = pageOf(request.query);
  const kept: unknown[] = [];
  let scanned = 0;
  for (let upstreamPage = 1; ; upstreamPage++) {
    const res = await upstream.request({ method: 'GET', path: `${request.path}?${withPaging(request.query, upstreamPage, SCAN_PAGE_SIZE)}`, headers: request.headers });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { ok: false, status: res.statusCode === 401 ? 502 : res.statusCode, message: `Kestra answered ${res.statusCode} while Perch gathered this list` };
    }
    const body = (await res.body.json()) as { results?: unknown[]; total?: number };
    if (!Array.isArray(body.results)) return { ok: false, status: 502, message: 'Kestra sent a list Perch could not read' };
    const { value } = filterByNamespace(body, where, visible);
    kept.push(...((value as { results: unknown[] }).results ?? []));
    scanned += body.results.length;
    const exhausted = body.results.length < SCAN_PAGE_SIZE || (typeof body.total === 'number' && scanned >= body.total);
    if (exhausted) break;
    if (scanned >= MAX_SCANNED) {
      return { ok: false, status: 413, message: `This list spans more than ${MAX_SCANNED} items across several namespaces: filter it by one namespace` };
    }
  }
  return { ok: true, body: { results: kept.slice((page - 1) * size, page * size), total: kept.length } };
}
