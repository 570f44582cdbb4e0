import type { FastifyRequest } from 'fastify';
import { badRequest } from '../http/errors.js';
import { inheritsFrom } from '../namespaces/namespace-store.js';
import type { SecretRow } from './secret-store.js';

/**
 * Kestra's list filters (`filters[field][OPERATION]=value`) as `GET /api/v1/{tenant}/secrets` takes
 * them: on `namespace`, `key` and free text `q` (a part of the key or the description).
 */
const FILTER = /^filters\[(namespace|key|q)\]\[([A-Z_]+)\]$/;

type Test = (value: string) => boolean;

function operation(op: string, wanted: string[], field: string): Test {
  const first = wanted[0] ?? '';
  switch (op) {
    case 'EQUALS': return (v) => v === first;
    case 'NOT_EQUALS': return (v) => v !== first;
    case 'IN': return (v) => wanted.flatMap((w) => w.split(',')).includes(v);
    case 'NOT_IN': return (v) => !wanted.flatMap((w) => w.split(',')).includes(v);
    case 'CONTAINS': return (v) => v.toLowerCase().includes(first.toLowerCase());
    case 'STARTS_WITH': return (v) => v.startsWith(first);
    case 'ENDS_WITH': return (v) => v.endsWith(first);
    // A namespace and its children (Kestra's PREFIX on namespaces).
    case 'PREFIX': return (v) => inheritsFrom(v, first);
    default: throw badRequest(`Filter operation ${op} is not supported on ${field} (EQUALS, NOT_EQUALS, IN, NOT_IN, CONTAINS, STARTS_WITH, ENDS_WITH, PREFIX)`);
  }
}

/** A test of a secret's metadata from the request's filters; an unknown filter field is refused. */
export function secretFilter(request: FastifyRequest): (row: SecretRow) => boolean {
  const tests: Array<(row: SecretRow) => boolean> = [];
  for (const [name, raw] of Object.entries(request.query as Record<string, unknown>)) {
    if (!name.startsWith('filters[')) continue;
    const m = FILTER.exec(name);
    if (!m) throw badRequest(`Filter ${name} is not supported on secrets (namespace, key, q)`);
    const values = (Array.isArray(raw) ? raw : [raw]).map(String);
    const field = m[1]!;
    if (field === 'q') {
      const q = (values[0] ?? '').toLowerCase();
      tests.push((row) => row.key.toLowerCase().includes(q) || (row.description ?? '').toLowerCase().includes(q));
      continue;
    }
    const test = operation(m[2]!, values, field);
    tests.push(field === 'namespace' ? (row) => test(row.namespace) : (row) => test(row.key));
  }
  return (row) => tests.every((t) => t(row));
}

/** `sort=key:asc` or `namespace:desc` (default: namespace, then key). */
export function secretOrder(sort: string | undefined): (a: SecretRow, b: SecretRow) => number {
  const [field, direction] = (sort ?? 'namespace:asc').split(':');
  if (field !== 'key' && field !== 'namespace') throw badRequest(`Secrets sort by key or namespace, not ${field}`);
  const sign = direction === 'desc' ? -1 : 1;
  return (a, b) => sign * (a[field].localeCompare(b[field]) || a.key.localeCompare(b.key) || a.namespace.localeCompare(b.namespace));
}
