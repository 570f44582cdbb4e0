import {
  ACTIONS, NAMESPACE_SCOPED_RESOURCES, RESOURCES, normalizePermissions,
  type Action, type Permissions, type Resource,
} from '../../lib/authz/catalogue.js';
import { namespaceCovers } from '../../lib/authz/namespaces.js';

/** A binding with its role's permissions already resolved (bindings are immutable in Kestra EE). */
export interface BindingFact {
  id: string;
  tenantId: string;
  subjectType: 'USER' | 'GROUP';
  subjectId: string;
  /** null = tenant-wide. */
  namespace: string | null;
  permissions: Permissions;
}

export interface MembershipFact { tenantId: string; groupId: string; userId: string }

export interface AuthzFacts { bindings: BindingFact[]; memberships: MembershipFact[] }

export type NamespaceScope = { all: true } | { all: false; namespaces: string[] /* minimal set of covering roots, sorted */ };

// ---------------------------------------------------------------------------------------------
// Grants: where one (user, resource, action) is allowed.

/** Everywhere in the tenant, or under a minimal, sorted set of namespace roots (no root covers another). */
interface Grant {
  readonly tenantWide: boolean;
  readonly roots: readonly string[];
  /** Only with many roots: the decision then looks the target's ancestors up instead of scanning. */
  readonly rootSet: ReadonlySet<string> | null;
}

/** Up to this many roots a linear scan with startsWith is as fast as the ancestor lookups. */
const LINEAR_SCAN_MAX_ROOTS = 8;

const TENANT_WIDE: Grant = Object.freeze({ tenantWide: true, roots: Object.freeze([]), rootSet: null });

/**
 * `a.b.c` → [`a.b.c`, `a.b`, `a`], remembered: the same namespaces are asked about over and over,
 * and slicing fresh parent strings on every decision (new strings to hash) cost more than the lookups.
 */
const selfAndAncestorsMemo = new Map<string, readonly string[]>();
const SELF_AND_ANCESTORS_MEMO_MAX = 20_000;

function selfAndAncestors(ns: string): readonly string[] {
  let chain = selfAndAncestorsMemo.get(ns);
  if (chain === undefined) {
    const list = [ns];
    for (let end = ns.lastIndexOf('.'); end >= 0; end = end === 0 ? -1 : ns.lastIndexOf('.', end - 1)) list.push(ns.slice(0, end));
    if (selfAndAncestorsMemo.size >= SELF_AND_ANCESTORS_MEMO_MAX) selfAndAncestorsMemo.clear();
    selfAndAncestorsMemo.set(ns, (chain = list));
  }
  return chain;
}

function grantCovers(grant: Grant, namespace: string): boolean {
  const { rootSet } = grant;
  if (rootSet !== null) {
    for (const ns of selfAndAncestors(namespace)) if (rootSet.has(ns)) return true;
    return false;
  }
  for (const root of grant.roots) if (namespaceCovers(root, namespace)) return true;
  return false;
}

/** Drops every root that another root already covers; sorted by code unit. Input is distinct. */
function minimalRoots(roots: readonly string[]): string[] {
  return roots.filter((root) => !roots.some((other) => other !== root && namespaceCovers(other, root))).sort();
}

/** `roots` must already be minimal and sorted. */
function namespaceGrant(roots: readonly string[]): Grant {
  return Object.freeze({
    tenantWide: false,
    roots: Object.freeze(roots),
    rootSet: roots.length > LINEAR_SCAN_MAX_ROOTS ? new Set(roots) : null,
  });
}

// ---------------------------------------------------------------------------------------------
// (resource, action) pairs as small integers, and one user's compiled answers.

const PAIR_COUNT = RESOURCES.length * ACTIONS.length;
const RESOURCE_BASE: ReadonlyMap<string, number> = new Map(RESOURCES.map((r, i) => [r, i * ACTIONS.length]));
const ACTION_OFFSET: ReadonlyMap<string, number> = new Map(ACTIONS.map((a, i) => [a, i]));

/** -1 for names outside the catalogue. */
function pairId(resource: Resource, action: Action): number {
  const base = RESOURCE_BASE.get(resource);
  const offset = ACTION_OFFSET.get(action);
  return base === undefined || offset === undefined ? -1 : base + offset;
}
const resourceOfPair = (id: number) => RESOURCES[Math.floor(id / ACTIONS.length)]!;
const actionOfPair = (id: number) => ACTIONS[id % ACTIONS.length]!;

/**
 * One user's answers: pair id → slot in `grants`, 0 = denied. One byte per pair keeps the table
 * contiguous and small (775 B), cheaper to build and to read than a map per user.
 */
