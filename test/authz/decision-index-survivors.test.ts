/**
 * More cases mutation testing found unpinned in backend/authz/decision-index.ts (issue 29): deleted
 * subjects across a reload and past the memory of deletions, names outside the catalogue, a person
 * granted every pair, and a namespace that starts with a dot on the ancestor-lookup path.
 */
import { describe, expect, it } from 'vitest';
import { DecisionIndex, MAX_DELETED_SUBJECTS, type BindingFact } from '../../backend/authz/decision-index.js';
import { ACTIONS, RESOURCES, type Action, type Permissions, type Resource } from '../../lib/authz/catalogue.js';

const T = 'main';
const VIEW_FLOWS: Permissions = { FLOW: ['VIEW'] };
const binding = (id: string, subjectType: 'USER' | 'GROUP', subjectId: string, namespace: string | null, permissions = VIEW_FLOWS): BindingFact =>
  ({ id, tenantId: T, subjectType, subjectId, namespace, permissions });

describe('deleted users and groups', () => {
  it('stay deleted when a reload still lists their bindings or memberships (a read that raced the deletion)', () => {
    const index = new DecisionIndex();
    index.removeSubject(T, 'USER', 'gone');
    index.removeSubject(T, 'GROUP', 'old-group');
    index.load({
      bindings: [binding('b1', 'USER', 'gone', null), binding('b2', 'GROUP', 'team', null), binding('b3', 'GROUP', 'old-group', null)],
      memberships: [{ tenantId: T, groupId: 'team', userId: 'gone' }, { tenantId: T, groupId: 'old-group', userId: 'ana' }],
    });
    expect(index.allows(T, 'gone', 'FLOW', 'VIEW', 'any')).toBe(false);
    expect(index.allows(T, 'ana', 'FLOW', 'VIEW', 'any')).toBe(false);
    expect(index.effective(T, 'gone')).toEqual({ tenantWide: {}, namespaces: {} });
  });

  it('a deleted group leaves no membership behind, even once the index has forgotten the deletion', () => {
    const index = new DecisionIndex({
      bindings: [binding('b1', 'GROUP', 'g', 'a')],
      memberships: [{ tenantId: T, groupId: 'g', userId: 'ana' }],
    });
    expect(index.allows(T, 'ana', 'FLOW', 'VIEW', 'a.b')).toBe(true);
    index.removeSubject(T, 'GROUP', 'g');
    // Enough later deletions to push the group out of the bounded memory of deleted subjects.
    for (let i = 0; i < MAX_DELETED_SUBJECTS; i++) index.removeSubject(T, 'USER', `other-${i}`);
    index.addBinding(binding('b2', 'GROUP', 'g', null));
    expect(index.allows(T, 'ana', 'FLOW', 'VIEW', 'a.b')).toBe(false);
    expect(index.allows(T, 'ana', 'FLOW', 'VIEW', 'z')).toBe(false);
  });
});

describe('names outside the catalogue', () => {
  it('grant nothing, not even the pair a wrong offset would land on', () => {
    const first = RESOURCES[0]!;
    const index = new DecisionIndex({
      bindings: [binding('b1', 'USER', 'ana', null, { ['NOT_A_RESOURCE' as Resource]: ['VIEW'], [first]: ['NOT_AN_ACTION' as Action] } as Permissions)],
      memberships: [],
    });
    for (const resource of RESOURCES) for (const action of ACTIONS) expect(index.allows(T, 'ana', resource, action, null)).toBe(false);
    expect(index.effective(T, 'ana')).toEqual({ tenantWide: {}, namespaces: {} });
  });
});

describe('a person granted every (resource, action) pair tenant-wide', () => {
  it('is allowed every one of them (more pairs than a byte counts)', () => {
    const everything = Object.fromEntries(RESOURCES.map((r) => [r, [...ACTIONS]])) as Permissions;
    expect(RESOURCES.length * ACTIONS.length).toBeGreaterThan(255);
    const index = new DecisionIndex({ bindings: [binding('all', 'USER', 'root', null, everything)], memberships: [] });
    for (const resource of RESOURCES) for (const action of ACTIONS) expect(index.allows(T, 'root', resource, action, 'any.where')).toBe(true);
  });
});

describe('a namespace that starts with a dot', () => {
  it('is answered, not looped on, for a person with many roots (the ancestor lookup)', () => {
    const roots = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const index = new DecisionIndex({ bindings: roots.map((ns, i) => binding(`b${i}`, 'USER', 'ana', ns)), memberships: [] });
    expect(index.allows(T, 'ana', 'FLOW', 'VIEW', '.r1')).toBe(false);
    expect(index.allows(T, 'ana', 'FLOW', 'VIEW', 'r1.x')).toBe(true);
  });
});
