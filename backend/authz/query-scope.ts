import { NAMESPACE_PATTERN, namespaceCovers } from '../../lib/authz/namespaces.js';

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
/** Any filter on the namespace field, whatever the case of its field (so that none slips by as some other field). */
const NAMESPACE_FIELD = /^filters\[namespace\]/i;
const NAMESPACE_FILTER = /^filters\[namespace\]\[([A-Za-z_]+)\]$/i;
/**
 * The pre-2.0 flat parameter: 1.x maps it to a namespace PREFIX filter when no `filters[…]` is given,
 * 2.0 ignores or refuses it (QueryFilterFormatBinder). Perch takes neither reading.
 */
const LEGACY_NAMESPACE = 'namespace';

/** A caller's namespace filter as Kestra reads it: its operation and its value(s). */
export interface NamespaceCondition {
  op: string;
  values: string[];
}

/** Operations naming a finite set of namespaces, a set of namespaces by their start, or only excluding some. */
const FINITE = new Set(['EQUALS', 'IN']);
const CONES = new Set(['PREFIX', 'STARTS_WITH']);
const EXCLUDING = new Set(['NOT_EQUALS', 'NOT_IN', 'ENDS_WITH', 'CONTAINS']);

/** A namespace and its children (PREFIX), or every namespace starting with a string (STARTS_WITH). */
export interface Cone {
  op: 'PREFIX' | 'STARTS_WITH';
  value: string;
}

function coneHas(cone: Cone, ns: string): boolean {
  return cone.op === 'PREFIX' ? namespaceCovers(cone.value, ns) : ns.startsWith(cone.value);
}

/** The intersection of two cones, which is one of them or nothing. */
function meetCones(a: Cone, b: Cone): Cone | null {
  if (a.op === 'PREFIX' && b.op === 'PREFIX') return namespaceCovers(a.value, b.value) ? b : namespaceCovers(b.value, a.value) ? a : null;
  if (a.op === 'STARTS_WITH' && b.op === 'STARTS_WITH') return b.value.startsWith(a.value) ? b : a.value.startsWith(b.value) ? a : null;
  const [prefix, start] = a.op === 'PREFIX' ? [a, b] : [b, a];
  if (prefix.value.startsWith(start.value)) return prefix;
  if (start.value.startsWith(`${prefix.value}.`)) return start;
  return null;
}

/** The root under which every namespace of the cone lies, or null when it reaches beyond each of them. */
export function rootHolding(cone: Cone, roots: readonly string[]): string | null {
  return roots.find((root) => {
    const met = meetCones(cone, { op: 'PREFIX', value: root });
    return met !== null && met.op === cone.op && met.value === cone.value;
  }) ?? null;
}

/** Whether `ns` passes every condition, read as Perch reads them (dot-aware PREFIX). */
function accepts(conditions: readonly NamespaceCondition[], ns: string): boolean {
  return conditions.every(({ op, values }) => {
    switch (op) {
      case 'EQUALS':
        return ns === values[0];
      case 'IN':
        return values.includes(ns);
      case 'NOT_EQUALS':
        return ns !== values[0];
      case 'NOT_IN':
        return !values.includes(ns);
      case 'PREFIX':
        return namespaceCovers(values[0]!, ns);
      case 'STARTS_WITH':
        return ns.startsWith(values[0]!);
      case 'ENDS_WITH':
        return ns.endsWith(values[0]!);
      case 'CONTAINS':
        return ns.includes(values[0]!);
      default:
        return false;
    }
  });
}

/**
 * What the caller's namespace conditions and their namespace roots have in common:
 * - `none`: nothing (the call must not reach Kestra);
 * - `list`: exactly these namespaces (from EQUALS / IN), checked one by one;
 * - `cone`: one PREFIX or STARTS_WITH set, `exact` when it lies in one root and no exclusion remains
 *   to be applied (otherwise the answer must be filtered by Perch);
 * - `open`: no single filter expresses it (several roots, no limiting condition): the answer must be filtered.
 */
export type ScopeIntersection =
  | { kind: 'none' }
  | { kind: 'list'; namespaces: string[] }
  | { kind: 'cone'; cone: Cone; exact: boolean }
  | { kind: 'open' };

/**
 * The cones a cone (or, when null, every namespace) has in common with each root. Roots are minimal
 * (none covers another), so distinct pieces never hold one another.
 */
function piecesOf(wanted: Cone | null, roots: readonly string[]): Cone[] {
  const pieces: Cone[] = [];
  for (const root of roots) {
    const piece: Cone | null = wanted === null ? { op: 'PREFIX', value: root } : meetCones(wanted, { op: 'PREFIX', value: root });
    if (piece && !pieces.some((p) => p.op === piece.op && p.value === piece.value)) pieces.push(piece);
  }
  return pieces;
}

/**
 * The cones, one per root, that the caller's conditions reach (their exclusions left aside): what an
 * `open` or a non-exact `cone` intersection is made of.
 */
export function conesWithin(conditions: readonly NamespaceCondition[], roots: readonly string[]): Cone[] {
  const wanted = wantedCone(conditions);
  return wanted === 'none' ? [] : piecesOf(wanted, roots);
}

/** The one cone the PREFIX / STARTS_WITH conditions leave (null: none asked), or `none` when they exclude each other. */
function wantedCone(conditions: readonly NamespaceCondition[]): Cone | null | 'none' {
  let wanted: Cone | null = null;
  for (const { op, values } of conditions) {
    if (!CONES.has(op)) continue;
    const cone: Cone = { op: op as Cone['op'], value: values[0]! };
    wanted = wanted === null ? cone : meetCones(wanted, cone);
    if (wanted === null) return 'none';
  }
  return wanted;
}

