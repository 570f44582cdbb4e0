import { namespaceCovers } from '../../lib/authz/namespaces.js';

/**
 * A query string read as Kestra's server (Netty's decoder) reads it: parameters split on `&` and `;`,
 * names and values percent-decoded, `+` a space. Perch must read a query exactly this way wherever it
 * takes a decision from it: `n%61mespace=…` or `x;namespace=…` is Kestra's `namespace` too.
 */
export interface QueryParameter {
  name: string;
  value: string;
}

export class QueryError extends Error {}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new QueryError(`The query parameter ${text.slice(0, 60)} is not valid percent-encoding`);
  }
}

export function parseQuery(query: string): QueryParameter[] {
  const out: QueryParameter[] = [];
  for (const part of query.split(/[&;]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.push({ name: decode(eq < 0 ? part : part.slice(0, eq)), value: eq < 0 ? '' : decode(part.slice(eq + 1)) });
  }
  return out;
}

/**
 * The one value of parameter `name` (undefined when absent). Given twice, it is refused: which one a
 * server binds is its own business, and Perch must decide on the value Kestra uses.
 */
export function queryValue(query: string, name: string): string | undefined {
  const values = parseQuery(query).filter((p) => p.name === name);
  if (values.length > 1) throw new QueryError(`The query parameter ${name} is given more than once`);
  return values[0]?.value;
}

/** Kestra reads `filters[field][OP]` (and `filters[labels][OP][key]`), spelled exactly so, after decoding. */
const PLAIN_FILTER = /^filters\[[A-Za-z_]+\]\[[A-Za-z_]+\](?:\[[^\]]*\])?$/;
/** Filter fields that combine other filters: they could widen a scope Perch narrowed. */
const COMBINING_FIELDS = /^filters\[(logical|children|or|and|childFilter)\]/i;
/** A namespace filter, whatever the case of its field (so that none slips by as some other field). */
const NAMESPACE_FILTER = /^filters\[namespace\]\[([A-Za-z_]+)\]$/i;
/** Operations that name the namespaces a call is limited to. */
const LIMITING = new Set(['EQUALS', 'PREFIX', 'IN']);

export type NarrowedQuery = { ok: true; query: string; exact: boolean } | { ok: false; message: string };

/**
 * Bounds a list or by-query call to the namespaces the caller may reach. Perch's own
 * `filters[namespace][PREFIX]=<root>` always goes with the call, and Kestra applies every filter, so
 * a caller's own namespace filters can only narrow it further (never widen it, however they are
 * spelled or encoded). The root is the caller's only one, or the one holding every namespace their
 * filters limit the call to. With several roots and no such filter, Kestra's query language cannot
 * express the union: the call goes without Perch's filter and its answer must be filtered
 * (`exact: false`).
 */
export function narrowQuery(query: string, roots: readonly string[]): NarrowedQuery {
  let parameters: QueryParameter[];
  try {
    parameters = parseQuery(query);
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  const limits: string[][] = [];
  for (const { name, value } of parameters) {
    if (!/^filters/i.test(name)) continue;
    if (!PLAIN_FILTER.test(name) || COMBINING_FIELDS.test(name)) {
      return { ok: false, message: `Perch only accepts plain filters[field][OPERATION]=value parameters, not ${name}` };
    }
    const match = NAMESPACE_FILTER.exec(name);
    if (!match) continue;
    // Kestra decodes IN values a second time: `a%2Cb` would be two namespaces to it and one to Perch.
    if (value.includes('%')) return { ok: false, message: 'A namespace filter may not contain "%"' };
    const op = match[1]!.toUpperCase();
    if (LIMITING.has(op)) limits.push(value.split(',').map((v) => v.trim()));
  }
  const root = roots.length === 1 ? roots[0]! : roots.find((r) => limits.length > 0 && limits.some((values) => values.length > 0 && values.every((ns) => namespaceCovers(r, ns))));
  if (root === undefined) return { ok: true, query, exact: false };
  return { ok: true, query: `${query === '' ? '' : `${query}&`}filters[namespace][PREFIX]=${encodeURIComponent(root)}`, exact: true };
}