interface CompiledUser {
  readonly slots: Uint8Array;
  readonly grants: readonly (Grant | undefined)[];
}

// A byte per slot is enough: a user has at most one namespaced grant per namespace-scoped pair, plus TENANT_WIDE.
if (NAMESPACE_SCOPED_RESOURCES.size * ACTIONS.length + 1 > 0xff) throw new Error('CompiledUser slots no longer fit in a byte');

class CompiledUserBuilder {
  private readonly slots = new Uint8Array(PAIR_COUNT);
  private readonly grants: (Grant | undefined)[] = [undefined];
  private readonly slotOf = new Map<Grant, number>();

  set(id: number, grant: Grant): void {
    let slot = this.slotOf.get(grant);
    if (slot === undefined) {
      this.slotOf.set(grant, (slot = this.grants.length));
      this.grants.push(grant);
    }
    this.slots[id] = slot;
  }

  build(): CompiledUser | undefined {
    return this.grants.length > 1 ? { slots: this.slots, grants: this.grants } : undefined;
  }
}

/** A binding as kept: a copy (later edits to the caller's object cannot leak in) with the pairs it grants worked out. */
interface StoredBinding extends Readonly<Omit<BindingFact, 'permissions'>> {
  readonly pairs: readonly number[];
}

/** The pairs granted tenant-wide, and the subset a namespaced binding grants (tenant-level resources excluded). */
interface GrantedPairs { readonly tenantWide: readonly number[]; readonly namespaced: readonly number[] }

function grantedPairs(permissions: Permissions): GrantedPairs {
  const tenantWide = new Set<number>();
  const namespaced = new Set<number>();
  for (const [resource, actions] of Object.entries(permissions) as [Resource, Action[] | undefined][]) {
    for (const action of actions ?? []) {
      const id = pairId(resource, action);
      if (id < 0) continue;
      tenantWide.add(id);
      if (NAMESPACE_SCOPED_RESOURCES.has(resource)) namespaced.add(id);
    }
  }
  return { tenantWide: [...tenantWide], namespaced: [...namespaced] };
}

/** Bindings of one role usually share one permissions object, so a bulk load works their pairs out once. */
type PairsCache = Map<Permissions, GrantedPairs>;

function storedBinding(fact: BindingFact, cache?: PairsCache): StoredBinding {
  let granted = cache?.get(fact.permissions);
  if (!granted) {
    granted = grantedPairs(fact.permissions);
    cache?.set(fact.permissions, granted);
  }
  const { id, tenantId, subjectType, subjectId, namespace } = fact;
  return { id, tenantId, subjectType, subjectId, namespace, pairs: namespace === null ? granted.tenantWide : granted.namespaced };
}

/** pair id → bit mask of the scopes granting it, during one compile; all zero between compiles. */
const scratchMasks = new Int32Array(PAIR_COUNT);
/** Bit masks are 32-bit; beyond this many distinct binding scopes a user takes the plain path. */
const MAX_MASKED_SCOPES = 31;

/**
 * A pair's grant depends only on which scopes (namespaces, or tenant-wide) grant it, and a user
 * has few scopes: pairs are keyed by a bit mask of scopes and each distinct mask becomes a Grant
 * once. Which scope covers which is also worked out once per user, so turning a mask into
 * minimal sorted roots is bit arithmetic. (Minimizing per pair made full rebuilds 3× slower;
 * plain loops because this runs for every user on a full rebuild.)
 */
function compileUser(bindings: readonly StoredBinding[]): CompiledUser | undefined {
  const scopeBit = new Map<string | null, number>();
  for (const { namespace } of bindings) if (!scopeBit.has(namespace)) scopeBit.set(namespace, scopeBit.size);
  if (scopeBit.size > MAX_MASKED_SCOPES) return compileUserPlainly(bindings);

  const touched: number[] = [];
  for (const { namespace, pairs } of bindings) {
    const bit = 1 << scopeBit.get(namespace)!;
    for (const id of pairs) {
      if (scratchMasks[id] === 0) touched.push(id);
      scratchMasks[id]! |= bit;
    }
  }

  const tenantWideBit = scopeBit.has(null) ? 1 << scopeBit.get(null)! : 0;
  const namespaces: string[] = [];
  for (const ns of scopeBit.keys()) if (ns !== null) namespaces.push(ns);
  namespaces.sort();
  const bits = namespaces.map((ns) => 1 << scopeBit.get(ns)!);
  // coveredBy[k] = bits of the user's other scopes covering namespaces[k]: with any of them in a mask, it is redundant.
  const coveredBy = namespaces.map(() => 0);
  for (let k = 0; k < namespaces.length; k++) {
    for (let j = 0; j < namespaces.length; j++) if (j !== k && namespaceCovers(namespaces[j]!, namespaces[k]!)) coveredBy[k]! |= bits[j]!;
  }

  const byMask = new Map<number, Grant>();
  const user = new CompiledUserBuilder();
  for (const id of touched) {
    const mask = scratchMasks[id]!;
    scratchMasks[id] = 0;
    let grant = mask & tenantWideBit ? TENANT_WIDE : byMask.get(mask);
    if (grant === undefined) {
      const roots: string[] = [];
      for (let k = 0; k < namespaces.length; k++) if (mask & bits[k]! && !(mask & coveredBy[k]!)) roots.push(namespaces[k]!);
      byMask.set(mask, (grant = namespaceGrant(roots)));
    }
    user.set(id, grant);
  }
  return user.build();
}