export function intersectScope(conditions: readonly NamespaceCondition[], roots: readonly string[]): ScopeIntersection {
  const covered = (ns: string) => roots.some((root) => namespaceCovers(root, ns));
  const finite = conditions.find((c) => FINITE.has(c.op));
  if (finite) {
    const namespaces = [...new Set(finite.values)].filter((ns) => NAMESPACE_PATTERN.test(ns) && covered(ns) && accepts(conditions, ns));
    return namespaces.length === 0 ? { kind: 'none' } : { kind: 'list', namespaces };
  }
  const wanted = wantedCone(conditions);
  if (wanted === 'none') return { kind: 'none' };
  const pieces = piecesOf(wanted, roots);
  if (pieces.length === 0) return { kind: 'none' };
  const excluding = conditions.some((c) => EXCLUDING.has(c.op));
  if (pieces.length === 1) return { kind: 'cone', cone: pieces[0]!, exact: !excluding };
  return wanted === null ? { kind: 'open' } : { kind: 'cone', cone: wanted, exact: false };
}

/** Perch's one namespace filter, as a query parameter and as a `{filters}` body item. */
export interface ScopeFilter {
  operation: 'EQUALS' | 'IN' | 'PREFIX' | 'STARTS_WITH';
  value: string | string[];
}

export function scopeFilterOf(scope: ScopeIntersection): ScopeFilter | null {
  if (scope.kind === 'list') return scope.namespaces.length === 1 ? { operation: 'EQUALS', value: scope.namespaces[0]! } : { operation: 'IN', value: scope.namespaces };
  if (scope.kind === 'cone') return { operation: scope.cone.op, value: scope.cone.value };
  return null;
}

function scopeParameter(filter: ScopeFilter): string {
  const value = Array.isArray(filter.value) ? filter.value.map(encodeURIComponent).join(',') : encodeURIComponent(filter.value);
  return `filters[namespace][${filter.operation}]=${value}`;
}

/** A namespace condition's values as Kestra's binder reads them: IN lists lose `[`/`]` and split on `,`. */
export function conditionOf(op: string, value: string): NamespaceCondition | string {
  const operation = op.toUpperCase();
  if (!FINITE.has(operation) && !CONES.has(operation) && !EXCLUDING.has(operation)) {
    return `Perch cannot bound a call by a namespace ${operation} filter: use EQUALS, IN, PREFIX, STARTS_WITH, NOT_EQUALS, NOT_IN, ENDS_WITH or CONTAINS`;
  }
  // Kestra decodes IN values a second time: `a%2Cb` would be two namespaces to it and one to Perch.
  if (value.includes('%')) return 'A namespace filter may not contain "%"';
  const values = operation === 'IN' || operation === 'NOT_IN' ? value.replace(/[[\]]/g, '').split(',') : [value];
  return { op: operation, values };
}

export type NarrowedQuery =
  | {
      ok: true;
      /** The query Kestra gets: the caller's other parameters and Perch's one namespace filter (if any). */
      query: string;
      scope: ScopeIntersection;
      filter: ScopeFilter | null;
      /** False when the answer must be filtered by Perch (and its totals recomputed). */
      exact: boolean;
      /** The caller's own namespace conditions, for filtering an answer Kestra could not be asked for exactly. */
      accepts: (namespace: string) => boolean;
    }
  | { ok: false; message: string };

/**
 * Bounds a list, export or by-query call to the namespaces the caller may reach. The caller's
 * namespace filters (however spelled, repeated or cased) are taken out of the query and replaced by
 * one filter Perch computes: their intersection with the caller's roots. Kestra never sees the
 * caller's broader filter beside Perch's, so how it combines two filters on one field never matters.
 * `extra` adds conditions read elsewhere (a `{filters}` body).
 */
export function narrowQuery(query: string, roots: readonly string[], extra: readonly NamespaceCondition[] = []): NarrowedQuery {
  const kept: string[] = [];
  const conditions: NamespaceCondition[] = [...extra];
  for (const raw of query.split(/[&;]/)) {
    if (raw === '') continue;
    let parameter: QueryParameter;
    try {
      parameter = parseQuery(raw)[0]!;
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
    const { name, value } = parameter;
    if (name === LEGACY_NAMESPACE) {
      return { ok: false, message: 'Perch does not accept the legacy namespace= parameter on this call: use filters[namespace][PREFIX]=…' };
    }
    if (!/^filters/i.test(name)) {
      kept.push(raw);
      continue;
    }
    if (!PLAIN_FILTER.test(name) || COMBINING_FIELDS.test(name)) {
      return { ok: false, message: `Perch only accepts plain filters[field][OPERATION]=value parameters, not ${name}` };
    }
    if (!NAMESPACE_FIELD.test(name)) {
      kept.push(raw);
      continue;
    }
    const match = NAMESPACE_FILTER.exec(name);
    if (!match) return { ok: false, message: `A namespace filter takes no key: ${name}` };
    const condition = conditionOf(match[1]!, value);
    if (typeof condition === 'string') return { ok: false, message: condition };
    conditions.push(condition);
  }
  const scope = intersectScope(conditions, roots);
  const filter = scopeFilterOf(scope);
  if (filter) kept.push(scopeParameter(filter));
  return {
    ok: true,
    query: kept.join('&'),
    scope,
    filter,
    exact: scope.kind === 'list' || (scope.kind === 'cone' && scope.exact),
    accepts: (ns) => accepts(conditions, ns),
  };
}
