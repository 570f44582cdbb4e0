/**
 * Conformance of Perch's EE operations with Kestra EE's OpenAPI spec: statuses, required
 * fields and request fields the spec documents, each answer checked with Ajv against the spec's own
 * schema for that operation (converted as for the Kestra double).
 */
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';

/** Validators for the response schemas of the spec's EE operations, by operationId and status. */
function eeResponseSchemas() {
  const derived = loadDerivedContract();
  const ajv = contractAjv(convertComponents(derived.schemas));
  const ops = new Map(derived.operations.map((op) => [op.operationId, op.responses]));
  return {
    /** The statuses the spec documents for an operation. */
    statuses: (operationId: string) => Object.keys(ops.get(operationId) ?? {}).map(Number),
    /** Ajv errors of `body` against the operation's JSON schema for `status` (empty: valid). */
    errors(operationId: string, status: number, body: unknown): string[] {
      const schema = ops.get(operationId)?.[String(status)]?.['application/json'];
      if (!schema) throw new Error(`${operationId} ${status} has no JSON schema`);
      const validate: ValidateFunction = ajv.compile(convertSchema(schema, 'root') as object);
      return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
    },
    component(name: string, value: unknown): string[] {
      const validate = ajv.getSchema(`kestra-openapi#/components/schemas/${name}`)!;
      return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
    },
  };
}

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`EE operations against the spec on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    const spec = eeResponseSchemas();

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('createUser and updateUser apply `groups` (404 for an unknown group or tenant, nothing written), and ApiUser lists them', async () => {
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'deployers' } })).json;

      const unknownGroup = await admin.fetch('POST', '/api/v1/users', { json: { email: 'nogroup@example.com', groups: ['nope'] } });
      expect(unknownGroup.status).toBe(404);
      expect(unknownGroup.json.message).toMatch(/Group nope/);
      const unknownTenant = await admin.fetch('POST', '/api/v1/users', { json: { email: 'notenant@example.com', tenants: ['elsewhere'] } });
      expect(unknownTenant.status).toBe(404);
      expect((await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=nogroup')).json.total).toBe(0);
      expect((await admin.fetch('GET', '/api/v1/users?filters[q][EQUALS]=notenant')).json.total).toBe(0);

      const created = await admin.fetch('POST', '/api/v1/users', {
        json: { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', tenants: ['main'], groups: [group.id] },
      });
      expect(created.status).toBe(201);
      expect(spec.errors('createUser', 201, created.json)).toEqual([]);
      expect(created.json.groups).toEqual([{ id: group.id, tenantId: 'main' }]);
      const members = await admin.fetch('GET', `/api/v1/main/groups/${group.id}/members`);
      expect(members.json.results.map((m: { id: string }) => m.id)).toEqual([created.json.id]);
      expect((await admin.fetch('GET', `/api/v1/users/${created.json.id}`)).json.groups).toEqual([{ id: group.id, tenantId: 'main' }]);

      // PUT without `groups` leaves them; with `groups: []` it empties them.
      const kept = await admin.fetch('PUT', `/api/v1/users/${created.json.id}`, { json: { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper' } });
      expect(kept.json.groups).toEqual([{ id: group.id, tenantId: 'main' }]);
      expect((await admin.fetch('PUT', `/api/v1/users/${created.json.id}`, { json: { email: 'grace@example.com', groups: ['nope'] } })).status).toBe(404);
      const emptied = await admin.fetch('PUT', `/api/v1/users/${created.json.id}`, { json: { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', groups: [] } });
      expect(emptied.status).toBe(200);
      expect(spec.errors('updateUser', 200, emptied.json)).toEqual([]);
      expect(emptied.json.groups).toEqual([]);
      expect((await admin.fetch('GET', `/api/v1/main/groups/${group.id}/members`)).json.total).toBe(0);
    });

    it('takes back what it answers: a user read with no names (null) is accepted by updateUser and patchUser as it is', async () => {
      const created = (await admin.fetch('POST', '/api/v1/users', { json: { email: 'roundtrip@example.com' } })).json;
      const read = (await admin.fetch('GET', `/api/v1/users/${created.id}`)).json;
      expect(read.firstName ?? null).toBeNull();
      const put = await admin.fetch('PUT', `/api/v1/users/${created.id}`, { json: { ...read, firstName: null, lastName: null, tenants: undefined, groups: undefined } });
      expect(put.status).toBe(200);
      const patched = await admin.fetch('PATCH', `/api/v1/users/${created.id}`, { json: { firstName: 'Ana', lastName: null } });
      expect(patched.status).toBe(200);
      expect(patched.json.firstName).toBe('Ana');
      // null clears a name PATCH gives, absence keeps it.
      expect((await admin.fetch('PATCH', `/api/v1/users/${created.id}`, { json: { lastName: 'Lima' } })).json.firstName).toBe('Ana');
      expect((await admin.fetch('PATCH', `/api/v1/users/${created.id}`, { json: { firstName: null } })).json.firstName ?? null).toBeNull();
    });

    it('answers the statuses the spec documents: patchUserSuperAdmin 200, deleteServiceAccountForTenant 200', async () => {
      const user = (await admin.fetch('POST', '/api/v1/users', { json: { email: 'owner2@example.com' } })).json;
      const promoted = await admin.fetch('PATCH', `/api/v1/users/${user.id}/superadmin`, { json: { superAdmin: true } });
      expect(spec.statuses('patchUserSuperAdmin')).toContain(promoted.status);
      expect(promoted.status).toBe(200);
      expect((await admin.fetch('GET', `/api/v1/users/${user.id}`)).json.superAdmin).toBe(true);

      const account = (await admin.fetch('POST', '/api/v1/main/service-accounts', { json: { name: 'ci-bot' } })).json;
      const deleted = await admin.fetch('DELETE', `/api/v1/main/service-accounts/${account.id}`);
      expect(spec.statuses('deleteServiceAccountForTenant')).toContain(deleted.status);
      expect(deleted.status).toBe(200);
      expect((await admin.fetch('GET', `/api/v1/main/service-accounts/${account.id}`)).status).toBe(404);
    });

    it('GET /api/v1/me/invitations answers `Invitation` entities (deleted, groupIds, Binding-shaped bindings)', async () => {
      const role = (await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'readers', description: 'read', permissions: { FLOW: ['VIEW'] } } })).json;
      const group = (await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'invitees', description: 'invited' } })).json;
      const invited = await admin.fetch('POST', '/api/v1/main/invitations', { json: { email: 'ada@example.com', roles: [{ id: role.id, namespaces: ['company'] }, { id: role.id }], groups: [group.id] } });
      expect(invited.status).toBe(201);
      // Ada has an account already (made by an owner after the invitation was sent) and looks at her invitations.
      const ada = (await admin.fetch('POST', '/api/v1/users', { json: { email: 'ada@example.com', password: 'analytical engine 1843' } })).json;
      const browser = new Browser(perch);
      await browser.login('ada@example.com', 'analytical engine 1843');
      const mine = await browser.fetch('GET', '/api/v1/me/invitations');
      expect(mine.status).toBe(200);
      expect(mine.json).toHaveLength(1);
      expect(spec.errors('findAllInvitationsForCurrentUser', 200, mine.json)).toEqual([]);
      expect(mine.json[0]).toMatchObject({ email: 'ada@example.com', tenantId: 'main', status: 'PENDING', deleted: false, groupIds: [group.id] });
      expect(mine.json[0].bindings).toEqual([
        { type: 'USER', externalId: ada.id, roleId: role.id, namespaceId: 'company', deleted: false },
        { type: 'USER', externalId: ada.id, roleId: role.id, deleted: false },
      ]);
    });

    it('audit log items carry an ApiUser with the required username, email and type', async () => {
      await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'audited', description: 'x' } });
      const page = await admin.fetch('GET', '/api/v1/main/auditlogs/search?size=50');
      expect(page.status).toBe(200);
      const users = page.json.results.map((item: { user: unknown }) => item.user).filter(Boolean);
      expect(users.length).toBeGreaterThan(0);
      for (const user of users) expect(spec.component('ApiUser', user)).toEqual([]);
      expect(users[0]).toMatchObject({ type: 'STANDARD', email: users[0].username });
    });

    it('a 405 for a method Perch never accepts names the accepted ones in Allow', async () => {
      const traced = await admin.fetch('TRACE', '/api/v1/main/roles/x');
      expect(traced.status).toBe(405);
      expect(traced.json.message).toMatch(/TRACE/);
      expect(traced.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    });
  });
}

/** Issue 21: namespaces as EE entities and namespace secrets, each answer against the spec's schema. */
for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`EE namespaces and secrets against the spec on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    const spec = eeResponseSchemas();

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('createNamespace, getNamespace, updateNamespace, inheritedVariables, deleteNamespace', async () => {
      const body = { id: 'conf', description: 'd', variables: { a: { b: 1 } }, allowedNamespaces: [{ namespace: 'conf.x' }], secretReadOnly: false };
      expect(spec.component('Namespace', { ...body, deleted: false })).toEqual([]);
      const created = await admin.fetch('POST', '/api/v1/main/namespaces', { json: body });
      expect(spec.statuses('createNamespace')).toContain(created.status);
      expect(spec.errors('createNamespace', 200, created.json)).toEqual([]);
      await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'conf.x' } });
      for (const id of ['conf', 'conf.x', 'placeholder.only']) {
        const read = await admin.fetch('GET', `/api/v1/main/namespaces/${id}`);
        expect(spec.errors('getNamespace', 200, read.json)).toEqual([]);
      }
      const updated = await admin.fetch('PUT', '/api/v1/main/namespaces/conf', { json: { ...body, description: 'e' } });
      expect(spec.errors('updateNamespace', 200, updated.json)).toEqual([]);
      const inherited = await admin.fetch('GET', '/api/v1/main/namespaces/conf.x/inherited-variables');
      expect(spec.errors('inheritedVariables', 200, inherited.json)).toEqual([]);
      expect(inherited.json).toEqual({ a: { b: 1 } });
      const deleted = await admin.fetch('DELETE', '/api/v1/main/namespaces/conf.x');
      expect(spec.statuses('deleteNamespace')).toContain(deleted.status);
    });

    it('putSecrets, patchSecret, listSecrets, getInheritedSecrets, deleteSecret', async () => {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/conf/secrets', { json: { key: 'CONF_KEY', value: 'v', description: 'x', tags: [{ key: 'k', value: 'v' }] } });
      expect(spec.errors('putSecrets', 200, put.json)).toEqual([]);
      const patched = await admin.fetch('PATCH', '/api/v1/main/namespaces/conf/secrets/CONF_KEY', { json: { key: 'CONF_KEY', namespace: 'conf', tags: [] } });
      expect(spec.errors('patchSecret', 200, patched.json)).toEqual([]);
      const list = await admin.fetch('GET', '/api/v1/main/secrets?filters[namespace][EQUALS]=conf');
      expect(spec.errors('listSecrets', 200, list.json)).toEqual([]);
      expect(list.json.total).toBe(1);
      const inherited = await admin.fetch('GET', '/api/v1/main/namespaces/conf.deeper/inherited-secrets');
      expect(spec.errors('getInheritedSecrets', 200, inherited.json)).toEqual([]);
      const deleted = await admin.fetch('DELETE', '/api/v1/main/namespaces/conf/secrets/CONF_KEY');
      expect(spec.statuses('deleteSecret')).toContain(deleted.status);
    });
  });
}