/** The same result with one set of roots per pair, for users with very many binding scopes. */
function compileUserPlainly(bindings: readonly StoredBinding[]): CompiledUser | undefined {
  const pending = new Map<number, Set<string> | null /* tenant-wide */>();
  for (const { namespace, pairs } of bindings) {
    for (const id of pairs) {
      const roots = pending.get(id);
      if (namespace === null) pending.set(id, null);
      else if (roots === undefined) pending.set(id, new Set([namespace]));
      else roots?.add(namespace);
    }
  }
  const user = new CompiledUserBuilder();
  for (const [id, roots] of pending) user.set(id, roots === null ? TENANT_WIDE : namespaceGrant(minimalRoots([...roots])));
  return user.build();
}

// ---------------------------------------------------------------------------------------------
// Facts, indexed for patching.

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function deleteFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set?.delete(value) && set.size === 0) map.delete(key);
}

class TenantFacts {
  /** subject id → binding id → binding, one map per subject type. */
  readonly bindings = { USER: new Map<string, Map<string, StoredBinding>>(), GROUP: new Map<string, Map<string, StoredBinding>>() };
  readonly groupsByUser = new Map<string, Set<string>>();
  readonly membersByGroup = new Map<string, Set<string>>();
  /** A user absent here is denied everything. */
  readonly users = new Map<string, CompiledUser>();

  constructor(readonly tenantId: string) {}

  bindingsOf(type: 'USER' | 'GROUP', id: string): Iterable<StoredBinding> {
    return this.bindings[type].get(id)?.values() ?? [];
  }

  /** Users whose answers depend on this subject's bindings. */
  usersOf(type: 'USER' | 'GROUP', id: string): string[] {
    return type === 'USER' ? [id] : [...(this.membersByGroup.get(id) ?? [])];
  }

  /** Every user with a binding or a membership. */
  knownUsers(): Set<string> {
    return new Set([...this.groupsByUser.keys(), ...this.bindings.USER.keys()]);
  }

  get isEmpty(): boolean {
    return this.bindings.USER.size === 0 && this.bindings.GROUP.size === 0 && this.groupsByUser.size === 0;
  }
}

/** How many deleted users and groups the index remembers (ids are random: a few MB at most). */
export const MAX_DELETED_SUBJECTS = 100_000;

const deletedKey = (tenantId: string, type: 'USER' | 'GROUP', id: string) => `${tenantId}\u0000${type}\u0000${id}`;

// ---------------------------------------------------------------------------------------------

/**
 * In-process RBAC decisions: the database is never touched on the hot path (anchors.md §3.2).
 * Holds every binding and group membership and precompiles, per (tenant, user), the union of
 * direct and group bindings into a (resource, action) → Grant table. A decision is four map
 * lookups and a byte read, plus for namespaced grants a short scan or an ancestor lookup.
 * Patches recompile only the users a change can affect.
 */
export class DecisionIndex {
  private tenants = new Map<string, TenantFacts>();
  private bindingsById = new Map<string, StoredBinding>();
  private changes = 0;
  /**
   * Deleted users and groups (tenant, type, id). Their ids are never reused, so a binding or a
   * membership naming one arriving later (a request that raced the deletion) is stale and ignored:
   * a deleted group's former members can never regain anything through its id. Kept across
   * reloads, bounded (oldest forgotten first).
   */
  private readonly deletedSubjects = new Set<string>();

  constructor(facts?: AuthzFacts) {
    if (facts) this.load(facts);
  }

  /** Bumps on every change, so callers can cache answers keyed by it. */
  get version(): number {
    return this.changes;
  }

