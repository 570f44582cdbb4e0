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

/**
 * Where one (user, resource, action) is granted: everywhere in the tenant, or under a minimal,
 * sorted set of namespace roots (no root covers another). Shared between users with the same answer.
 */
interface Grant {
  readonly tenantWide: boolean;
  readonly roots: readonly string[];
  /** Only for users with many roots: the decision then walks the target's parents instead of scanning. */
  readonly rootSet: ReadonlySet<string> | null;
}

/** Up to this many roots a linear scan with startsWith beats hashing freshly sliced parent strings. */
const LINEAR_SCAN_MAX_ROOTS = 8;

const TENANT_WIDE: Grant = Object.freeze({ tenantWide: true, roots: Object.freeze([]), rootSet: null });

/**
 * (resource, action) as one small integer, so a user's grants are one flat map: a decision then
 * touches one per-user table instead of two nested ones (those lookups miss the cache the most).
 */
const RESOURCE_BASE: ReadonlyMap<string, number> = new Map(RESOURCES.map((r, i) => [r, i * ACTIONS.length]));
const ACTION_OFFSET: ReadonlyMap<string, number> = new Map(ACTIONS.map((a, i) => [a, i]));

function pairId(resource: Resource, action: Action): number {
  const base = RESOURCE_BASE.get(resource);
  const offset = ACTION_OFFSET.get(action);
  return base === undefined || offset === undefined ? -1 : base + offset;
}
const resourceOfPair = (id: number) => RESOURCES[Math.floor(id / ACTIONS.length)]!;
const actionOfPair = (id: number) => ACTIONS[id % ACTIONS.length]!;

/** pair id → grant; absent = denied. */
type UserGrants = Map<number, Grant>;

/**
 * `a.b.c` → [`a.b.c`, `a.b`, `a`], remembered: the same namespaces are asked about over and over,
 * and re-slicing them on every decision (new strings to hash) cost more than the lookups.
 */
const selfAndAncestorsMemo = new Map<string, readonly string[]>();
const SELF_AND_ANCESTORS_MEMO_MAX = 50_000;

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

/** The pairs a binding grants, cached per permissions object (bindings of one role share it). */
const grantedPairsCache = new WeakMap<Permissions, { tenantWide: number[]; namespaced: number[] }>();

function grantedPairs(b: BindingFact): readonly number[] {
  let pairs = grantedPairsCache.get(b.permissions);
  if (!pairs) {
    pairs = { tenantWide: [], namespaced: [] };
    for (const [resource, actions] of Object.entries(b.permissions) as [Resource, Action[]][]) {
      for (const action of actions ?? []) {
        const id = pairId(resource, action);
        if (id < 0) continue;
        pairs.tenantWide.push(id);
        // A namespaced binding grants tenant-level resources nothing.
        if (NAMESPACE_SCOPED_RESOURCES.has(resource)) pairs.namespaced.push(id);
      }
    }
    grantedPairsCache.set(b.permissions, pairs);
  }
  return b.namespace === null ? pairs.tenantWide : pairs.namespaced;
}

/** pair id → bit mask of the scopes granting it, during one compile; all zero between compiles. */
const scratchMasks = new Int32Array(RESOURCES.length * ACTIONS.length);

/** Bit masks are 32-bit; beyond this many distinct binding scopes a user takes the plain path. */
const MAX_MASKED_SCOPES = 31;

/**
 * One user's grants. A pair's grant depends only on which scopes (namespaces, or tenant-wide)
 * grant it, and a user has few scopes: pairs are keyed by a bit mask of scopes and each distinct
 * mask is turned into a Grant once (minimizing and interning per pair made rebuilds 3× slower).
 */
