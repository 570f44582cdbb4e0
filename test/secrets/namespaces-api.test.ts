import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceSchema } from '../../lib/schemas/namespaces.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startBehindKestra, startSignedIn, type RunningPerch } from '../support/perch.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`namespaces as EE entities on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('creates, reads, updates and deletes a namespace with its EE fields', async () => {
      const body = { id: 'company', description: 'The company', variables: { region: 'eu', team: 'all' }, allowedNamespaces: [{ namespace: 'company.team' }], outputsInInternalStorage: true };
      const created = await admin.fetch('POST', '/api/v1/main/namespaces', { json: body });
      expect(created.status, created.text).toBe(200);
      expect(namespaceSchema.parse(created.json)).toEqual({ ...body, deleted: false });
      expect((await admin.fetch('POST', '/api/v1/main/namespaces', { json: body })).status).toBe(409);

      const read = await admin.fetch('GET', '/api/v1/main/namespaces/company');
      expect(read.json).toEqual({ ...body, deleted: false });

      const updated = await admin.fetch('PUT', '/api/v1/main/namespaces/company', { json: { id: 'company', description: 'Renamed', variables: { region: 'us' } } });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.json).toEqual({ id: 'company', deleted: false, description: 'Renamed', variables: { region: 'us' } });

      const other = await admin.fetch('PUT', '/api/v1/main/namespaces/company', { json: { id: 'elsewhere' } });
      expect(other.status).toBe(422);
      expect((await admin.fetch('PUT', '/api/v1/main/namespaces/never.made', { json: { id: 'never.made' } })).status).toBe(404);

      expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company')).status).toBe(204);
      // Gone as an entity; still a placeholder (Kestra may know it from flows).
      expect((await admin.fetch('GET', '/api/v1/main/namespaces/company')).json).toEqual({ id: 'company', deleted: false });
      expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company')).status).toBe(404);
    });

    it('merges the ancestors\' variables, the nearest winning', async () => {
      await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'acme', variables: { region: 'eu', owner: 'acme' } } });
      await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'acme.data', variables: { region: 'us' } } });
      await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'acme.data.etl', variables: { own: 'not inherited' } } });
      const res = await admin.fetch('GET', '/api/v1/main/namespaces/acme.data.etl/inherited-variables');
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ region: 'us', owner: 'acme' });
    });

    it('refuses what it cannot keep: bad ids, deleted: true, a per-namespace manager connection', async () => {
      expect((await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'Upper.Case' } })).status).toBe(422);
      expect((await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'x', deleted: true } })).status).toBe(422);
      const vault = await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'x', secretType: 'vault', secretConfiguration: { address: 'http://vault' } } });
      expect(vault.status).toBe(501);
      expect(vault.json.message).toMatch(/secretType/);
      expect((await admin.fetch('GET', '/api/v1/main/namespaces/x')).json).toEqual({ id: 'x', deleted: false });
    });

    it('checks NAMESPACE permissions on the namespace itself or a parent', async () => {
      const dev = await signedInPerson(perch, admin, 'ns-dev');
      await bind(admin, { type: 'USER', externalId: dev.id, roleId: 'developer', namespaceId: 'team' });
      const viewer = await signedInPerson(perch, admin, 'ns-viewer');
      await bind(admin, { type: 'USER', externalId: viewer.id, roleId: 'viewer', namespaceId: 'team' });

      expect((await dev.browser.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'team.a', description: 'mine' } })).status).toBe(200);
      const outside = await dev.browser.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'other' } });
      expect(outside.status).toBe(403);
      expect(outside.json.message).toMatch(/NAMESPACE:CREATE on namespace other/);

      expect((await viewer.browser.fetch('GET', '/api/v1/main/namespaces/team.a')).json.description).toBe('mine');
      expect((await viewer.browser.fetch('PUT', '/api/v1/main/namespaces/team.a', { json: { id: 'team.a' } })).status).toBe(403);
      expect((await viewer.browser.fetch('DELETE', '/api/v1/main/namespaces/team.a')).status).toBe(403);
      expect((await viewer.browser.fetch('GET', '/api/v1/main/namespaces/other')).status).toBe(403);
      expect((await dev.browser.fetch('DELETE', '/api/v1/main/namespaces/team.a')).status).toBe(204);
    });

    it('audits each change with the namespace before and after', async () => {
      await admin.fetch('POST', '/api/v1/main/namespaces', { json: { id: 'audited', description: 'v1' } });
      await admin.fetch('PUT', '/api/v1/main/namespaces/audited', { json: { id: 'audited', description: 'v2' } });
      await admin.fetch('DELETE', '/api/v1/main/namespaces/audited');
      const db = perch.perch.ctx.db;
      const rows = await db.selectFrom('audit_log').leftJoin('audit_states', 'audit_states.entry_id', 'audit_log.id')
        .select(['audit_log.action', 'audit_log.resource_type', 'audit_log.resource_id', 'audit_log.namespace', 'audit_states.kind', 'audit_states.before', 'audit_states.after'])
        .where('audit_log.resource_type', '=', 'NAMESPACE').where('audit_log.resource_id', '=', 'audited').orderBy('audit_log.seq').execute();
      expect(rows.map((r) => [r.action, r.kind, r.before && JSON.parse(r.before).description, r.after && JSON.parse(r.after).description])).toEqual([
        ['CREATE', 'namespace', null, 'v1'],
        ['UPDATE', 'namespace', 'v1', 'v2'],
        ['DELETE', 'namespace', 'v2', null],
      ]);
      expect(rows.slice(1).every((r) => r.namespace === 'audited')).toBe(true);
    });
  });
}

describe('Kestra OSS namespace routes stay proxied', () => {
  it('sends search, autocomplete and namespace files to Kestra, and answers the EE entity itself', async () => {
    const { kestra, admin, close } = await startBehindKestra();
    try {
      for (const [method, path] of [['GET', '/api/v1/main/namespaces/search?page=1&size=10'], ['POST', '/api/v1/main/namespaces/autocomplete'], ['GET', '/api/v1/main/namespaces/company/files/directory']] as const) {
        kestra.clear();
        await admin.fetch(method, path, method === 'POST' ? { json: { q: '' } } : {});
        expect(kestra.requests.map((r) => r.url.split('?')[0]), path).toEqual([path.split('?')[0]]);
      }
      kestra.clear();
      expect((await admin.fetch('GET', '/api/v1/main/namespaces/company')).json).toEqual({ id: 'company', deleted: false });
      expect((await admin.fetch('GET', '/api/v1/main/secrets')).json).toEqual({ readOnly: false, results: [], total: 0 });
      expect(kestra.requests).toEqual([]);
    } finally {
      await close();
    }
  });
});
