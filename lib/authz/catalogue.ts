import { z } from 'zod';

/**
 * Kestra EE 2.0's permission model (resource → per-resource actions), shared by the backend and
 * the browser extension. Sources: shared/reference/kestra-ee-behaviour.md §2.4–2.5; cells marked
 * [?] there are interpretations and are called out below.
 */

/** Resources a role can grant. The spec's audit-only resources (APP_EXECUTION, TENANT, …) are not grantable. */
export const RESOURCES = [
  'FLOW', 'EXECUTION', 'TRIGGER', 'NAMESPACE', 'KVSTORE', 'SECRET', 'CREDENTIAL',
  'DASHBOARD', 'BLUEPRINT', 'APP', 'TESTSUITE', 'ASSET', 'AUDITLOG',
  'USER', 'GROUP', 'ROLE', 'BINDING', 'SERVICE_ACCOUNT', 'INVITATION',
  'COPILOT', 'MCP_SERVER', 'POLICY', 'SYSTEM_SETTINGS', 'TENANT_SETTINGS', 'REUSABLE_INPUTS',
] as const;
export const resourceSchema = z.enum(RESOURCES);
export type Resource = z.infer<typeof resourceSchema>;

/** The spec's Action enum without UNKNOWN, in the order the UI lists them (and the canonical sort order). */
export const ACTIONS = [
  'VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE', 'EXECUTE', 'RESTART', 'KILL', 'REPLAY', 'PAUSE',
  'RESUME', 'UNQUEUE', 'FORCE_RUN', 'FOLLOW', 'CHANGE_LABELS', 'ACCESS_LOGS', 'ACCESS_OUTPUTS',
  'ACCESS_FILES', 'EXPORT', 'IMPORT', 'DISABLE', 'ENABLE', 'VALIDATE', 'UNLOCK', 'LOCK', 'BACKFILL',
  'MANAGE_FILES', 'MANAGE_MEMBERS', 'MANAGE_GROUP_MEMBERSHIP', 'USE', 'IMPERSONATE',
] as const;
export const actionSchema = z.enum(ACTIONS);
export type Action = z.infer<typeof actionSchema>;

export type Permissions = Partial<Record<Resource, Action[]>>;

const ACTION_RANK: ReadonlyMap<string, number> = new Map(ACTIONS.map((a, i) => [a, i]));
const byActionRank = (a: Action, b: Action) => ACTION_RANK.get(a)! - ACTION_RANK.get(b)!;

/** Deduplicated, in ACTIONS order. */
function canonicalActions(actions: Iterable<Action>): Action[] {
  return [...new Set(actions)].sort(byActionRank);
}

const CRUD = ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] as const;

export const PERMISSION_CATALOGUE: Readonly<Record<Resource, readonly Action[]>> = (() => {
  const table: Record<Resource, readonly Action[]> = {
    FLOW: [...CRUD, 'EXECUTE', 'DISABLE', 'ENABLE', 'VALIDATE', 'EXPORT', 'IMPORT'],
    EXECUTION: ['VIEW', 'LIST', 'UPDATE', 'DELETE', 'RESTART', 'KILL', 'REPLAY', 'PAUSE', 'RESUME', 'CHANGE_LABELS',
      'ACCESS_LOGS', 'ACCESS_OUTPUTS', 'ACCESS_FILES', 'FOLLOW', 'EXPORT', 'UNQUEUE', 'FORCE_RUN'],
    // CREATE [?]: only the Terraform migration guide lists it; accepted so such payloads load.
    TRIGGER: ['VIEW', 'LIST', 'CREATE', 'DELETE', 'UNLOCK', 'RESTART', 'DISABLE', 'ENABLE', 'EXPORT', 'BACKFILL'],
    NAMESPACE: [...CRUD, 'MANAGE_FILES'],
    KVSTORE: CRUD,
    SECRET: CRUD,
    CREDENTIAL: CRUD,
    DASHBOARD: CRUD,
    BLUEPRINT: CRUD,
    APP: [...CRUD, 'EXECUTE', 'ACCESS_FILES', 'ACCESS_LOGS'],
    TESTSUITE: [...CRUD, 'EXECUTE'],
    // LOCK/UNLOCK [?]: in the Action enum and an asset lock endpoint exists.
    ASSET: [...CRUD, 'LOCK', 'UNLOCK'],
    AUDITLOG: ['VIEW', 'LIST', 'EXPORT'],
    USER: [...CRUD, 'MANAGE_GROUP_MEMBERSHIP', 'IMPERSONATE'],
    GROUP: [...CRUD, 'MANAGE_MEMBERS'],
    ROLE: CRUD,
    BINDING: CRUD,
    SERVICE_ACCOUNT: CRUD,
    INVITATION: CRUD,
    COPILOT: ['USE'],
    MCP_SERVER: CRUD,
    POLICY: CRUD,
    SYSTEM_SETTINGS: ['VIEW', 'UPDATE'],
    TENANT_SETTINGS: ['VIEW', 'UPDATE'],
    // [?]: in the spec's resource map, actions undocumented; plain CRUD like its neighbours.
    REUSABLE_INPUTS: CRUD,
  };
  for (const r of RESOURCES) table[r] = Object.freeze(canonicalActions(table[r]));
  return Object.freeze(table);
})();

