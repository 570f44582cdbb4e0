import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretListSchema, secretMetaSchema } from '../../lib/schemas/secrets.js';
import { secretPlace } from '../../backend/secrets/secret-store.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type Answer, type RunningPerch } from '../support/perch.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { expectNoPlainValues } from './no-plain-values.js';

/** Values no answer, log line or audit row may ever hold once written. */
const VALUES = ['s3cr3t-value-ONE-7f1c', 's3cr3t-value-TWO-99ab', 's3cr3t-value-THREE-c0de'];

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`namespace secrets on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    const logs: string[] = [];
    const answers: Answer[] = [];
    const call = async (browser: Browser, method: string, path: string, json?: unknown) => {
      const res = await browser.fetch(method, path, json === undefined ? {} : { json });
      answers.push(res);
      return res;
    };

    beforeAll(async () => {
      const logStream = new PassThrough();
      logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
      ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url(), logStream, config: { logLevel: 'debug' } }));
    });
    afterAll(() => perch?.close());

    it('writes a secret, lists its metadata, never its value', async () => {
      const put = await call(admin, 'PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'GITHUB_TOKEN', value: VALUES[0], description: 'CI token', tags: [{ key: 'owner', value: 'ci' }] });
      expect(put.status, put.text).toBe(200);
      expect(put.json).toEqual([{ key: 'GITHUB_TOKEN', namespace: 'company.team', description: 'CI token', tags: [{ key: 'owner', value: 'ci' }] }]);
      await call(admin, 'PUT', '/api/v1/main/namespaces/company/secrets', { key: 'DB_PASSWORD', value: VALUES[1] });
      await call(admin, 'PUT', '/api/v1/main/namespaces/other/secrets', { key: 'API_KEY', value: VALUES[2] });

      const list = await call(admin, 'GET', '/api/v1/main/secrets?size=2&page=1');
      const page = secretListSchema.parse(list.json);
      expect(page).toMatchObject({ readOnly: false, total: 3 });
      expect(page.results.map((s) => `${s.namespace}/${s.key}`)).toEqual(['company/DB_PASSWORD', 'company.team/GITHUB_TOKEN']);
      expect((await call(admin, 'GET', '/api/v1/main/secrets?size=2&page=2')).json.results.map((s: { key: string }) => s.key)).toEqual(['API_KEY']);
      const filtered = await call(admin, 'GET', '/api/v1/main/secrets?filters[namespace][PREFIX]=company&sort=key:desc');
      expect(filtered.json.results.map((s: { key: string }) => s.key)).toEqual(['GITHUB_TOKEN', 'DB_PASSWORD']);
      expect((await call(admin, 'GET', '/api/v1/main/secrets?filters[q][EQUALS]=ci%20tok')).json.results.map((s: { key: string }) => s.key)).toEqual(['GITHUB_TOKEN']);
      expect((await call(admin, 'GET', '/api/v1/main/secrets?filters[value][EQUALS]=x')).status).toBe(400);

      const inherited = await call(admin, 'GET', '/api/v1/main/namespaces/company.team.etl/inherited-secrets');
      expect(inherited.json).toEqual({ company: ['DB_PASSWORD'], 'company.team': ['GITHUB_TOKEN'] });
    });

    it('replaces a value, patches metadata only, deletes', async () => {
      const replaced = await call(admin, 'PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'GITHUB_TOKEN', value: `${VALUES[0]}-rotated` });
      expect(replaced.status).toBe(200);
      const row = await perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'GITHUB_TOKEN').executeTakeFirstOrThrow();
      expect(row.value!).not.toContain(VALUES[0]);
      expect(perch.perch.ctx.envelope.openText(row.value!, secretPlace(row.id))).toBe(`${VALUES[0]}-rotated`);

      const patched = await call(admin, 'PATCH', '/api/v1/main/namespaces/company.team/secrets/GITHUB_TOKEN', { description: 'new', tags: [] });
      expect(patched.status, patched.text).toBe(200);
      expect(secretMetaSchema.array().parse(patched.json)).toEqual([{ key: 'GITHUB_TOKEN', namespace: 'company.team', description: 'new', tags: [] }]);
      expect((await call(admin, 'PATCH', '/api/v1/main/namespaces/company.team/secrets/GITHUB_TOKEN', { namespace: 'other', tags: [] })).status).toBe(422);
      expect((await call(admin, 'PATCH', '/api/v1/main/namespaces/other/secrets/GITHUB_TOKEN', { tags: [] })).status).toBe(404);

      expect((await call(admin, 'DELETE', '/api/v1/main/namespaces/other/secrets/API_KEY')).status).toBe(200);
      expect((await call(admin, 'DELETE', '/api/v1/main/namespaces/other/secrets/API_KEY')).status).toBe(404);
      expect(perch.perch.ctx.secretKeys.ownerOf('main', 'API_KEY')).toBeNull();
    });

    it('keeps a key unique across namespaces, saying why', async () => {
      const second = await call(admin, 'PUT', '/api/v1/main/namespaces/elsewhere/secrets', { key: 'github_token', value: 'another value' });
      expect(second.status).toBe(409);
      expect(second.json.message).toMatch(/GITHUB_TOKEN.*already used by namespace company\.team.*one environment shared by every namespace/i);
      expect(perch.perch.ctx.secretKeys.ownerOf('main', 'GITHUB_TOKEN')).toBe('company.team');
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/elsewhere/secrets', { key: 'bad-key', value: 'x' })).status).toBe(422);
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/elsewhere/secrets', { key: 'EMPTY', value: '' })).status).toBe(422);
    });

    it('checks SECRET permissions per namespace', async () => {
      const dev = await signedInPerson(perch, admin, 'secret-dev');
      await bind(admin, { type: 'USER', externalId: dev.id, roleId: 'developer', namespaceId: 'company.team' });
      const editor = await signedInPerson(perch, admin, 'secret-editor');
      await bind(admin, { type: 'USER', externalId: editor.id, roleId: 'editor', namespaceId: 'company.team' });

      expect((await call(dev.browser, 'PUT', '/api/v1/main/namespaces/company.team.etl/secrets', { key: 'ETL_TOKEN', value: VALUES[2] })).status).toBe(200);
      const outside = await call(dev.browser, 'PUT', '/api/v1/main/namespaces/company/secrets', { key: 'DB_PASSWORD', value: 'overwrite' });
      expect(outside.status).toBe(403);
      // Only what the caller may list: company.team and below.
      expect((await call(dev.browser, 'GET', '/api/v1/main/secrets')).json.results.map((s: { key: string }) => s.key)).toEqual(['GITHUB_TOKEN', 'ETL_TOKEN']);
      expect((await call(dev.browser, 'GET', '/api/v1/main/namespaces/company.team.etl/inherited-secrets')).json).toEqual({ 'company.team': ['GITHUB_TOKEN'] });
      // A key taken in a namespace the caller cannot see is refused without naming it.
      const hidden = await call(dev.browser, 'PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'DB_PASSWORD', value: 'x' });
      expect(hidden.status).toBe(409);
      expect(hidden.json.message).toMatch(/another namespace/);

      // Editors hold no SECRET permission (behaviour spec §2.7).
      expect((await call(editor.browser, 'GET', '/api/v1/main/secrets')).status).toBe(403);
      expect((await call(editor.browser, 'PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'NEW_ONE', value: 'x' })).status).toBe(403);
      expect((await call(editor.browser, 'DELETE', '/api/v1/main/namespaces/company.team/secrets/GITHUB_TOKEN')).status).toBe(403);
    });

    it('audits key, namespace, actor and time of each write, never the value', async () => {
      const rows = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'SECRET').orderBy('seq').execute();
      const writes = rows.filter((r) => r.outcome === 'SUCCESS');
      expect(writes.map((r) => [r.action, r.resource_id, r.namespace])).toContainEqual(['UPDATE', 'company.team/GITHUB_TOKEN', 'company.team']);
      expect(writes.map((r) => [r.action, r.resource_id])).toContainEqual(['DELETE', 'other/API_KEY']);
      expect(writes.every((r) => r.actor_email && r.date > 0)).toBe(true);
    });

    it('no secret value appears in any answer, log line, audit row or audit state (grep)', async () => {
      await expectNoPlainValues(perch, VALUES, { answers, logs });
    });
  });
}
