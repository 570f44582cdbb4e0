import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DecisionIndex, MAX_DELETED_SUBJECTS, type AuthzFacts, type BindingFact, type MembershipFact, type NamespaceScope,
} from '../../backend/authz/decision-index.js';
import {
  ACTIONS, MANAGED_ROLES, NAMESPACE_SCOPED_RESOURCES, PERMISSION_CATALOGUE, RESOURCES, normalizePermissions,
  type Action, type Permissions, type Resource,
} from '../../lib/authz/catalogue.js';
import { namespaceCovers } from '../../lib/authz/namespaces.js';

const T = 'main';
const role = (id: string) => MANAGED_ROLES.find((r) => r.id === id)!.permissions;
const userBinding = (id: string, userId: string, namespace: string | null, permissions: Permissions, tenantId = T): BindingFact =>
  ({ id, tenantId, subjectType: 'USER', subjectId: userId, namespace, permissions });
const groupBinding = (id: string, groupId: string, namespace: string | null, permissions: Permissions, tenantId = T): BindingFact =>
  ({ id, tenantId, subjectType: 'GROUP', subjectId: groupId, namespace, permissions });
const member = (groupId: string, userId: string, tenantId = T): MembershipFact => ({ tenantId, groupId, userId });

/** Every (resource, action) pair of the catalogue. */
const ALL_PAIRS = RESOURCES.flatMap((r) => PERMISSION_CATALOGUE[r].map((a) => [r, a] as const));

// ---------------------------------------------------------------------------------------------
// The oracle: a deliberately naive evaluator that loops over every binding on every question.

class ReferenceEvaluator {
  constructor(private readonly facts: AuthzFacts) {}

  private applies(b: BindingFact, tenantId: string, userId: string): boolean {
    if (b.tenantId !== tenantId) return false;
    if (b.subjectType === 'USER') return b.subjectId === userId;
    return this.facts.memberships.some((m) => m.tenantId === tenantId && m.groupId === b.subjectId && m.userId === userId);
  }

  private granting(tenantId: string, userId: string, resource: Resource, action: Action): BindingFact[] {
    return this.facts.bindings.filter((b) => this.applies(b, tenantId, userId) && (b.permissions[resource] ?? []).includes(action));
  }

  allows(tenantId: string, userId: string, resource: Resource, action: Action, namespace: string | null): boolean {
    return this.granting(tenantId, userId, resource, action).some((b) =>
      b.namespace === null
      || (namespace !== null && NAMESPACE_SCOPED_RESOURCES.has(resource) && namespaceCovers(b.namespace, namespace)));
  }

  scope(tenantId: string, userId: string, resource: Resource, action: Action): NamespaceScope {
    const bindings = this.granting(tenantId, userId, resource, action);
    if (bindings.some((b) => b.namespace === null)) return { all: true };
    if (!NAMESPACE_SCOPED_RESOURCES.has(resource)) return { all: false, namespaces: [] };
    const roots = [...new Set(bindings.map((b) => b.namespace!))];
    return { all: false, namespaces: roots.filter((r) => !roots.some((o) => o !== r && namespaceCovers(o, r))).sort() };
  }

  holdsAll(tenantId: string, userId: string, permissions: Permissions, namespace: string | null) {
    const missing: Permissions = {};
    for (const [r, actions] of Object.entries(permissions) as [Resource, Action[]][]) {
      if (namespace !== null && !NAMESPACE_SCOPED_RESOURCES.has(r)) continue;
      const lacking = actions.filter((a) => !this.allows(tenantId, userId, r, a, namespace));
      if (lacking.length > 0) missing[r] = lacking;
    }
    const normalized = normalizePermissions(missing);
    return { ok: Object.keys(normalized).length === 0, missing: normalized };
  }
}

// ---------------------------------------------------------------------------------------------

