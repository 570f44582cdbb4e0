import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/databases.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { bind, createPerson } from '../iam/iam-helpers.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`before/after of Perch's own entities on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    /** The entry of the last `action` on `resourceId`. */
    const lastEntry = (resourceId: string, action: string) =>
      perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', resourceId).where('action', '=', action).orderBy('date', 'desc').orderBy('seq', 'desc').executeTakeFirstOrThrow();

    it("links a user's update to its state before and after, without the password hash", async () => {
      const person = await createPerson(admin, 'diff-user');
      const put = await admin.fetch('PUT', `/api/v1/users/${person.id}`, { json: { email: person.email, firstName: 'Ada', lastName: 'Lovelace', password: 'another long enough password' } });
      expect(put.status, put.text).toBe(200);
      const entry = await lastEntry(person.id, 'UPDATE');
      expect(entry.tenant_id).toBe('_instance');
      const diff = await admin.fetch('GET', `/api/v1/auditlogs/${entry.id}/diff`);
      expect(diff.status, diff.text).toBe(200);
      expect(diff.json.kind).toBe('user');
      expect(JSON.parse(diff.json.before)).toMatchObject({ id: person.id, email: person.email, firstName: null });
      expect(JSON.parse(diff.json.after)).toMatchObject({ id: person.id, firstName: 'Ada', lastName: 'Lovelace' });
      expect(diff.json.unified).toContain('-  "firstName": null,');
      expect(diff.json.unified).toContain('+  "firstName": "Ada",');
      const hash = (await perch.perch.ctx.db.selectFrom('users').select('password_hash').where('id', '=', person.id).executeTakeFirstOrThrow()).password_hash!;
      const stored = await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', entry.id).executeTakeFirstOrThrow();
      for (const text of [diff.text, stored.before ?? '', stored.after ?? '']) {
        expect(text).not.toContain(hash);
        expect(text).not.toMatch(/password_?hash/i);
      }
      // The digests of both states are in the entry's details, hence in the chain.
      expect(JSON.parse(entry.details).states).toMatchObject({ kind: 'user' });
      // The tenant route does not reach the instance-wide chain.
      expect((await admin.fetch('GET', `/api/v1/main/auditlogs/${entry.id}/diff`)).status).toBe(404);
    });

    it("links a role's permission change to its state before and after", async () => {
      const created = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'diff-role', permissions: { FLOW: ['VIEW'] } } });
      expect(created.status, created.text).toBe(200);
      const id = created.json.id as string;
      const put = await admin.fetch('PUT', `/api/v1/main/roles/${id}`, { json: { name: 'diff-role', permissions: { FLOW: ['VIEW', 'UPDATE'] } } });
      expect(put.status, put.text).toBe(200);
      const entry = await lastEntry(id, 'UPDATE');
      const diff = await admin.fetch('GET', `/api/v1/main/auditlogs/${entry.id}/diff`);
      expect(diff.status, diff.text).toBe(200);
      expect(diff.json.kind).toBe('role');
      expect(JSON.parse(diff.json.before).permissions.FLOW).toEqual(['VIEW']);
      expect(JSON.parse(diff.json.after).permissions.FLOW).toEqual(expect.arrayContaining(['VIEW', 'UPDATE']));
      expect(diff.json.unified).toMatch(/^\+.*"UPDATE"/m);
    });

    it('links a group membership change to the group before and after', async () => {
      const person = await createPerson(admin, 'diff-member');
      const created = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'diff-group' } });
      expect(created.status, created.text).toBe(200);
      const id = created.json.id as string;
      expect((await admin.fetch('PUT', `/api/v1/main/groups/${id}/members/${person.id}`)).status).toBe(200);
      const entry = await lastEntry(id, 'UPDATE');
      const diff = await admin.fetch('GET', `/api/v1/main/auditlogs/${entry.id}/diff`);
      expect(diff.json.kind).toBe('group');
      expect(JSON.parse(diff.json.before).members).toEqual([]);
      expect(JSON.parse(diff.json.after).members).toEqual([{ id: person.id, username: person.email, membership: 'MEMBER' }]);
    });

    it('links a creation to the new entity as its state after, and nothing before', async () => {
      const person = await createPerson(admin, 'diff-created');
      const userEntry = await lastEntry(person.id, 'CREATE');
      const userDiff = await admin.fetch('GET', `/api/v1/auditlogs/${userEntry.id}/diff`);
      expect(userDiff.status, userDiff.text).toBe(200);
      expect(userDiff.json.kind).toBe('user');
      expect(userDiff.json.before).toBeNull();
      expect(JSON.parse(userDiff.json.after)).toMatchObject({ id: person.id, email: person.email });
      expect(userDiff.text).not.toMatch(/password_?hash/i);
      const id = await bind(admin, { type: 'USER', externalId: person.id, roleId: 'viewer', namespaceId: 'company.team' });
      const entry = await lastEntry(id, 'CREATE');
      const diff = await admin.fetch('GET', `/api/v1/main/auditlogs/${entry.id}/diff`);
      expect(diff.status, diff.text).toBe(200);
      expect(diff.json.kind).toBe('binding');
      expect(diff.json.before).toBeNull();
      expect(JSON.parse(diff.json.after)).toMatchObject({ id, namespace: 'company.team', role: { id: 'viewer' }, user: { id: person.id } });
      expect(diff.json.unified).toMatch(/^\+.*"company\.team"/m);
    });

    it('links a binding deletion to its state before, and nothing after', async () => {
      const person = await createPerson(admin, 'diff-binding');
      const id = await bind(admin, { type: 'USER', externalId: person.id, roleId: 'viewer', namespaceId: 'prod' });
      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${id}`)).status).toBe(204);
      const entry = await lastEntry(id, 'DELETE');
      const diff = await admin.fetch('GET', `/api/v1/main/auditlogs/${entry.id}/diff`);
      expect(diff.status, diff.text).toBe(200);
      expect(diff.json.kind).toBe('binding');
      expect(JSON.parse(diff.json.before)).toMatchObject({ id, type: 'USER', namespace: 'prod', role: { id: 'viewer' }, user: { id: person.id } });
      expect(diff.json.after).toBeNull();
      // A refused or failed change records no states.
      expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${id}`)).status).toBe(404);
    });
  });
}
