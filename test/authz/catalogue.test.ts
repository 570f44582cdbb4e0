import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS, MANAGED_ROLES, NAMESPACE_SCOPED_RESOURCES, PERMISSION_CATALOGUE, RESOURCES,
  actionSchema, fromLegacyPermissions, normalizePermissions, permissionCount, permissionsSchema, resourceSchema,
  type Permissions,
} from '../../lib/authz/catalogue.js';
import { namespaceCovers, namespaceSchema, parentNamespaces } from '../../lib/authz/namespaces.js';

const role = (id: string) => MANAGED_ROLES.find((r) => r.id === id)!.permissions;
const messages = (input: unknown) => permissionsSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('/')}: ${i.message}`);

describe('catalogue', () => {
  it('lists every grantable resource, each with actions from the Action enum', () => {
    expect(Object.keys(PERMISSION_CATALOGUE)).toEqual([...RESOURCES]);
    for (const r of RESOURCES) {
      expect(PERMISSION_CATALOGUE[r].length).toBeGreaterThan(0);
      for (const a of PERMISSION_CATALOGUE[r]) expect(ACTIONS).toContain(a);
    }
    expect(ACTIONS).not.toContain('UNKNOWN');
    expect(resourceSchema.safeParse('APP_EXECUTION').success).toBe(false);
    expect(actionSchema.safeParse('READ').success).toBe(false);
  });

  it('uses every action on some resource', () => {
    const used = new Set(RESOURCES.flatMap((r) => PERMISSION_CATALOGUE[r]));
    expect([...ACTIONS].filter((a) => !used.has(a))).toEqual([]);
  });

  it('matches the 2.0 table for a few resources', () => {
    expect(PERMISSION_CATALOGUE.COPILOT).toEqual(['USE']);
    expect(PERMISSION_CATALOGUE.AUDITLOG).toEqual(['VIEW', 'LIST', 'EXPORT']);
    expect(PERMISSION_CATALOGUE.SYSTEM_SETTINGS).toEqual(['VIEW', 'UPDATE']);
    expect(PERMISSION_CATALOGUE.NAMESPACE).toContain('MANAGE_FILES');
    expect(PERMISSION_CATALOGUE.GROUP).toContain('MANAGE_MEMBERS');
    expect(PERMISSION_CATALOGUE.USER).toEqual(expect.arrayContaining(['MANAGE_GROUP_MEMBERSHIP', 'IMPERSONATE']));
    expect(PERMISSION_CATALOGUE.EXECUTION).not.toContain('CREATE');
    expect(PERMISSION_CATALOGUE.FLOW).toContain('EXECUTE');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(PERMISSION_CATALOGUE)).toBe(true);
    expect(Object.isFrozen(PERMISSION_CATALOGUE.FLOW)).toBe(true);
    expect(Object.isFrozen(MANAGED_ROLES)).toBe(true);
  });

  it('scopes exactly the seven namespace resources, and the audit log', () => {
    expect([...NAMESPACE_SCOPED_RESOURCES].sort()).toEqual(['AUDITLOG', 'CREDENTIAL', 'EXECUTION', 'FLOW', 'KVSTORE', 'NAMESPACE', 'SECRET', 'TRIGGER']);
  });
});

describe('managed roles', () => {
  it('are the five roles, each valid against the catalogue and already normalized', () => {
    expect(MANAGED_ROLES.map((r) => r.name)).toEqual(['Admin', 'Developer', 'Editor', 'Launcher', 'Viewer']);
    for (const r of MANAGED_ROLES) {
      expect(permissionsSchema.parse(r.permissions)).toEqual(r.permissions);
      expect(normalizePermissions(r.permissions)).toEqual(r.permissions);
      expect(r.description.length).toBeGreaterThan(10);
    }
  });

  it('Admin holds the whole catalogue', () => {
    expect(role('admin')).toEqual(Object.fromEntries(RESOURCES.map((r) => [r, [...PERMISSION_CATALOGUE[r]]])));
    expect(permissionCount(role('admin'))).toBe(RESOURCES.reduce((n, r) => n + PERMISSION_CATALOGUE[r].length, 0));
  });

  it('nest: Viewer ⊂ Editor ⊂ Developer ⊂ Admin and Launcher ⊂ Editor', () => {
    const within = (inner: Permissions, outer: Permissions) =>
      Object.entries(inner).every(([r, actions]) => actions.every((a) => outer[r as keyof Permissions]?.includes(a)));
    expect(within(role('viewer'), role('editor'))).toBe(true);
    expect(within(role('launcher'), role('editor'))).toBe(true);
    expect(within(role('editor'), role('developer'))).toBe(true);
    expect(within(role('developer'), role('admin'))).toBe(true);
    expect(within(role('editor'), role('viewer'))).toBe(false);
  });

  it('keep IAM for Admin only, and secrets away from Editor', () => {
    for (const id of ['developer', 'editor', 'launcher', 'viewer']) {
      for (const iam of ['USER', 'GROUP', 'ROLE', 'BINDING', 'SERVICE_ACCOUNT', 'INVITATION', 'AUDITLOG'] as const) {
        expect(role(id)[iam], `${id} ${iam}`).toBeUndefined();
      }
    }
    expect(role('editor').SECRET).toBeUndefined();
    expect(role('editor').NAMESPACE).toEqual(['VIEW', 'LIST']);
    expect(role('developer').SECRET).toEqual(['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE']);
    expect(role('launcher').FLOW).toEqual(['VIEW', 'LIST', 'EXECUTE']);
    expect(role('viewer').MCP_SERVER).toEqual(['VIEW', 'LIST']);
  });
});

describe('permissionsSchema', () => {
  it('dedupes, sorts in catalogue order and drops empty entries', () => {
    expect(permissionsSchema.parse({ FLOW: ['UPDATE', 'VIEW', 'VIEW'], SECRET: [], BINDING: ['LIST'] }))
      .toEqual({ FLOW: ['VIEW', 'UPDATE'], BINDING: ['LIST'] });
  });

  it('names unknown resources, unknown actions and actions the resource lacks', () => {
    expect(messages({ FLOWS: ['VIEW'], FLOW: ['VIEW', 'FLY'], COPILOT: ['VIEW'] })).toEqual([
      'FLOWS: unknown resource "FLOWS"',
      'FLOW/1: unknown action "FLY" on FLOW',
      'COPILOT/0: COPILOT does not allow action VIEW (valid: USE)',
    ]);
    expect(messages({ EXECUTION: ['CREATE'] })).toEqual([expect.stringContaining('EXECUTION does not allow action CREATE')]);
    expect(messages({ FLOW: ['view'] })).toEqual(['FLOW/0: unknown action "view" on FLOW']);
    expect(permissionsSchema.safeParse({ FLOW: 'VIEW' }).success).toBe(false);
    expect(permissionsSchema.safeParse(['FLOW']).success).toBe(false);
  });

  it('reads an entry holding READ as 1.x, converting its CRUD verbs', () => {
    expect(permissionsSchema.parse({ FLOW: ['READ', 'UPDATE'] })).toEqual({
      FLOW: ['VIEW', 'LIST', 'UPDATE', 'EXECUTE', 'EXPORT', 'DISABLE', 'ENABLE', 'VALIDATE'],
    });
    // without READ, UPDATE is the 2.0 action
    expect(permissionsSchema.parse({ FLOW: ['UPDATE'] })).toEqual({ FLOW: ['UPDATE'] });
  });

  it('mixes 1.x and 2.0 entries resource by resource, and 2.0 actions inside a 1.x entry', () => {
    expect(permissionsSchema.parse({
      EXECUTION: ['READ'], TRIGGER: ['BACKFILL'], APPEXECUTION: ['CREATE'], FLOW: ['READ', 'IMPORT'], APP: ['VIEW'],
    })).toEqual({
      FLOW: ['VIEW', 'LIST', 'EXPORT', 'IMPORT'],
      EXECUTION: ['VIEW', 'LIST', 'FOLLOW', 'ACCESS_LOGS', 'ACCESS_OUTPUTS', 'ACCESS_FILES', 'EXPORT'],
      TRIGGER: ['BACKFILL'],
      APP: ['VIEW', 'EXECUTE'],
    });
  });

  it('converts renamed 1.x resources and drops removed ones', () => {
    expect(permissionsSchema.parse({
      SETTING: ['READ', 'UPDATE'], AI_COPILOT: ['READ'], TENANT_ACCESS: ['READ', 'CREATE'], GROUP_MEMBERSHIP: ['UPDATE'],
      TEST: ['READ'], TEMPLATE: ['READ', 'CREATE'], IMPERSONATE: ['READ'], ME: ['READ'], APITOKEN: ['CREATE'],
    })).toEqual({
      TESTSUITE: ['VIEW', 'LIST'],
      USER: ['VIEW', 'LIST', 'CREATE'],
      GROUP: ['MANAGE_MEMBERS'],
      COPILOT: ['USE'],
      SYSTEM_SETTINGS: ['VIEW', 'UPDATE'],
      TENANT_SETTINGS: ['VIEW', 'UPDATE'],
    });
  });

  it('rejects 2.0 actions the 1.x resource\'s target lacks', () => {
    expect(messages({ AI_COPILOT: ['READ', 'KILL'] })).toEqual(['AI_COPILOT/1: COPILOT does not allow action KILL (valid: USE)']);
  });

  it('round-trips any valid 2.0 permissions', () => {
    const permissions = fc.record(
      Object.fromEntries(RESOURCES.map((r) => [r, fc.subarray([...PERMISSION_CATALOGUE[r]], { minLength: 1 })])),
      { requiredKeys: [] },
    );
    fc.assert(fc.property(permissions, (p) => {
      const parsed = permissionsSchema.parse(p);
      expect(parsed).toEqual(normalizePermissions(p as Permissions));
      expect(permissionsSchema.parse(parsed)).toEqual(parsed);
    }));
  });
});

describe('fromLegacyPermissions', () => {
  it('applies the migration table', () => {
    expect(fromLegacyPermissions({
      FLOW: ['READ', 'CREATE', 'UPDATE', 'DELETE'],
      EXECUTION: ['CREATE', 'UPDATE'],
      TRIGGER: ['UPDATE'],
      NAMESPACE: ['UPDATE'],
      USER: ['UPDATE'],
      GROUP: ['UPDATE'],
      AUDITLOG: ['READ', 'UPDATE'],
      KVSTORE: ['READ', 'DELETE'],
    })).toEqual({
      FLOW: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE', 'EXECUTE', 'EXPORT', 'IMPORT', 'DISABLE', 'ENABLE', 'VALIDATE'],
      EXECUTION: ['UPDATE', 'RESTART', 'KILL', 'REPLAY', 'PAUSE', 'RESUME', 'UNQUEUE', 'FORCE_RUN', 'CHANGE_LABELS'],
      TRIGGER: ['RESTART', 'DISABLE', 'ENABLE', 'UNLOCK', 'BACKFILL'],
      NAMESPACE: ['UPDATE', 'MANAGE_FILES'],
      KVSTORE: ['VIEW', 'LIST', 'DELETE'],
      AUDITLOG: ['VIEW', 'LIST', 'EXPORT'],
      USER: ['UPDATE', 'MANAGE_GROUP_MEMBERSHIP'],
      GROUP: ['UPDATE', 'MANAGE_MEMBERS'],
    });
  });

  it('reads CRUD verbs as 1.x even without READ', () => {
    expect(fromLegacyPermissions({ APP: ['UPDATE'] })).toEqual({ APP: ['UPDATE', 'EXECUTE', 'ACCESS_LOGS', 'ACCESS_FILES'] });
  });

  it('converts a 1.x Admin (every verb on every 1.x resource) without error', () => {
    const legacy = ['FLOW', 'EXECUTION', 'TRIGGER', 'NAMESPACE', 'KVSTORE', 'SECRET', 'CREDENTIAL', 'DASHBOARD', 'BLUEPRINT',
      'APP', 'APPEXECUTION', 'TEST', 'AUDITLOG', 'USER', 'GROUP', 'GROUP_MEMBERSHIP', 'ROLE', 'BINDING', 'TENANT_ACCESS',
      'SETTING', 'AI_COPILOT', 'TEMPLATE', 'IMPERSONATE', 'ME'];
    const converted = fromLegacyPermissions(Object.fromEntries(legacy.map((r) => [r, ['READ', 'CREATE', 'UPDATE', 'DELETE']])));
    expect(permissionsSchema.parse(converted)).toEqual(converted);
    expect(converted.USER).not.toContain('IMPERSONATE'); // must be re-granted by hand
  });

  it('throws naming what it cannot read', () => {
    expect(() => fromLegacyPermissions({ NOPE: ['READ'] })).toThrow(/unknown resource "NOPE"/);
    expect(() => fromLegacyPermissions({ FLOW: ['WRITE'] })).toThrow(/unknown action "WRITE" on FLOW/);
  });
});

describe('permissionCount', () => {
  it('counts distinct actions', () => {
    expect(permissionCount({})).toBe(0);
    expect(permissionCount({ FLOW: ['VIEW', 'VIEW', 'LIST'], COPILOT: ['USE'] })).toBe(3);
  });
});

describe('namespaces', () => {
  it.each([
    ['prod', 'prod', true], ['prod', 'prod.x', true], ['prod', 'prod.x.y', true],
    ['prod', 'production', false], ['prod', 'pro', false], ['prod.x', 'prod', false],
    ['prod', 'Prod', false], ['Prod', 'prod.x', false], ['prod', 'prod-x', false], ['prod.x', 'prod.xy', false],
  ])('%s covers %s: %s', (scope, target, expected) => {
    expect(namespaceCovers(scope, target)).toBe(expected);
  });

  it('lists parents outermost first', () => {
    expect(parentNamespaces('a.b.c')).toEqual(['a', 'a.b', 'a.b.c']);
    expect(parentNamespaces('solo')).toEqual(['solo']);
  });

  it('covers exactly the parents (property)', () => {
    const segment = fc.stringMatching(/^[a-c]{1,2}$/);
    const ns = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
    fc.assert(fc.property(ns, ns, (scope, target) => {
      expect(namespaceCovers(scope, target)).toBe(parentNamespaces(target).includes(scope));
    }));
  });

  it.each(['prod', 'company.team', 'a1.b_2.c-3', '0', 'a._x', 'x'.repeat(150)])('accepts %s', (ns) => {
    expect(namespaceSchema.safeParse(ns).success).toBe(true);
  });

  it.each(['', 'Prod', 'prod.', '.prod', 'a..b', '_a', '-a', 'a b', 'a/b', 'prod.é', 'x'.repeat(151)])('rejects "%s"', (ns) => {
    expect(namespaceSchema.safeParse(ns).success).toBe(false);
  });

  it('explains the rule', () => {
    expect(namespaceSchema.safeParse('a..b').error?.issues[0]?.message).toMatch(/segments separated by single dots/);
  });
});