  /** Replaces everything. */
  load(facts: AuthzFacts): void {
    this.tenants = new Map();
    this.bindingsById = new Map();
    const pairsCache: PairsCache = new Map();
    for (const b of facts.bindings) if (!this.isDeleted(b.tenantId, b.subjectType, b.subjectId)) this.storeBinding(b, pairsCache);
    for (const m of facts.memberships) if (!this.isDeletedMembership(m)) this.storeMembership(m);
    for (const tenant of this.tenants.values()) for (const user of tenant.knownUsers()) this.compile(tenant, user);
    this.changes++;
  }

  /** Adds a binding, or replaces the one with the same id (ignored for a deleted user or group). */
  addBinding(b: BindingFact): void {
    if (this.isDeleted(b.tenantId, b.subjectType, b.subjectId)) return;
    if (this.bindingsById.has(b.id)) this.removeBinding(b.id);
    const facts = this.storeBinding(b);
    this.recompile(facts, facts.usersOf(b.subjectType, b.subjectId));
  }

  removeBinding(id: string): void {
    const b = this.bindingsById.get(id);
    if (!b) return;
    this.bindingsById.delete(id);
    const facts = this.tenants.get(b.tenantId)!;
    const own = facts.bindings[b.subjectType].get(b.subjectId)!;
    own.delete(id);
    if (own.size === 0) facts.bindings[b.subjectType].delete(b.subjectId);
    this.recompile(facts, facts.usersOf(b.subjectType, b.subjectId));
  }

  /** Ignored when the group or the user was deleted. */
  addMembership(m: MembershipFact): void {
    if (this.isDeletedMembership(m)) return;
    this.recompile(this.storeMembership(m), [m.userId]);
  }

  removeMembership(tenantId: string, groupId: string, userId: string): void {
    const facts = this.tenants.get(tenantId);
    if (!facts) return;
    deleteFrom(facts.groupsByUser, userId, groupId);
    deleteFrom(facts.membersByGroup, groupId, userId);
    this.recompile(facts, [userId]);
  }

  /** A user or group was deleted: its bindings and memberships go with it, and its id is never taken again. */
  removeSubject(tenantId: string, subjectType: 'USER' | 'GROUP', subjectId: string): void {
    this.markDeleted(tenantId, subjectType, subjectId);
    const facts = this.tenants.get(tenantId);
    if (!facts) return;
    const affected = facts.usersOf(subjectType, subjectId);
    for (const b of facts.bindingsOf(subjectType, subjectId)) this.bindingsById.delete(b.id);
    facts.bindings[subjectType].delete(subjectId);
    if (subjectType === 'USER') {
      for (const group of facts.groupsByUser.get(subjectId) ?? []) deleteFrom(facts.membersByGroup, group, subjectId);
      facts.groupsByUser.delete(subjectId);
    } else {
      for (const user of affected) deleteFrom(facts.groupsByUser, user, subjectId);
      facts.membersByGroup.delete(subjectId);
    }
    this.recompile(facts, affected);
  }

  /**
   * namespace null asks a tenant-level question, which only tenant-wide bindings answer. A
   * namespaced binding grants only NAMESPACE_SCOPED_RESOURCES, under its namespace.
   */
  allows(tenantId: string, userId: string, resource: Resource, action: Action, namespace: string | null): boolean {
    const grant = this.grantOf(tenantId, userId, resource, action);
    if (grant === undefined) return false;
    if (grant.tenantWide) return true;
    return namespace !== null && grantCovers(grant, namespace);
  }

  /** Where may this user do this? For pushing namespace filters into list queries. */
  scope(tenantId: string, userId: string, resource: Resource, action: Action): NamespaceScope {
    const grant = this.grantOf(tenantId, userId, resource, action);
    if (grant?.tenantWide) return { all: true };
    return { all: false, namespaces: grant ? [...grant.roots] : [] };
  }

  filterVisible<T>(
    tenantId: string, userId: string, resource: Resource, action: Action,
    items: readonly T[], namespaceOf: (item: T) => string,
  ): T[] {
    const grant = this.grantOf(tenantId, userId, resource, action);
    if (grant === undefined) return [];
    if (grant.tenantWide) return items.slice();
    const seen = new Map<string, boolean>(); // lists repeat a few namespaces many times
    return items.filter((item) => {
      const ns = namespaceOf(item);
      let visible = seen.get(ns);
      if (visible === undefined) seen.set(ns, (visible = grantCovers(grant, ns)));
      return visible;
    });
  }