/**
 * Resources a namespaced binding can grant; every other resource needs a tenant-wide binding.
 * AUDITLOG on a namespace reads the audit entries of that namespace and below (never those without one).
 */
export const NAMESPACE_SCOPED_RESOURCES: ReadonlySet<Resource> = new Set<Resource>([
  'FLOW', 'EXECUTION', 'TRIGGER', 'NAMESPACE', 'KVSTORE', 'SECRET', 'CREDENTIAL', 'AUDITLOG',
]);

const isResource = (s: string): s is Resource => (RESOURCES as readonly string[]).includes(s);
const isAction = (s: string): s is Action => ACTION_RANK.has(s);
const isValidFor = (resource: Resource, action: Action) => PERMISSION_CATALOGUE[resource].includes(action);

/** Resources in RESOURCES order, actions deduplicated in ACTIONS order, empty entries dropped. */
export function normalizePermissions(p: Permissions): Permissions {
  const out: Permissions = {};
  for (const r of RESOURCES) {
    const actions = p[r];
    if (actions && actions.length > 0) out[r] = canonicalActions(actions);
  }
  return out;
}

export function permissionCount(p: Permissions): number {
  let n = 0;
  for (const r of RESOURCES) n += new Set(p[r] ?? []).size;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Legacy 1.x payloads (CRUD verbs, old resource names), converted with the 2.0 migration table.

const LEGACY_VERBS = ['READ', 'CREATE', 'UPDATE', 'DELETE'] as const;
type LegacyVerb = (typeof LEGACY_VERBS)[number];
const isLegacyVerb = (s: string): s is LegacyVerb => (LEGACY_VERBS as readonly string[]).includes(s);

type LegacyRule = { target: Resource[]; verbs: Partial<Record<LegacyVerb, Permissions>> };

/**
 * Verbs not listed follow the generic rule on `target`: READ → VIEW + LIST, other verbs keep their
 * name when the 2.0 resource has that action, else grant nothing.
 */
const LEGACY_RULES: Readonly<Record<string, LegacyRule>> = {
  FLOW: { target: ['FLOW'], verbs: {
    READ: { FLOW: ['VIEW', 'LIST', 'EXPORT'] },
    CREATE: { FLOW: ['CREATE', 'IMPORT'] },
    UPDATE: { FLOW: ['UPDATE', 'EXECUTE', 'DISABLE', 'ENABLE', 'VALIDATE'] },
  } },
  EXECUTION: { target: ['EXECUTION'], verbs: {
    READ: { EXECUTION: ['VIEW', 'LIST', 'ACCESS_LOGS', 'ACCESS_OUTPUTS', 'ACCESS_FILES', 'EXPORT', 'FOLLOW'] },
    // 1.x started executions with EXECUTION:CREATE; 2.0 moved that to FLOW:EXECUTE.
    CREATE: { FLOW: ['EXECUTE'] },
    UPDATE: { EXECUTION: ['UPDATE', 'RESTART', 'KILL', 'REPLAY', 'PAUSE', 'RESUME', 'CHANGE_LABELS', 'UNQUEUE', 'FORCE_RUN'] },
  } },
  TRIGGER: { target: ['TRIGGER'], verbs: {
    READ: { TRIGGER: ['VIEW', 'LIST', 'EXPORT'] },
    UPDATE: { TRIGGER: ['UNLOCK', 'RESTART', 'DISABLE', 'ENABLE', 'BACKFILL'] },
  } },
  NAMESPACE: { target: ['NAMESPACE'], verbs: { UPDATE: { NAMESPACE: ['UPDATE', 'MANAGE_FILES'] } } },
  APP: { target: ['APP'], verbs: { UPDATE: { APP: ['UPDATE', 'EXECUTE', 'ACCESS_FILES', 'ACCESS_LOGS'] } } },
  // A plain rename would turn "may run apps" (APPEXECUTION:CREATE) into "may create apps".
  APPEXECUTION: { target: ['APP'], verbs: {
    READ: { APP: ['VIEW', 'LIST'] }, CREATE: { APP: ['EXECUTE'] }, UPDATE: { APP: ['EXECUTE'] }, DELETE: {},
  } },
  USER: { target: ['USER'], verbs: { UPDATE: { USER: ['UPDATE', 'MANAGE_GROUP_MEMBERSHIP'] } } },
  TENANT_ACCESS: { target: ['USER'], verbs: { UPDATE: { USER: ['UPDATE', 'MANAGE_GROUP_MEMBERSHIP'] } } },
  GROUP: { target: ['GROUP'], verbs: { UPDATE: { GROUP: ['UPDATE', 'MANAGE_MEMBERS'] } } },
  // Same reason: GROUP_MEMBERSHIP:CREATE added members, it did not create groups.
  GROUP_MEMBERSHIP: { target: ['GROUP'], verbs: {
    READ: { GROUP: ['VIEW', 'LIST'] },
    CREATE: { GROUP: ['MANAGE_MEMBERS'] }, UPDATE: { GROUP: ['MANAGE_MEMBERS'] }, DELETE: { GROUP: ['MANAGE_MEMBERS'] },
  } },
  AUDITLOG: { target: ['AUDITLOG'], verbs: { READ: { AUDITLOG: ['VIEW', 'LIST', 'EXPORT'] } } },
  SETTING: { target: ['SYSTEM_SETTINGS', 'TENANT_SETTINGS'], verbs: {
    READ: { SYSTEM_SETTINGS: ['VIEW'], TENANT_SETTINGS: ['VIEW'] },
    UPDATE: { SYSTEM_SETTINGS: ['UPDATE'], TENANT_SETTINGS: ['UPDATE'] },
  } },
  // 1.x checked "any action" on AI_COPILOT, so every verb meant "may use it".
  AI_COPILOT: { target: ['COPILOT'], verbs: {
    READ: { COPILOT: ['USE'] }, CREATE: { COPILOT: ['USE'] }, UPDATE: { COPILOT: ['USE'] }, DELETE: { COPILOT: ['USE'] },
  } },
  TEST: { target: ['TESTSUITE'], verbs: {} },
};

/** 1.x resources with no 2.0 counterpart (IMPERSONATE must be re-granted by hand as USER:IMPERSONATE). */
const DROPPED_LEGACY_RESOURCES: ReadonlySet<string> = new Set(['TEMPLATE', 'IMPERSONATE', 'ME', 'APITOKEN']);

/** Resource names that exist only in 1.x payloads. */
const isLegacyOnlyResource = (s: string) => DROPPED_LEGACY_RESOURCES.has(s) || (s in LEGACY_RULES && !isResource(s));

function legacyVerbGrants(resource: string, verb: LegacyVerb): Permissions {
  const rule = LEGACY_RULES[resource] ?? { target: [resource as Resource], verbs: {} };
  const explicit = rule.verbs[verb];
  if (explicit) return explicit;
  const wanted: Action[] = verb === 'READ' ? ['VIEW', 'LIST'] : [verb];
  const out: Permissions = {};
  for (const r of rule.target) {
    const actions = wanted.filter((a) => isValidFor(r, a));
    if (actions.length > 0) out[r] = actions;
  }
  return out;
}

interface ConversionIssue { path: (string | number)[]; message: string }

/**
 * The one converter behind permissionsSchema and fromLegacyPermissions. An entry is read as 1.x
 * when `allLegacy` is set, when its resource name exists only in 1.x, or when it holds READ (the
 * one verb 2.0 lacks); CREATE/UPDATE/DELETE in it are then verbs, anything else a 2.0 action.
 */
function convertPermissions(input: Record<string, readonly string[]>, allLegacy: boolean): { permissions: Permissions; issues: ConversionIssue[] } {
  const granted = new Map<Resource, Set<Action>>();
  const issues: ConversionIssue[] = [];
  const grant = (p: Permissions) => {
    for (const [r, actions] of Object.entries(p) as [Resource, Action[]][]) {
      const set = granted.get(r) ?? new Set<Action>();
      for (const a of actions) set.add(a);
      granted.set(r, set);
    }
  };

  for (const [key, actions] of Object.entries(input)) {
    if (DROPPED_LEGACY_RESOURCES.has(key)) continue;
    const legacy = allLegacy || isLegacyOnlyResource(key) || actions.includes('READ');
    const targets = legacy ? LEGACY_RULES[key]?.target : undefined;
    const resources: Resource[] | undefined = targets ?? (isResource(key) ? [key] : undefined);
    if (!resources) {
      issues.push({ path: [key], message: `unknown resource "${key}"` });
      continue;
    }
    actions.forEach((action, i) => {
      if (legacy && isLegacyVerb(action)) return grant(legacyVerbGrants(key, action));
      if (!isAction(action)) return issues.push({ path: [key, i], message: `unknown action "${action}" on ${key}` });
      for (const r of resources) {
        if (!isValidFor(r, action)) {
          issues.push({ path: [key, i], message: `${r} does not allow action ${action} (valid: ${PERMISSION_CATALOGUE[r].join(', ')})` });
          return;
        }
      }
      grant(Object.fromEntries(resources.map((r) => [r, [action]])));
    });
  }

  const permissions: Permissions = {};
  for (const r of RESOURCES) {
    const set = granted.get(r);
    if (set && set.size > 0) permissions[r] = canonicalActions(set);
  }
  return { permissions, issues };
}

/**
 * A role's permissions as sent by clients: 2.0 actions per resource, or a 1.x CRUD payload, or
 * both mixed resource by resource. The output is normalized (see normalizePermissions).
 */
export const permissionsSchema = z
  .record(z.string(), z.array(z.string()))
  .transform((input, ctx): Permissions => {
    const { permissions, issues } = convertPermissions(input, false);
    for (const issue of issues) ctx.issues.push({ code: 'custom', input, ...issue });
    return permissions;
  });

/** Converts a whole 1.x payload (every entry is read with CRUD verbs). Throws on unknown names. */
export function fromLegacyPermissions(input: Record<string, string[]>): Permissions {
  const { permissions, issues } = convertPermissions(input, true);
  if (issues.length > 0) throw new Error(`invalid legacy permissions: ${issues.map((i) => i.message).join('; ')}`);
  return permissions;
}

// ---------------------------------------------------------------------------------------------
// Managed roles (what GET /acls/templates returns). Readings of the docs' prose; see §2.5.

const everyActionOf = (...resources: Resource[]): Permissions =>
  Object.fromEntries(resources.map((r) => [r, [...PERMISSION_CATALOGUE[r]]]));
const READ_ONLY: Action[] = ['VIEW', 'LIST'];

const VIEWER: Permissions = {
  FLOW: ['VIEW', 'LIST', 'EXPORT'],
  EXECUTION: ['VIEW', 'LIST', 'EXPORT', 'ACCESS_LOGS', 'ACCESS_OUTPUTS', 'ACCESS_FILES', 'FOLLOW'],
  TRIGGER: ['VIEW', 'LIST', 'EXPORT'],
  NAMESPACE: READ_ONLY, // NAMESPACE has no EXPORT action
  MCP_SERVER: READ_ONLY,
};

const LAUNCHER: Permissions = {
  FLOW: ['VIEW', 'LIST', 'EXECUTE'],
  EXECUTION: ['VIEW', 'LIST', 'REPLAY', 'RESTART', 'CHANGE_LABELS', 'ACCESS_LOGS', 'ACCESS_OUTPUTS', 'ACCESS_FILES', 'FOLLOW', 'EXPORT'],
  TRIGGER: READ_ONLY,
  KVSTORE: READ_ONLY,
  DASHBOARD: READ_ONLY,
  ASSET: READ_ONLY,
};

const EDITOR: Permissions = {
  ...everyActionOf('FLOW', 'EXECUTION', 'TRIGGER', 'KVSTORE', 'DASHBOARD', 'APP', 'TESTSUITE', 'ASSET', 'MCP_SERVER',
    'SYSTEM_SETTINGS', 'TENANT_SETTINGS', 'COPILOT'),
  NAMESPACE: READ_ONLY,
  BLUEPRINT: READ_ONLY,
  REUSABLE_INPUTS: READ_ONLY, // [?] not in the docs; readable so editors can use them in flows
};

const DEVELOPER: Permissions = {
  ...EDITOR,
  ...everyActionOf('NAMESPACE', 'SECRET', 'CREDENTIAL', 'BLUEPRINT', 'REUSABLE_INPUTS'),
};

export type ManagedRole = {
  id: 'admin' | 'developer' | 'editor' | 'launcher' | 'viewer';
  name: 'Admin' | 'Developer' | 'Editor' | 'Launcher' | 'Viewer';
  description: string;
  permissions: Permissions;
};

export const MANAGED_ROLES: ReadonlyArray<ManagedRole> = Object.freeze(
  ([
    { id: 'admin', name: 'Admin', description: 'Every action on every resource of the tenant.', permissions: everyActionOf(...RESOURCES) },
    { id: 'developer', name: 'Developer', description: 'Editor, plus namespaces (including files), secrets, credentials and blueprints. No identity and access management.', permissions: DEVELOPER },
    { id: 'editor', name: 'Editor', description: 'Builds and runs flows, apps, test suites, dashboards and assets; reads namespaces and blueprints. No secrets, credentials or identity and access management.', permissions: EDITOR },
    { id: 'launcher', name: 'Launcher', description: 'Starts flows and follows, replays and restarts their executions; reads triggers, KV store, dashboards and assets.', permissions: LAUNCHER },
    { id: 'viewer', name: 'Viewer', description: 'Reads flows, executions (with logs, outputs and files), triggers and namespaces. Changes nothing.', permissions: VIEWER },
  ] satisfies ManagedRole[]).map((role) => Object.freeze({ ...role, permissions: normalizePermissions(role.permissions) })),
);
