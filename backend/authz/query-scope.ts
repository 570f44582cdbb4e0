import { namespaceCovers } from '../../lib/authz/namespaces.js';

/** Any filter parameter: `filters[field][OP]` with an optional `[key]` (labels). */
const ANY_FILTER = /^filters(?:\[|%5B)/i;
const PLAIN_FILTER = /^filters(?:\[|%5B)[A-Za-z_]+(?:\]|%5D)(?:\[|%5B)[A-Za-z_]+(?:\]|%5D)(?:(?:\[|%5B)[^\]%]*(?:\]|%5D))?$/i;
/** Filter fields that combine other filters: they could widen a scope Perch narrowed. */
const COMBINING_FIELDS = /^filters(?:\[|%5B)(logical|children|or|and|childFilter)(?:\]|%5D)/i;

/** `filters[namespace][OP]` in raw or percent-encoded spelling. */
const NAMESPACE_FILTER = /^filters(?:\[|%5B)namespace(?:\]|%5D)(?:\[|%5B)([A-Za-z_]+)(?:\]|%5D)$/i;

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

export type NarrowedQuery = { ok: true; query: string; exact: boolean } | { ok: false; message: string };

/**
 * Bounds a list or by-query call to the namespaces the caller may reach. A caller's own namespace
 * filter is kept when it already lies inside their reach (then `exact`: Kestra's totals are right);
 * otherwise every caller namespace filter is dropped and Perch's own is added. With several roots
 * Kestra's query language cannot express the union, so Perch asks for the caller's query without
 * namespace filters and the answer must be filtered (`exact: false`).
 */
export function narrowQuery(query: string, roots: readonly string[]): NarrowedQuery {
  const parts = query === '' ? [] : query.split('&');
  const kept: string[] = [];
  const own: Array<{ op: string; values: string[] }> = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (ANY_FILTER.test(name) && (!PLAIN_FILTER.test(name) || COMBINING_FIELDS.test(name))) {
      return { ok: false, message: `Perch only accepts plain filters[field][OPERATION]=value parameters, not ${name}` };
    }
    const match = NAMESPACE_FILTER.exec(name);
    if (!match) {
      kept.push(part);
      continue;
    }
    const value = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (value === null) return { ok: false, message: 'A namespace filter is not valid percent-encoding' };
    own.push({ op: match[1]!.toUpperCase(), values: value.split(',').map((v) => v.trim()) });
  }
  const withinReach = (ns: string) => roots.some((root) => namespaceCovers(root, ns));
  // One EQUALS or PREFIX filter (or an IN list) wholly inside the caller's reach is already narrow enough.
  if (own.length === 1 && ['EQUALS', 'PREFIX', 'IN'].includes(own[0]!.op) && own[0]!.values.length > 0 && own[0]!.values.every(withinReach)) {
    return { ok: true, query, exact: true };
  }
  if (roots.length === 1) {
    kept.push(`filters[namespace][PREFIX]=${encodeURIComponent(roots[0]!)}`);
    return { ok: true, query: kept.join('&'), exact: true };
  }
  return { ok: true, query: kept.join('&'), exact: false };
}