describe('managed roles through the index', () => {
  const ROLE_IDS = MANAGED_ROLES.map((r) => r.id);

  it.each(ROLE_IDS)('%s bound on namespace "prod" grants its namespace resources under prod only', (id) => {
    const idx = new DecisionIndex({ bindings: [userBinding('b', 'alice', 'prod', role(id))], memberships: [] });
    for (const [r, a] of ALL_PAIRS) {
      const held = (role(id)[r] ?? []).includes(a);
      const scoped = NAMESPACE_SCOPED_RESOURCES.has(r);
      expect(idx.allows(T, 'alice', r, a, 'prod'), `${r}:${a} on prod`).toBe(held && scoped);
      expect(idx.allows(T, 'alice', r, a, 'prod.x.y'), `${r}:${a} on prod.x.y`).toBe(held && scoped);
      expect(idx.allows(T, 'alice', r, a, 'production'), `${r}:${a} on production`).toBe(false);
      expect(idx.allows(T, 'alice', r, a, 'dev'), `${r}:${a} on dev`).toBe(false);
      expect(idx.allows(T, 'alice', r, a, null), `${r}:${a} tenant-level`).toBe(false);
    }
  });

  it.each(ROLE_IDS)('%s bound tenant-wide grants exactly its permissions everywhere', (id) => {
    const idx = new DecisionIndex({ bindings: [userBinding('b', 'alice', null, role(id))], memberships: [] });
    for (const [r, a] of ALL_PAIRS) {
      const held = (role(id)[r] ?? []).includes(a);
      expect(idx.allows(T, 'alice', r, a, null), `${r}:${a}`).toBe(held);
      expect(idx.allows(T, 'alice', r, a, 'any.where'), `${r}:${a} in any.where`).toBe(held);
      expect(idx.allows('other', 'alice', r, a, null)).toBe(false);
      expect(idx.allows(T, 'bob', r, a, null)).toBe(false);
    }
  });

  it('reads as the docs describe them', () => {
    const idx = new DecisionIndex({
      bindings: [
        userBinding('1', 'viewer', 'prod', role('viewer')),
        userBinding('2', 'launcher', 'prod', role('launcher')),
        userBinding('3', 'admin', null, role('admin')),
        userBinding('4', 'editor', 'prod', role('editor')),
      ],
      memberships: [],
    });
    expect(idx.allows(T, 'viewer', 'FLOW', 'VIEW', 'prod.x')).toBe(true);
    expect(idx.allows(T, 'viewer', 'FLOW', 'UPDATE', 'prod.x')).toBe(false);
    expect(idx.allows(T, 'viewer', 'FLOW', 'VIEW', 'production')).toBe(false);
    expect(idx.allows(T, 'viewer', 'DASHBOARD', 'VIEW', null)).toBe(false);
    expect(idx.allows(T, 'viewer', 'EXECUTION', 'ACCESS_LOGS', 'prod')).toBe(true);
    expect(idx.allows(T, 'viewer', 'EXECUTION', 'KILL', 'prod')).toBe(false);
    expect(idx.allows(T, 'launcher', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(true);
    expect(idx.allows(T, 'launcher', 'FLOW', 'CREATE', 'prod.etl')).toBe(false);
    expect(idx.allows(T, 'launcher', 'EXECUTION', 'REPLAY', 'prod.etl')).toBe(true);
    // Launcher's DASHBOARD VIEW is a tenant-level resource: a namespaced binding does not grant it
    expect(idx.allows(T, 'launcher', 'DASHBOARD', 'VIEW', null)).toBe(false);
    expect(idx.allows(T, 'launcher', 'DASHBOARD', 'VIEW', 'prod')).toBe(false);
    expect(idx.allows(T, 'editor', 'SECRET', 'VIEW', 'prod')).toBe(false);
    expect(idx.allows(T, 'editor', 'FLOW', 'DELETE', 'prod')).toBe(true);
    for (const [r, a] of ALL_PAIRS) expect(idx.allows(T, 'admin', r, a, null), `${r}:${a}`).toBe(true);
    expect(idx.allows(T, 'admin', 'USER', 'IMPERSONATE', null)).toBe(true);
    expect(idx.allows(T, 'admin', 'FLOW', 'UPDATE', 'anything.at.all')).toBe(true);
  });

  it('denies unknown tenants, users, resources and actions by default', () => {
    const idx = new DecisionIndex();
    expect(idx.allows(T, 'nobody', 'FLOW', 'VIEW', 'prod')).toBe(false);
    expect(idx.scope(T, 'nobody', 'FLOW', 'VIEW')).toEqual({ all: false, namespaces: [] });
    expect(idx.effective(T, 'nobody')).toEqual({ tenantWide: {}, namespaces: {} });
    expect(idx.filterVisible(T, 'nobody', 'FLOW', 'VIEW', ['a', 'b'], (x) => x)).toEqual([]);
  });
});

describe('groups', () => {
  const facts = (): AuthzFacts => ({
    bindings: [
      groupBinding('g-viewers', 'readers', 'prod', role('viewer')),
      groupBinding('g-launch', 'ops', 'prod.etl', role('launcher')),
      userBinding('u-dash', 'carol', null, { DASHBOARD: ['VIEW'] }),
    ],
    memberships: [member('readers', 'alice'), member('ops', 'alice'), member('readers', 'carol')],
  });

  it('apply to members, with effective permissions the union of all bindings', () => {
    const idx = new DecisionIndex(facts());
    expect(idx.allows(T, 'alice', 'FLOW', 'VIEW', 'prod.web')).toBe(true);
    expect(idx.allows(T, 'alice', 'FLOW', 'EXECUTE', 'prod.etl.daily')).toBe(true);
    expect(idx.allows(T, 'alice', 'FLOW', 'EXECUTE', 'prod.web')).toBe(false);
    expect(idx.allows(T, 'carol', 'FLOW', 'VIEW', 'prod')).toBe(true);
    expect(idx.allows(T, 'carol', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(false);
    expect(idx.allows(T, 'carol', 'DASHBOARD', 'VIEW', null)).toBe(true);
    expect(idx.allows(T, 'bob', 'FLOW', 'VIEW', 'prod')).toBe(false);
    // a membership in another tenant does not carry over
    expect(idx.allows('other', 'alice', 'FLOW', 'VIEW', 'prod')).toBe(false);
  });

  it('stop applying when the membership, the binding or the group goes', () => {
    const idx = new DecisionIndex(facts());
    const v0 = idx.version;
    idx.removeMembership(T, 'ops', 'alice');
    expect(idx.version).toBeGreaterThan(v0);
    expect(idx.allows(T, 'alice', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(false);
    expect(idx.allows(T, 'alice', 'FLOW', 'VIEW', 'prod.etl')).toBe(true);
    idx.addMembership(member('ops', 'alice'));
    expect(idx.allows(T, 'alice', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(true);
    idx.removeBinding('g-launch');
    expect(idx.allows(T, 'alice', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(false);
    idx.removeSubject(T, 'GROUP', 'readers');
    expect(idx.allows(T, 'alice', 'FLOW', 'VIEW', 'prod')).toBe(false);
    expect(idx.allows(T, 'carol', 'FLOW', 'VIEW', 'prod')).toBe(false);
    expect(idx.allows(T, 'carol', 'DASHBOARD', 'VIEW', null)).toBe(true);
    // re-adding the membership does not resurrect the deleted group's bindings
    idx.addMembership(member('readers', 'carol'));
    expect(idx.allows(T, 'carol', 'FLOW', 'VIEW', 'prod')).toBe(false);
  });

  it('a deleted group’s id grants nothing again, even to stale memberships or a new binding on it', () => {
    const idx = new DecisionIndex(facts());
    idx.removeSubject(T, 'GROUP', 'readers');
    // A membership write that raced the deletion arrives late, then a binding names the same id.
    idx.addMembership(member('readers', 'carol'));
    idx.addBinding(groupBinding('g-late', 'readers', null, role('admin')));
    for (const who of ['alice', 'carol']) {
      expect(idx.allows(T, who, 'FLOW', 'VIEW', 'prod'), who).toBe(false);
      expect(idx.allows(T, who, 'USER', 'CREATE', null), who).toBe(false);
    }
    expect(idx.effective(T, 'carol').namespaces).toEqual({});
    // Nor does a reload that still carries them (read before the deletion committed).
    idx.load({ ...facts(), bindings: [...facts().bindings, groupBinding('g-late', 'readers', null, role('admin'))] });
    expect(idx.allows(T, 'alice', 'FLOW', 'VIEW', 'prod')).toBe(false);
    expect(idx.allows(T, 'carol', 'USER', 'CREATE', null)).toBe(false);
    // Other groups and the same id in another tenant are untouched.
    expect(idx.allows(T, 'alice', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(true);
    idx.addBinding(groupBinding('g-other', 'readers', 'prod', role('viewer'), 'other'));
    idx.addMembership(member('readers', 'carol', 'other'));
    expect(idx.allows('other', 'carol', 'FLOW', 'VIEW', 'prod')).toBe(true);
  });

  it('a deleted user’s id grants nothing again', () => {
    const idx = new DecisionIndex(facts());
    idx.removeSubject(T, 'USER', 'carol');
    idx.addBinding(userBinding('u-late', 'carol', null, role('admin')));
    idx.addMembership(member('ops', 'carol'));
    expect(idx.allows(T, 'carol', 'USER', 'CREATE', null)).toBe(false);
    expect(idx.allows(T, 'carol', 'FLOW', 'EXECUTE', 'prod.etl')).toBe(false);
  });

  it('remembers deleted subjects up to a bound, forgetting the oldest first', () => {
    const idx = new DecisionIndex();
    idx.removeSubject(T, 'GROUP', 'first');
    idx.removeSubject(T, 'GROUP', 'second');
    for (let i = 2; i < MAX_DELETED_SUBJECTS; i++) idx.removeSubject(T, 'GROUP', `g${i}`);
    // Deleting "first" again makes it the newest: "second" is now the oldest.
    idx.removeSubject(T, 'GROUP', 'first');
    let probe = 0;
    const regains = (group: string) => {
      const user = `zed${probe++}`;
      idx.addMembership(member(group, user));
      idx.addBinding(groupBinding(`b-${group}`, group, null, { FLOW: ['VIEW'] }));
      return idx.allows(T, user, 'FLOW', 'VIEW', 'x');
    };
    expect(regains('second')).toBe(false); // exactly MAX_DELETED_SUBJECTS remembered
    idx.removeSubject(T, 'GROUP', 'one-more');
    expect(regains('second')).toBe(true); // the oldest forgotten
    expect(regains('first')).toBe(false);
  });

  it('bumps its version by one on every load and every change, and only then (the reload loop relies on it)', () => {
    const idx = new DecisionIndex();
    expect(idx.version).toBe(0);
    idx.load(facts());
    expect(idx.version).toBe(1);
    idx.load(facts()); // a reload always counts, even with the same facts
    expect(idx.version).toBe(2);
    const steps: Array<[string, () => void, number]> = [
      ['addBinding', () => idx.addBinding(userBinding('u-new', 'bob', 'dev', role('viewer'))), 1],
      ['addBinding replacing', () => idx.addBinding(userBinding('u-new', 'bob', 'prod', role('viewer'))), 2],
      ['removeBinding', () => idx.removeBinding('u-new'), 1],
      ['removeBinding of an unknown id', () => idx.removeBinding('u-new'), 0],
      ['addMembership', () => idx.addMembership(member('ops', 'bob')), 1],
      ['removeMembership', () => idx.removeMembership(T, 'ops', 'bob'), 1],
      ['removeMembership in an unknown tenant', () => idx.removeMembership('nope', 'ops', 'bob'), 0],
      ['removeSubject', () => idx.removeSubject(T, 'GROUP', 'ops'), 1],
      ['removeSubject in an unknown tenant', () => idx.removeSubject('nope', 'GROUP', 'ops'), 0],
      ['addMembership to a deleted group', () => idx.addMembership(member('ops', 'bob')), 0],
      ['addBinding on a deleted group', () => idx.addBinding(groupBinding('g-x', 'ops', null, role('admin'))), 0],
    ];
    for (const [name, step, bump] of steps) {
      const before = idx.version;
      step();
      expect(idx.version - before, name).toBe(bump);
    }
  });

  it('a new group binding reaches every member', () => {
    const idx = new DecisionIndex(facts());
    idx.addBinding(groupBinding('g-admin', 'readers', null, role('admin')));
    expect(idx.allows(T, 'alice', 'USER', 'CREATE', null)).toBe(true);
    expect(idx.allows(T, 'carol', 'SECRET', 'DELETE', 'dev')).toBe(true);
  });

  it('removeSubject(USER) drops the user\'s bindings and memberships', () => {
    const idx = new DecisionIndex(facts());
    idx.removeSubject(T, 'USER', 'carol');
    expect(idx.allows(T, 'carol', 'DASHBOARD', 'VIEW', null)).toBe(false);
    expect(idx.allows(T, 'carol', 'FLOW', 'VIEW', 'prod')).toBe(false);
    expect(idx.allows(T, 'alice', 'FLOW', 'VIEW', 'prod')).toBe(true);
  });

  it('addBinding with a known id replaces the binding', () => {
    const idx = new DecisionIndex(facts());
    idx.addBinding(userBinding('u-dash', 'carol', null, { AUDITLOG: ['VIEW'] }));
    expect(idx.allows(T, 'carol', 'DASHBOARD', 'VIEW', null)).toBe(false);
    expect(idx.allows(T, 'carol', 'AUDITLOG', 'VIEW', null)).toBe(true);
  });
});

describe('scope, filterVisible, holdsAll, effective', () => {
  const idx = new DecisionIndex({
    bindings: [
      userBinding('1', 'alice', 'prod.web', role('viewer')),
      userBinding('2', 'alice', 'dev', role('viewer')),
      userBinding('3', 'alice', 'dev.sandbox', role('editor')),
      userBinding('4', 'alice', 'prod', { FLOW: ['VIEW'] }),
      userBinding('5', 'alice', null, { DASHBOARD: ['VIEW', 'LIST'], FLOW: ['LIST'] }),
      groupBinding('6', 'g', 'qa', { SECRET: ['VIEW'] }),
    ],
    memberships: [member('g', 'alice')],
  });

  it('scope gives the minimal sorted roots, or all', () => {
    expect(idx.scope(T, 'alice', 'FLOW', 'VIEW')).toEqual({ all: false, namespaces: ['dev', 'prod'] });
    expect(idx.scope(T, 'alice', 'FLOW', 'UPDATE')).toEqual({ all: false, namespaces: ['dev.sandbox'] });
    expect(idx.scope(T, 'alice', 'FLOW', 'LIST')).toEqual({ all: true });
    expect(idx.scope(T, 'alice', 'SECRET', 'VIEW')).toEqual({ all: false, namespaces: ['qa'] });
    expect(idx.scope(T, 'alice', 'USER', 'VIEW')).toEqual({ all: false, namespaces: [] });
    const s = idx.scope(T, 'alice', 'FLOW', 'VIEW');
    if (!s.all) s.namespaces.push('mutated');
    expect(idx.scope(T, 'alice', 'FLOW', 'VIEW')).toEqual({ all: false, namespaces: ['dev', 'prod'] });
  });

  it('filterVisible keeps the items in covered namespaces, in order', () => {
    const flows = ['prod.web', 'production', 'dev.sandbox.x', 'qa', 'prod', 'prod.web', 'de'].map((namespace, i) => ({ i, namespace }));
    expect(idx.filterVisible(T, 'alice', 'FLOW', 'VIEW', flows, (f) => f.namespace).map((f) => f.i)).toEqual([0, 2, 4, 5]);
    expect(idx.filterVisible(T, 'alice', 'FLOW', 'UPDATE', flows, (f) => f.namespace).map((f) => f.i)).toEqual([2]);
    const all = idx.filterVisible(T, 'alice', 'FLOW', 'LIST', flows, (f) => f.namespace);
    expect(all).toEqual(flows);
    expect(all).not.toBe(flows);
  });

  it('holdsAll reports what the granter lacks at that scope', () => {
    expect(idx.holdsAll(T, 'alice', role('viewer'), 'dev.team')).toEqual({ ok: true, missing: {} });
    expect(idx.holdsAll(T, 'alice', role('editor'), 'dev.sandbox')).toEqual({ ok: true, missing: {} });
    const atDev = idx.holdsAll(T, 'alice', { FLOW: ['VIEW', 'UPDATE'] }, 'dev');
    expect(atDev).toEqual({ ok: false, missing: { FLOW: ['UPDATE'] } });
    // tenant-level resources in a namespaced binding confer nothing, so they are not escalation
    expect(idx.holdsAll(T, 'alice', { FLOW: ['VIEW'], USER: ['DELETE'] }, 'prod')).toEqual({ ok: true, missing: {} });
    // tenant-wide, everything counts
    expect(idx.holdsAll(T, 'alice', { FLOW: ['VIEW', 'LIST'], DASHBOARD: ['VIEW'], USER: ['DELETE'] }, null))
      .toEqual({ ok: false, missing: { FLOW: ['VIEW'], USER: ['DELETE'] } });
    expect(idx.holdsAll(T, 'nobody', {}, null)).toEqual({ ok: true, missing: {} });
  });

  it('effective lists tenant-wide actions and the rest per namespace root', () => {
    const { tenantWide, namespaces } = idx.effective(T, 'alice');
    expect(tenantWide).toEqual({ FLOW: ['LIST'], DASHBOARD: ['VIEW', 'LIST'] });
    expect(Object.keys(namespaces)).toEqual(['dev', 'dev.sandbox', 'prod', 'prod.web', 'qa']);
    expect(namespaces.prod).toEqual({ FLOW: ['VIEW'] });
    expect(namespaces.qa).toEqual({ SECRET: ['VIEW'] });
    expect(namespaces['dev.sandbox']?.FLOW).toContain('UPDATE');
    expect(namespaces['dev.sandbox']?.FLOW).not.toContain('VIEW'); // already held at dev
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based: the index against the naive evaluator.

const TENANTS = ['t1', 't2'];
const USERS = ['u1', 'u2', 'u3', 'u4'];
const GROUPS = ['g1', 'g2', 'g3'];
const PROP_RESOURCES: Resource[] = ['FLOW', 'SECRET', 'DASHBOARD', 'USER'];
const PROP_ACTIONS: Action[] = ['VIEW', 'LIST', 'UPDATE', 'DELETE'];
// segments chosen so that prefixes collide ("a" vs "ab"), namespaces up to three deep
const SEGMENTS = ['a', 'ab', 'b'];
const NAMESPACES = [...new Set(SEGMENTS.flatMap((x) => [x, ...SEGMENTS.flatMap((y) => [`${x}.${y}`, ...SEGMENTS.map((z) => `${x}.${y}.${z}`)])]))];
const namespaceArb = fc.constantFrom(...NAMESPACES);

const permissionsArb: fc.Arbitrary<Permissions> = fc.record(
  Object.fromEntries(PROP_RESOURCES.map((r) => [r, fc.subarray(PROP_ACTIONS, { minLength: 1 })])),
  { requiredKeys: [] },
);
const subjectArb = fc.oneof(
  fc.record({ subjectType: fc.constant('USER' as const), subjectId: fc.constantFrom(...USERS) }),
  fc.record({ subjectType: fc.constant('GROUP' as const), subjectId: fc.constantFrom(...GROUPS) }),
);
const bindingArb = (id: fc.Arbitrary<string>): fc.Arbitrary<BindingFact> => fc.record({
  id,
  tenantId: fc.constantFrom(...TENANTS),
  subject: subjectArb,
  namespace: fc.option(namespaceArb, { freq: 4 }),
  permissions: permissionsArb,
}).map(({ subject, ...b }) => ({ ...b, ...subject }));
const membershipArb: fc.Arbitrary<MembershipFact> = fc.record({
  tenantId: fc.constantFrom(...TENANTS),
  groupId: fc.constantFrom(...GROUPS),
  userId: fc.constantFrom(...USERS),
});
const factsArb: fc.Arbitrary<AuthzFacts> = fc.record({
  bindings: fc.array(bindingArb(fc.constant('')), { maxLength: 40 }).map((bs) => bs.map((b, i) => ({ ...b, id: `b${i}` }))),
  memberships: fc.array(membershipArb, { maxLength: 12 }),
});

const QUERY_NAMESPACES = [null, ...NAMESPACES, 'abc', 'b.a.b.a'];

/** Collects disagreements and asserts once: an expect() per question would dominate the run time. */
function expectSameDecisions(idx: DecisionIndex, ref: ReferenceEvaluator): void {
  const disagreements: string[] = [];
  for (const t of [...TENANTS, 'nope']) for (const u of [...USERS, 'stranger']) for (const r of PROP_RESOURCES) for (const a of PROP_ACTIONS) {
    const [got, want] = [idx.scope(t, u, r, a), ref.scope(t, u, r, a)];
    if (JSON.stringify(got) !== JSON.stringify(want)) disagreements.push(`scope ${t} ${u} ${r}:${a} ${JSON.stringify(got)}`);
    for (const ns of QUERY_NAMESPACES) {
      if (idx.allows(t, u, r, a, ns) !== ref.allows(t, u, r, a, ns)) disagreements.push(`allows ${t} ${u} ${r}:${a} ${ns}`);
    }
  }
  expect(disagreements).toEqual([]);
}

type Patch =
  | { op: 'addBinding'; binding: BindingFact }
  | { op: 'removeBinding'; id: string }
  | { op: 'addMembership'; membership: MembershipFact }
  | { op: 'removeMembership'; membership: MembershipFact }
  | { op: 'removeSubject'; tenantId: string; subjectType: 'USER' | 'GROUP'; subjectId: string };

const bindingIdArb = fc.constantFrom(...Array.from({ length: 12 }, (_, i) => `b${i}`));
const patchArb: fc.Arbitrary<Patch> = fc.oneof(
  { arbitrary: bindingArb(bindingIdArb).map((binding) => ({ op: 'addBinding' as const, binding })), weight: 4 },
  { arbitrary: bindingIdArb.map((id) => ({ op: 'removeBinding' as const, id })), weight: 2 },
  { arbitrary: membershipArb.map((membership) => ({ op: 'addMembership' as const, membership })), weight: 3 },
  { arbitrary: membershipArb.map((membership) => ({ op: 'removeMembership' as const, membership })), weight: 2 },
  {
    arbitrary: fc.record({ tenantId: fc.constantFrom(...TENANTS), group: fc.boolean(), u: fc.constantFrom(...USERS), g: fc.constantFrom(...GROUPS) })
      .map(({ tenantId, group, u, g }) => ({ op: 'removeSubject' as const, tenantId, subjectType: group ? 'GROUP' as const : 'USER' as const, subjectId: group ? g : u })),
    weight: 1,
  },
);

/**
 * What the facts are after a patch: the model the index must agree with. A deleted user or group
 * (`deleted`, updated here) is gone for good: ids are never reused, so later patches naming it are stale.
 */
function applyToFacts(facts: AuthzFacts, p: Patch, deleted: Set<string>): AuthzFacts {
  const sameMembership = (a: MembershipFact, b: MembershipFact) => a.tenantId === b.tenantId && a.groupId === b.groupId && a.userId === b.userId;
  const gone = (tenantId: string, type: string, id: string) => deleted.has(`${tenantId}/${type}/${id}`);
  switch (p.op) {
    case 'addBinding':
      if (gone(p.binding.tenantId, p.binding.subjectType, p.binding.subjectId)) return facts;
      return { ...facts, bindings: [...facts.bindings.filter((b) => b.id !== p.binding.id), p.binding] };
    case 'removeBinding': return { ...facts, bindings: facts.bindings.filter((b) => b.id !== p.id) };
    case 'addMembership':
      if (gone(p.membership.tenantId, 'GROUP', p.membership.groupId) || gone(p.membership.tenantId, 'USER', p.membership.userId)) return facts;
      return { ...facts, memberships: [...facts.memberships.filter((m) => !sameMembership(m, p.membership)), p.membership] };
    case 'removeMembership': return { ...facts, memberships: facts.memberships.filter((m) => !sameMembership(m, p.membership)) };
    case 'removeSubject':
      deleted.add(`${p.tenantId}/${p.subjectType}/${p.subjectId}`);
      return {
      bindings: facts.bindings.filter((b) => !(b.tenantId === p.tenantId && b.subjectType === p.subjectType && b.subjectId === p.subjectId)),
      memberships: facts.memberships.filter((m) => !(m.tenantId === p.tenantId && (p.subjectType === 'USER' ? m.userId : m.groupId) === p.subjectId)),
    };
  }
}

function applyToIndex(idx: DecisionIndex, p: Patch): void {
  switch (p.op) {
    case 'addBinding': return idx.addBinding(p.binding);
    case 'removeBinding': return idx.removeBinding(p.id);
    case 'addMembership': return idx.addMembership(p.membership);
    case 'removeMembership': return idx.removeMembership(p.membership.tenantId, p.membership.groupId, p.membership.userId);
    case 'removeSubject': return idx.removeSubject(p.tenantId, p.subjectType, p.subjectId);
  }
}

describe('properties against the naive evaluator', () => {
  it('allows and scope agree on random facts', () => {
    fc.assert(fc.property(factsArb, (facts) => {
      expectSameDecisions(new DecisionIndex(facts), new ReferenceEvaluator(facts));
    }), { numRuns: 150 });
  });

  it('agrees for users with many roots and many binding scopes (the ancestor-lookup and plain paths)', () => {
    // up to 39 distinct namespaces for one user: more than 8 roots per grant, more than 31 scopes
    const many = fc.record({
      bindings: fc.uniqueArray(namespaceArb, { minLength: 9, maxLength: 39 }).chain((nss) =>
        fc.tuple(...nss.map(() => permissionsArb)).map((perms) => [
          ...nss.map((ns, i) => userBinding(`b${i}`, 'u1', ns, perms[i]!, 't1')),
          groupBinding('tw', 'g1', null, { SECRET: ['VIEW'] }, 't1'),
        ])),
      memberships: fc.constant<MembershipFact[]>([member('g1', 'u1', 't1')]),
    });
    fc.assert(fc.property(many, (facts) => {
      expectSameDecisions(new DecisionIndex(facts), new ReferenceEvaluator(facts));
    }), { numRuns: 80 });
  });

  it('keeps scopes past the 31st apart', () => {
    const nss = NAMESPACES.slice(0, 36);
    const bindings = nss.map((ns, i) => userBinding(`b${i}`, 'u1', ns, { FLOW: i === 33 ? ['VIEW', 'UPDATE'] : ['VIEW'] }, 't1'));
    const idx = new DecisionIndex({ bindings, memberships: [] });
    const ref = new ReferenceEvaluator({ bindings, memberships: [] });
    for (const ns of QUERY_NAMESPACES) expect(idx.allows('t1', 'u1', 'FLOW', 'UPDATE', ns), String(ns)).toBe(ref.allows('t1', 'u1', 'FLOW', 'UPDATE', ns));
    expect(idx.scope('t1', 'u1', 'FLOW', 'UPDATE')).toEqual({ all: false, namespaces: [nss[33]] });
  });

  /** Every question about `user` for these pairs and namespaces, answered by the index and the oracle alike. */
  function expectAgreement(facts: AuthzFacts, pairs: readonly (readonly [Resource, Action])[], namespaces: readonly (string | null)[], user = 'u1', tenant = 't1') {
    const idx = new DecisionIndex(facts);
    const ref = new ReferenceEvaluator(facts);
    const disagreements: string[] = [];
    for (const [r, a] of pairs) {
      if (JSON.stringify(idx.scope(tenant, user, r, a)) !== JSON.stringify(ref.scope(tenant, user, r, a))) disagreements.push(`scope ${r}:${a}`);
      for (const ns of namespaces) if (idx.allows(tenant, user, r, a, ns) !== ref.allows(tenant, user, r, a, ns)) disagreements.push(`allows ${r}:${a} ${ns}`);
    }
    expect(disagreements).toEqual([]);
    return idx;
  }

  it.each([30, 31, 32, 33, 40])('with %i namespace scopes and a tenant-wide binding, before or after them, the tenant-wide one wins', (count) => {
    const nss = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? `n${i}` : `n${i - (i % 3)}.s${i}`));
    for (const first of [true, false]) {
      const namespaced = nss.map((ns, i) => userBinding(`b${i}`, 'u1', ns, { FLOW: ['VIEW', 'UPDATE'], SECRET: i % 2 ? ['VIEW'] : ['LIST'] }, 't1'));
      const tenantWide = userBinding('tw', 'u1', null, { FLOW: ['UPDATE'], SECRET: ['LIST'], AUDITLOG: ['VIEW'] }, 't1');
      const bindings = first ? [tenantWide, ...namespaced] : [...namespaced, tenantWide];
      const idx = expectAgreement({ bindings, memberships: [] }, [['FLOW', 'VIEW'], ['FLOW', 'UPDATE'], ['SECRET', 'VIEW'], ['SECRET', 'LIST'], ['AUDITLOG', 'VIEW']], [null, ...nss, 'elsewhere', `${nss[count - 1]}.deeper`]);
      expect(idx.scope('t1', 'u1', 'FLOW', 'UPDATE')).toEqual({ all: true });
      expect(idx.allows('t1', 'u1', 'FLOW', 'UPDATE', 'elsewhere')).toBe(true);
      expect(idx.allows('t1', 'u1', 'FLOW', 'VIEW', 'elsewhere')).toBe(false);
      expect(idx.scope('t1', 'u1', 'FLOW', 'VIEW')).toEqual({ all: false, namespaces: nss.filter((ns) => !ns.includes('.')).sort() });
      expect(idx.allows('t1', 'u1', 'AUDITLOG', 'VIEW', null)).toBe(true);
    }
  });

  it('holds the most grants a person can have: every namespaced pair its own set of roots (byte-sized slots)', () => {
    // Every (namespace-scoped resource, action) pair, catalogue or not: 248 pairs, each given a distinct
    // subset of 8 namespaces (a distinct mask), plus tenant-wide grants: 249 distinct grants for one person.
    const scoped = RESOURCES.filter((r) => NAMESPACE_SCOPED_RESOURCES.has(r));
    const pairs = scoped.flatMap((r) => ACTIONS.map((a) => [r, a] as const));
    expect(pairs.length).toBeGreaterThan(200);
    const nss = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5.x', 'p6', 'p6.y'];
    const bindings = nss.map((ns, bit) => {
      const permissions: Permissions = {};
      pairs.forEach(([r, a], k) => { if (((k + 1) & (1 << bit)) !== 0) (permissions[r] ??= []).push(a); });
      return userBinding(`b${bit}`, 'u1', ns, permissions, 't1');
    });
    bindings.push(userBinding('tw', 'u1', null, { AUDITLOG: ['VIEW'], USER: ['CREATE'] }, 't1'));
    const all = [...pairs, ['AUDITLOG', 'VIEW'] as const, ['USER', 'CREATE'] as const, ['USER', 'DELETE'] as const];
    expectAgreement({ bindings, memberships: [] }, all, [null, ...nss, 'p5', 'p6.y.z', 'p7']);
    // The same number of grants by the plain path (more than 31 scopes).
    const many = Array.from({ length: 40 }, (_, i) => `q${i}`);
    const plain = many.map((ns, i) => {
      const permissions: Permissions = {};
      pairs.forEach(([r, a], k) => { if ((k + i) % 5 === 0 || k % 40 === i) (permissions[r] ??= []).push(a); });
      return userBinding(`c${i}`, 'u1', ns, permissions, 't1');
    });
    expectAgreement({ bindings: plain, memberships: [] }, pairs, [null, ...many, 'q400']);
  });

  it('agrees for a person with more than 255 bindings, direct and through groups', () => {
    const nss = NAMESPACES;
    const bindings: BindingFact[] = [];
    for (let i = 0; i < 300; i++) {
      const subject = i % 3 === 0 ? groupBinding : userBinding;
      const ns = i % 50 === 0 ? null : nss[i % nss.length]!;
      const resource = PROP_RESOURCES[i % PROP_RESOURCES.length]!;
      bindings.push(subject(`m${i}`, i % 3 === 0 ? `grp${i % 4}` : 'u1', ns, { [resource]: [PROP_ACTIONS[i % PROP_ACTIONS.length]!] }, 't1'));
    }
    const memberships = [0, 1, 2].map((g) => member(`grp${g}`, 'u1', 't1'));
    expectAgreement({ bindings, memberships }, PROP_RESOURCES.flatMap((r) => PROP_ACTIONS.map((a) => [r, a] as const)), QUERY_NAMESPACES);
  });

  it('filterVisible and holdsAll agree', () => {
    const items = fc.array(fc.constantFrom(...NAMESPACES, 'abc'), { maxLength: 30 });
    fc.assert(fc.property(factsArb, items, permissionsArb, fc.option(namespaceArb), (facts, namespaces, wanted, at) => {
      const idx = new DecisionIndex(facts);
      const ref = new ReferenceEvaluator(facts);
      for (const u of USERS) for (const r of PROP_RESOURCES) {
        expect(idx.filterVisible('t1', u, r, 'VIEW', namespaces, (n) => n)).toEqual(namespaces.filter((n) => ref.allows('t1', u, r, 'VIEW', n)));
      }
      for (const u of USERS) expect(idx.holdsAll('t1', u, wanted, at)).toEqual(ref.holdsAll('t1', u, wanted, at));
    }), { numRuns: 100 });
  });

  it('effective describes exactly what allows grants', () => {
    fc.assert(fc.property(factsArb, (facts) => {
      const idx = new DecisionIndex(facts);
      const disagreements: string[] = [];
      for (const t of TENANTS) for (const u of USERS) {
        const { tenantWide, namespaces } = idx.effective(t, u);
        for (const r of PROP_RESOURCES) for (const a of PROP_ACTIONS) for (const ns of QUERY_NAMESPACES) {
          const viaEffective = (tenantWide[r] ?? []).includes(a)
            || (ns !== null && Object.entries(namespaces).some(([root, p]) => namespaceCovers(root, ns) && (p[r] ?? []).includes(a)));
          if (viaEffective !== idx.allows(t, u, r, a, ns)) disagreements.push(`${t} ${u} ${r}:${a} ${ns}`);
        }
      }
      expect(disagreements).toEqual([]);
    }), { numRuns: 80 });
  });

  it('after random patches, matches the naive evaluator and a fresh load', () => {
    fc.assert(fc.property(factsArb, fc.array(patchArb, { maxLength: 25 }), (initial, patches) => {
      const idx = new DecisionIndex(initial);
      let facts = initial;
      let version = idx.version;
      const deleted = new Set<string>();
      for (const p of patches) {
        applyToIndex(idx, p);
        facts = applyToFacts(facts, p, deleted);
        expect(idx.version).toBeGreaterThanOrEqual(version);
        version = idx.version;
      }
      expectSameDecisions(idx, new ReferenceEvaluator(facts));
      const fresh = new DecisionIndex(facts);
      for (const t of TENANTS) for (const u of USERS) expect(idx.effective(t, u)).toEqual(fresh.effective(t, u));
    }), { numRuns: 120 });
  });

  it('is monotone: adding a binding or membership never removes access, removing never adds', () => {
    const query = fc.record({
      t: fc.constantFrom(...TENANTS), u: fc.constantFrom(...USERS), r: fc.constantFrom(...PROP_RESOURCES),
      a: fc.constantFrom(...PROP_ACTIONS), ns: fc.constantFrom(...QUERY_NAMESPACES),
    });
    fc.assert(fc.property(factsArb, bindingArb(fc.constant('extra')), membershipArb, fc.array(query, { minLength: 20, maxLength: 60 }),
      (facts, extra, extraMembership, queries) => {
        const idx = new DecisionIndex(facts);
        const before = queries.map((q) => idx.allows(q.t, q.u, q.r, q.a, q.ns));
        idx.addBinding(extra);
        idx.addMembership(extraMembership);
        const grown = queries.map((q) => idx.allows(q.t, q.u, q.r, q.a, q.ns));
        before.forEach((allowed, i) => { if (allowed) expect(grown[i]).toBe(true); });
        idx.removeBinding(facts.bindings[0]?.id ?? 'none');
        idx.removeMembership(extraMembership.tenantId, extraMembership.groupId, extraMembership.userId);
        const shrunk = queries.map((q) => idx.allows(q.t, q.u, q.r, q.a, q.ns));
        grown.forEach((allowed, i) => { if (!allowed) expect(shrunk[i]).toBe(false); });
      }), { numRuns: 150 });
  });
});
