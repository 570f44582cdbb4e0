import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intersectScope, narrowQuery, type NamespaceCondition } from '../../backend/authz/query-scope.js';
import { namespaceCovers } from '../../lib/authz/namespaces.js';

const c = (op: string, ...values: string[]): NamespaceCondition => ({ op, values });

/**
 * Perch replaces a caller's namespace filters by their intersection with the caller's roots. These
 * pin the intersection itself; the authorizer and proxy suites pin what reaches Kestra.
 */
describe('intersectScope', () => {
  it.each([
    ['no condition, one root', [], ['a'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a' }, exact: true }],
    ['no condition, two roots', [], ['a', 'b'], { kind: 'open' }],
    ['no condition, no root', [], [], { kind: 'none' }],
    ['a prefix above the root', [c('PREFIX', 'a')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b' }, exact: true }],
    ['a prefix below the root', [c('PREFIX', 'a.b.c')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b.c' }, exact: true }],
    ['a prefix equal to the root', [c('PREFIX', 'a.b')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b' }, exact: true }],
    ['a look-alike prefix', [c('PREFIX', 'a.bc')], ['a.b'], { kind: 'none' }],
    ['a prefix spanning two roots', [c('PREFIX', 'a')], ['a.b', 'a.c'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a' }, exact: false }],
    ['a prefix reaching one of two roots', [c('PREFIX', 'a.c.d')], ['a.b', 'a.c'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.c.d' }, exact: true }],
    ['a start shorter than the root', [c('STARTS_WITH', 'a.')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b' }, exact: true }],
    ['a start inside the root', [c('STARTS_WITH', 'a.b.x')], ['a.b'], { kind: 'cone', cone: { op: 'STARTS_WITH', value: 'a.b.x' }, exact: true }],
    ['a start equal to the root', [c('STARTS_WITH', 'a.b')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b' }, exact: true }],
    ['a start past the root without a dot', [c('STARTS_WITH', 'a.bc')], ['a.b'], { kind: 'none' }],
    ['a start beside the root', [c('STARTS_WITH', 'x')], ['a.b'], { kind: 'none' }],
    ['two nested prefixes', [c('PREFIX', 'a'), c('PREFIX', 'a.b.c')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b.c' }, exact: true }],
    ['two nested prefixes, reversed', [c('PREFIX', 'a.b.c'), c('PREFIX', 'a')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b.c' }, exact: true }],
    ['two disjoint prefixes', [c('PREFIX', 'a.b.c'), c('PREFIX', 'a.b.d')], ['a.b'], { kind: 'none' }],
    ['two nested starts', [c('STARTS_WITH', 'a.b.x'), c('STARTS_WITH', 'a.b.xy')], ['a.b'], { kind: 'cone', cone: { op: 'STARTS_WITH', value: 'a.b.xy' }, exact: true }],
    ['two nested starts, reversed', [c('STARTS_WITH', 'a.b.xy'), c('STARTS_WITH', 'a.b.x')], ['a.b'], { kind: 'cone', cone: { op: 'STARTS_WITH', value: 'a.b.xy' }, exact: true }],
    ['two disjoint starts', [c('STARTS_WITH', 'a.b.x'), c('STARTS_WITH', 'a.b.y')], ['a.b'], { kind: 'none' }],
    ['a start then a prefix', [c('STARTS_WITH', 'a.b.x'), c('PREFIX', 'a.b.xy')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b.xy' }, exact: true }],
    ['an exclusion over one root', [c('NOT_EQUALS', 'a.b.c')], ['a.b'], { kind: 'cone', cone: { op: 'PREFIX', value: 'a.b' }, exact: false }],
    ['an exclusion over two roots', [c('CONTAINS', 'x')], ['a', 'b'], { kind: 'open' }],
    ['a list, filtered by the roots', [c('IN', 'a.b', 'a.bc', 'a.b.c', 'z', 'a.b')], ['a.b'], { kind: 'list', namespaces: ['a.b', 'a.b.c'] }],
    ['a list, filtered by the other conditions', [c('IN', 'a.b.c', 'a.b.d', 'a.b.e'), c('NOT_IN', 'a.b.c'), c('ENDS_WITH', 'd')], ['a.b'], { kind: 'list', namespaces: ['a.b.d'] }],
    ['a list and a prefix', [c('PREFIX', 'a.b.c'), c('IN', 'a.b.c.d', 'a.b.d')], ['a.b'], { kind: 'list', namespaces: ['a.b.c.d'] }],
    ['a list and a start', [c('STARTS_WITH', 'a.b.c'), c('IN', 'a.b.cd', 'a.b.d')], ['a.b'], { kind: 'list', namespaces: ['a.b.cd'] }],
    ['a list and a contains', [c('CONTAINS', 'x'), c('IN', 'a.b.x1', 'a.b.y')], ['a.b'], { kind: 'list', namespaces: ['a.b.x1'] }],
    ['an equality and a not-equal', [c('EQUALS', 'a.b.c'), c('NOT_EQUALS', 'a.b.c')], ['a.b'], { kind: 'none' }],
    ['two equalities that differ', [c('EQUALS', 'a.b'), c('EQUALS', 'a.b.c')], ['a.b'], { kind: 'none' }],
    ['a value that is no namespace', [c('EQUALS', 'a.b.C')], ['a.b'], { kind: 'none' }],
    ['a list across two roots', [c('IN', 'a.x', 'b.y', 'c')], ['a', 'b'], { kind: 'list', namespaces: ['a.x', 'b.y'] }],
  ])('%s', (_name, conditions, roots, expected) => {
    expect(intersectScope(conditions as NamespaceCondition[], roots)).toEqual(expected);
  });

  it('never yields a namespace outside the roots or outside what the caller asked for', () => {
    const seg = fc.constantFrom('a', 'b', 'ab', 'c');
    const ns = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => s.join('.'));
    const condition = fc.oneof(
      fc.tuple(fc.constantFrom('EQUALS', 'PREFIX', 'STARTS_WITH', 'NOT_EQUALS', 'ENDS_WITH', 'CONTAINS'), ns).map(([op, v]) => c(op, v)),
      fc.tuple(fc.constantFrom('IN', 'NOT_IN'), fc.array(ns, { minLength: 1, maxLength: 3 })).map(([op, vs]) => c(op, ...vs)),
    );
    const roots = fc.uniqueArray(ns, { maxLength: 3 }).map((rs) => rs.filter((r) => !rs.some((o) => o !== r && namespaceCovers(o, r))));
    fc.assert(
      fc.property(fc.array(condition, { maxLength: 3 }), roots, fc.array(ns, { minLength: 1, maxLength: 6 }), (conditions, rs, probes) => {
        const scope = intersectScope(conditions, rs);
        const narrowed = narrowQuery('', rs, conditions);
        if (!narrowed.ok) return;
        for (const probe of probes) {
          const inScope = scope.kind === 'list' ? scope.namespaces.includes(probe) : scope.kind === 'cone' ? (scope.cone.op === 'PREFIX' ? namespaceCovers(scope.cone.value, probe) : probe.startsWith(scope.cone.value)) : scope.kind === 'open';
          const passes = inScope && rs.some((r) => namespaceCovers(r, probe)) && narrowed.accepts(probe);
          const wanted = rs.some((r) => namespaceCovers(r, probe)) && narrowed.accepts(probe);
          // Exactly the wanted namespaces get through: what Kestra is asked for, then Perch's own filter.
          expect(passes).toBe(wanted);
          if (scope.kind === 'none') expect(wanted).toBe(false);
          // An exact answer is used as Kestra gives it (exports, writes by query): it may hold nothing unwanted.
          if (narrowed.exact && inScope) expect(wanted).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('narrowQuery', () => {
  it('keeps every other parameter as sent, in order, and adds one namespace filter last', () => {
    const narrowed = narrowQuery('page=2;filters[namespace][PREFIX]=a&q=x%20y&filters[state][IN]=FAILED', ['a.b']);
    expect(narrowed.ok && narrowed.query).toBe('page=2&q=x%20y&filters[state][IN]=FAILED&filters[namespace][PREFIX]=a.b');
  });

  it('adds nothing when no one filter expresses the scope, and says the answer must be filtered', () => {
    const narrowed = narrowQuery('filters[namespace][NOT_EQUALS]=a.x&size=3', ['a', 'b']);
    expect(narrowed.ok && narrowed.query).toBe('size=3');
    expect(narrowed.ok && narrowed.exact).toBe(false);
    expect(narrowed.ok && [narrowed.accepts('a.x'), narrowed.accepts('a.y')]).toEqual([false, true]);
  });

  it('sends the caller’s own prefix, computed, when it spans several roots', () => {
    const narrowed = narrowQuery('filters[namespace][PREFIX]=a', ['a.b', 'a.c']);
    expect(narrowed.ok && [narrowed.query, narrowed.exact]).toEqual(['filters[namespace][PREFIX]=a', false]);
  });

  it('reads IN lists as Kestra does (brackets dropped, comma-split, no trimming)', () => {
    const narrowed = narrowQuery('filters[namespace][IN]=[a.b, a.c,a.d]', ['a']);
    expect(narrowed.ok && narrowed.query).toBe('filters[namespace][IN]=a.b,a.d');
    expect(narrowed.ok && narrowed.exact).toBe(true);
  });

  it.each([
    ['namespace=a', /legacy namespace=/],
    ['filters[namespace][EQUALS][k]=a', /takes no key/],
    ['filters[namespace][GREATER_THAN]=a', /namespace GREATER_THAN filter/],
    ['filters[namespace][REGEX]=a.*', /namespace REGEX filter/],
    ['filters[namespace][IN]=a%252Cb', /may not contain "%"/],
    ['filters[or][0][namespace][EQUALS]=a', /only accepts plain/],
    ['filters[logical][EQUALS]=OR', /only accepts plain/],
    ['filters[namespace][EQUALS]=%zz', /not valid percent-encoding/],
  ])('refuses %s', (query, message) => {
    const narrowed = narrowQuery(query, ['a']);
    expect(narrowed.ok).toBe(false);
    expect(!narrowed.ok && narrowed.message).toMatch(message);
  });
});
