/**
 * Cases mutation testing found unpinned in backend/authz/decision-index.ts (issue 29), kept apart
 * from decision-index.test.ts: the version counter, and the plain path taken by a user with more
 * binding scopes than a 32-bit mask holds.
 */
import { describe, expect, it } from 'vitest';
import { DecisionIndex, type BindingFact } from '../../backend/authz/decision-index.js';

const T = 'main';
const VIEW_FLOWS = { FLOW: ['VIEW' as const] };
const flowViewer = (id: string, namespace: string | null): BindingFact =>
  ({ id, tenantId: T, subjectType: 'USER', subjectId: 'u1', namespace, permissions: VIEW_FLOWS });
/** More distinct scopes than the bit-mask path takes (31). */
const MANY = Array.from({ length: 33 }, (_, i) => `ns${String(i).padStart(2, '0')}`);

describe('DecisionIndex.version', () => {
  it('grows with every load and every change', () => {
    const index = new DecisionIndex();
    const seen = [index.version];
    index.load({ bindings: [flowViewer('b1', 'a')], memberships: [] });
    seen.push(index.version);
    index.load({ bindings: [], memberships: [] });
    seen.push(index.version);
    index.addBinding(flowViewer('b2', 'b'));
    seen.push(index.version);
    index.addMembership({ tenantId: T, groupId: 'g1', userId: 'u1' });
    seen.push(index.version);
    index.removeBinding('b2');
    seen.push(index.version);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
  });
});

describe('a user with more than 31 binding scopes', () => {
  it('keeps every namespace that grants the same action', () => {
    const index = new DecisionIndex({ bindings: MANY.map((ns, i) => flowViewer(`b${i}`, ns)), memberships: [] });
    for (const ns of MANY) expect(index.allows(T, 'u1', 'FLOW', 'VIEW', `${ns}.team`)).toBe(true);
    expect(index.allows(T, 'u1', 'FLOW', 'VIEW', 'other')).toBe(false);
    expect(index.scope(T, 'u1', 'FLOW', 'VIEW')).toEqual({ all: false, namespaces: MANY });
  });

  it('lets a tenant-wide binding win, whichever comes first', () => {
    for (const bindings of [
      [flowViewer('tw', null), ...MANY.map((ns, i) => flowViewer(`b${i}`, ns))],
      [...MANY.map((ns, i) => flowViewer(`b${i}`, ns)), flowViewer('tw', null)],
    ]) {
      const index = new DecisionIndex({ bindings, memberships: [] });
      expect(index.allows(T, 'u1', 'FLOW', 'VIEW', 'other')).toBe(true);
      expect(index.allows(T, 'u1', 'FLOW', 'VIEW', null)).toBe(true);
      expect(index.scope(T, 'u1', 'FLOW', 'VIEW')).toEqual({ all: true });
    }
  });
});