  /**
   * Anti-escalation: may this user hand out these permissions in a binding at `namespace`?
   * At a namespace only NAMESPACE_SCOPED_RESOURCES count: such a binding confers nothing else.
   */
  holdsAll(tenantId: string, userId: string, permissions: Permissions, namespace: string | null): { ok: boolean; missing: Permissions } {
    const missing: Permissions = {};
    for (const resource of RESOURCES) {
      const wanted = permissions[resource];
      if (!wanted || (namespace !== null && !NAMESPACE_SCOPED_RESOURCES.has(resource))) continue;
      const lacking = wanted.filter((action) => !this.allows(tenantId, userId, resource, action, namespace));
      if (lacking.length > 0) missing[resource] = lacking;
    }
    const normalized = normalizePermissions(missing);
    return { ok: Object.keys(normalized).length === 0, missing: normalized };
  }

  /** Everything the user holds (GET /me): tenant-wide actions, and the rest under each namespace root. */
  effective(tenantId: string, userId: string): { tenantWide: Permissions; namespaces: Record<string, Permissions> } {
    const tenantWide: Permissions = {};
    const byNamespace = new Map<string, Permissions>();
    const user = this.tenants.get(tenantId)?.users.get(userId);
    user?.slots.forEach((slot, id) => {
      const grant = user.grants[slot];
      if (grant === undefined) return;
      const [resource, action] = [resourceOfPair(id), actionOfPair(id)];
      if (grant.tenantWide) (tenantWide[resource] ??= []).push(action);
      for (const root of grant.roots) {
        const p = byNamespace.get(root) ?? {};
        (p[resource] ??= []).push(action);
        byNamespace.set(root, p);
      }
    });
    const namespaces: Record<string, Permissions> = {};
    for (const root of [...byNamespace.keys()].sort()) namespaces[root] = normalizePermissions(byNamespace.get(root)!);
    return { tenantWide: normalizePermissions(tenantWide), namespaces };
  }

  private grantOf(tenantId: string, userId: string, resource: Resource, action: Action): Grant | undefined {
    const user = this.tenants.get(tenantId)?.users.get(userId);
    if (user === undefined) return undefined;
    const id = pairId(resource, action);
    return id < 0 ? undefined : user.grants[user.slots[id]!];
  }

  private isDeleted(tenantId: string, type: 'USER' | 'GROUP', id: string): boolean {
    return this.deletedSubjects.size > 0 && this.deletedSubjects.has(deletedKey(tenantId, type, id));
  }

  private isDeletedMembership(m: MembershipFact): boolean {
    return this.isDeleted(m.tenantId, 'GROUP', m.groupId) || this.isDeleted(m.tenantId, 'USER', m.userId);
  }

  private markDeleted(tenantId: string, type: 'USER' | 'GROUP', id: string): void {
    const key = deletedKey(tenantId, type, id);
    this.deletedSubjects.delete(key); // re-inserted as the newest
    this.deletedSubjects.add(key);
    if (this.deletedSubjects.size > MAX_DELETED_SUBJECTS) this.deletedSubjects.delete(this.deletedSubjects.values().next().value!);
  }

  private factsOf(tenantId: string): TenantFacts {
    let facts = this.tenants.get(tenantId);
    if (!facts) this.tenants.set(tenantId, (facts = new TenantFacts(tenantId)));
    return facts;
  }

  private storeBinding(b: BindingFact, pairsCache?: PairsCache): TenantFacts {
    const facts = this.factsOf(b.tenantId);
    const stored = storedBinding(b, pairsCache);
    this.bindingsById.set(b.id, stored);
    let own = facts.bindings[b.subjectType].get(b.subjectId);
    if (!own) facts.bindings[b.subjectType].set(b.subjectId, (own = new Map()));
    own.set(b.id, stored);
    return facts;
  }

  private storeMembership(m: MembershipFact): TenantFacts {
    const facts = this.factsOf(m.tenantId);
    addTo(facts.groupsByUser, m.userId, m.groupId);
    addTo(facts.membersByGroup, m.groupId, m.userId);
    return facts;
  }

  private recompile(facts: TenantFacts, users: Iterable<string>): void {
    for (const user of users) this.compile(facts, user);
    if (facts.isEmpty) this.tenants.delete(facts.tenantId);
    this.changes++;
  }

  /** Rebuilds one user's answers from their own bindings plus their groups' bindings. */
  private compile(facts: TenantFacts, userId: string): void {
    const bindings: StoredBinding[] = [];
    for (const b of facts.bindingsOf('USER', userId)) bindings.push(b);
    for (const group of facts.groupsByUser.get(userId) ?? []) for (const b of facts.bindingsOf('GROUP', group)) bindings.push(b);
    const compiled = compileUser(bindings);
    if (compiled) facts.users.set(userId, compiled);
    else facts.users.delete(userId);
  }
}