function compileGrants(bindings: readonly BindingFact[], intern: (roots: readonly string[]) => Grant): UserGrants {
  const scopeBit = new Map<string | null, number>();
  for (const b of bindings) if (!scopeBit.has(b.namespace)) scopeBit.set(b.namespace, scopeBit.size);
  if (scopeBit.size > MAX_MASKED_SCOPES) return compileGrantsPlainly(bindings, intern);

  const touched: number[] = [];
  for (const b of bindings) {
    const bit = 1 << scopeBit.get(b.namespace)!;
    for (const id of grantedPairs(b)) {
      if (scratchMasks[id] === 0) touched.push(id);
      scratchMasks[id]! |= bit;
    }
  }
  const tenantWideBit = scopeBit.has(null) ? 1 << scopeBit.get(null)! : 0;
  const byMask = new Map<number, Grant>();
  const grants: UserGrants = new Map();
  for (const id of touched) {
    const mask = scratchMasks[id]!;
    scratchMasks[id] = 0;
    let grant = mask & tenantWideBit ? TENANT_WIDE : byMask.get(mask);
    if (!grant) {
      const roots: string[] = [];
      for (const [ns, i] of scopeBit) if (ns !== null && mask & (1 << i)) roots.push(ns);
      byMask.set(mask, (grant = intern(roots)));
    }
    grants.set(id, grant);
  }
  return grants;
}

/** The same result with one set of roots per pair: for users with very many binding scopes. */
function compileGrantsPlainly(bindings: readonly BindingFact[], intern: (roots: readonly string[]) => Grant): UserGrants {
  const pending = new Map<number, Set<string> | null /* tenant-wide */>();
  for (const b of bindings) {
    for (const id of grantedPairs(b)) {
      const roots = pending.get(id);
      if (b.namespace === null) pending.set(id, null);
      else if (roots === undefined) pending.set(id, new Set([b.namespace]));
      else roots?.add(b.namespace);
    }
  }
  const grants: UserGrants = new Map();
  for (const [id, roots] of pending) grants.set(id, roots === null ? TENANT_WIDE : intern([...roots]));
  return grants;
}

const subjectKey = (type: 'USER' | 'GROUP', id: string) => `${type}:${id}`;

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function deleteFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set?.delete(value) && set.size === 0) map.delete(key);
}

/** The raw facts of one tenant, indexed for patching. */
class TenantFacts {
  constructor(readonly tenantId: string) {}

  readonly bindingsBySubject = new Map<string, Map<string, BindingFact>>();
  readonly groupsByUser = new Map<string, Set<string>>();
  readonly membersByGroup = new Map<string, Set<string>>();
  /** Compiled answers per user; a user absent here is denied everything. */
  readonly grants = new Map<string, UserGrants>();

  bindingsOf(type: 'USER' | 'GROUP', id: string): Iterable<BindingFact> {
    return this.bindingsBySubject.get(subjectKey(type, id))?.values() ?? [];
  }

  /** Users whose answers depend on this subject's bindings. */
  usersOf(type: 'USER' | 'GROUP', id: string): string[] {
    return type === 'USER' ? [id] : [...(this.membersByGroup.get(id) ?? [])];
  }

  get isEmpty(): boolean {
    return this.bindingsBySubject.size === 0 && this.groupsByUser.size === 0;
  }
}

/**
 * In-process RBAC decisions (anchors.md §3.2: the database is never touched on the hot path).
 * Holds every binding and group membership; per (tenant, user) it precompiles the union of direct
 * and group bindings into (resource, action) → Grant. A decision is a few map lookups plus, for
 * namespaced grants, a scan of the roots or a walk up the namespace's parents. Patches recompile only the users a change can affect.
 */
export class DecisionIndex {
  private tenants = new Map<string, TenantFacts>();
  private bindingsById = new Map<string, BindingFact>();
  /** Namespace grants shared across users: most users hold the same few root sets. */
  private internedGrants = new Map<string, Grant>();
  private changes = 0;

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
    this.internedGrants = new Map();
    for (const b of facts.bindings) this.storeBinding(b);
    for (const m of facts.memberships) this.storeMembership(m);
    for (const tenant of this.tenants.values()) {
      const users = new Set(tenant.groupsByUser.keys());
      for (const key of tenant.bindingsBySubject.keys()) if (key.startsWith('USER:')) users.add(key.slice('USER:'.length));
      for (const user of users) this.compile(tenant, user);
    }
    this.changes++;
  }

  addBinding(b: BindingFact): void {
    if (this.bindingsById.has(b.id)) this.removeBinding(b.id);
    const facts = this.storeBinding(b);
    this.recompile(facts, facts.usersOf(b.subjectType, b.subjectId));
  }

  removeBinding(id: string): void {
    const b = this.bindingsById.get(id);
    if (!b) return;
    this.bindingsById.delete(id);
    const facts = this.tenants.get(b.tenantId)!;
    const key = subjectKey(b.subjectType, b.subjectId);
    const own = facts.bindingsBySubject.get(key);
    own?.delete(id);
    if (own?.size === 0) facts.bindingsBySubject.delete(key);
    this.recompile(facts, facts.usersOf(b.subjectType, b.subjectId));
  }

  addMembership(m: MembershipFact): void {
    this.recompile(this.storeMembership(m), [m.userId]);
  }

  removeMembership(tenantId: string, groupId: string, userId: string): void {
    const facts = this.tenants.get(tenantId);
    if (!facts) return;
    deleteFrom(facts.groupsByUser, userId, groupId);
    deleteFrom(facts.membersByGroup, groupId, userId);
    this.recompile(facts, [userId]);
  }

  /** A user or group was deleted: its bindings and memberships go with it. */
  removeSubject(tenantId: string, subjectType: 'USER' | 'GROUP', subjectId: string): void {
    const facts = this.tenants.get(tenantId);
    if (!facts) return;
    const affected = facts.usersOf(subjectType, subjectId);
    for (const b of facts.bindingsOf(subjectType, subjectId)) this.bindingsById.delete(b.id);
    facts.bindingsBySubject.delete(subjectKey(subjectType, subjectId));
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
    const grant = this.tenants.get(tenantId)?.grants.get(userId)?.get(pairId(resource, action));
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
   * At a namespace only NAMESPACE_SCOPED_RESOURCES matter: such a binding confers nothing else.
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
    for (const [id, grant] of this.tenants.get(tenantId)?.grants.get(userId) ?? []) {
      const [resource, action] = [resourceOfPair(id), actionOfPair(id)];
      if (grant.tenantWide) (tenantWide[resource] ??= []).push(action);
      for (const root of grant.roots) {
        const p = byNamespace.get(root) ?? {};
        (p[resource] ??= []).push(action);
        byNamespace.set(root, p);
      }
    }
    const namespaces: Record<string, Permissions> = {};
    for (const root of [...byNamespace.keys()].sort()) namespaces[root] = normalizePermissions(byNamespace.get(root)!);
    return { tenantWide: normalizePermissions(tenantWide), namespaces };
  }

  private grantOf(tenantId: string, userId: string, resource: Resource, action: Action): Grant | undefined {
    return this.tenants.get(tenantId)?.grants.get(userId)?.get(pairId(resource, action));
  }

  private factsOf(tenantId: string): TenantFacts {
    let facts = this.tenants.get(tenantId);
    if (!facts) this.tenants.set(tenantId, (facts = new TenantFacts(tenantId)));
    return facts;
  }

  private storeBinding(b: BindingFact): TenantFacts {
    const facts = this.factsOf(b.tenantId);
    this.bindingsById.set(b.id, b);
    const key = subjectKey(b.subjectType, b.subjectId);
    let own = facts.bindingsBySubject.get(key);
    if (!own) facts.bindingsBySubject.set(key, (own = new Map()));
    own.set(b.id, b);
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
    const bindings = [...facts.bindingsOf('USER', userId)];
    for (const group of facts.groupsByUser.get(userId) ?? []) bindings.push(...facts.bindingsOf('GROUP', group));
    const grants = compileGrants(bindings, (roots) => this.intern(roots));
    if (grants.size > 0) facts.grants.set(userId, grants);
    else facts.grants.delete(userId);
  }

  private intern(rawRoots: readonly string[]): Grant {
    const roots = minimalRoots(rawRoots);
    const key = JSON.stringify(roots); // unambiguous whatever characters a namespace holds
    let grant = this.internedGrants.get(key);
    if (!grant) {
      grant = Object.freeze({
        tenantWide: false,
        roots: Object.freeze(roots),
        rootSet: roots.length > LINEAR_SCAN_MAX_ROOTS ? new Set(roots) : null,
      });
      this.internedGrants.set(key, grant);
    }
    return grant;
  }
}
