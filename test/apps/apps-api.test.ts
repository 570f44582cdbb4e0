/**
 * EE's Apps API served by Perch (issue 23, point 1): create/read/update/delete, search with tags,
 * tags, catalog, enable/disable, bulk operations, import/export; each answer checked against the
 * schema Kestra EE's spec gives for its operationId (the repository's derived contract); source errors
 * at their line; APP permissions and the author's own rights on the flow; audited with before/after.
 */
import { unzipSync, zipSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { storeTargets } from '../support/databases.js';
import { fileUpload } from '../support/multipart.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';

/** Ajv errors of `body` against the EE spec's response schema of `operationId` (empty: conforms). */
function specErrors(operationId: string, status: number, body: unknown): string[] {
  const derived = loadDerivedContract();
  const op = derived.operations.find((o) => o.operationId === operationId);
  const schema = op?.responses[String(status)]?.['application/json'];
  if (!schema) throw new Error(`${operationId} ${status} has no JSON schema`);
  const validate = contractAjv(convertComponents(derived.schemas)).compile(convertSchema(schema, 'root') as object);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

const appYaml = (id: string, extra = '') => `id: ${id}
type: io.kestra.plugin.ee.apps.Execution
displayName: ${id} form
namespace: company.team
flowId: hello
access:
  type: PUBLIC
  catalog: true
tags:
  - Reporting
${extra}layout:
  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Markdown
        content: Hello
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionButton
        text: Submit
  - on: SUCCESS
    blocks:
      - type: io.kestra.plugin.ee.apps.execution.blocks.Outputs
`;
const yaml = { 'content-type': 'application/x-yaml' };

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`Apps API on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('creates, reads, updates, searches by tag, lists tags, enables/disables and deletes, in EE shapes', async () => {
      const created = await admin.fetch('POST', '/api/v1/main/apps', { body: appYaml('request-form'), headers: yaml });
      expect(created.status, created.text).toBe(200);
      expect(specErrors('createApp', 200, created.json)).toEqual([]);
      expect(created.json).toMatchObject({ name: 'request-form form', namespace: 'company.team', tags: ['Reporting'], disabled: false, source: appYaml('request-form') });
      expect(created.json.uid).toMatch(/^[0-9A-Za-z]{22}$/);
      const uid = created.json.uid as string;

      const read = await admin.fetch('GET', `/api/v1/main/apps/${uid}`);
      expect(specErrors('getApp', 200, read.json)).toEqual([]);
      expect(read.json.source).toBe(appYaml('request-form'));

      const other = (await admin.fetch('POST', '/api/v1/main/apps', { body: appYaml('other').replace('  - Reporting', '  - Finance'), headers: yaml })).json;
      const search = await admin.fetch('GET', '/api/v1/main/apps/search?filters[tags][IN]=Reporting&page=1&size=10');
      expect(specErrors('searchApps', 200, search.json)).toEqual([]);
      expect(search.json.results.map((a: { uid: string }) => a.uid)).toEqual([uid]);
      expect(search.json.results[0]).toMatchObject({ id: 'request-form', type: 'io.kestra.plugin.ee.apps.Execution', flowId: 'hello', enabled: true });
      expect((await admin.fetch('GET', '/api/v1/main/apps/search?filters[q][EQUALS]=other')).json.results.map((a: { uid: string }) => a.uid)).toEqual([other.uid]);
      const tags = await admin.fetch('GET', '/api/v1/main/apps/tags');
      expect(specErrors('listTags', 200, tags.json)).toEqual([]);
      expect(tags.json).toEqual({ tags: ['Finance', 'Reporting'] });

      const updated = await admin.fetch('PUT', `/api/v1/main/apps/${uid}`, { body: appYaml('request-form').replace('displayName: request-form form', 'displayName: Requests'), headers: yaml });
      expect(updated.status).toBe(200);
      expect(specErrors('updateApp', 200, updated.json)).toEqual([]);
      expect(updated.json.name).toBe('Requests');

      const disabled = await admin.fetch('POST', `/api/v1/main/apps/${uid}/disable`);
      expect(specErrors('disableApp', 200, disabled.json)).toEqual([]);
      expect(disabled.json.enabled).toBe(false);
      expect((await admin.fetch('GET', `/api/v1/main/apps/${uid}`)).json.disabled).toBe(true);
      const catalog = await admin.fetch('GET', '/api/v1/main/apps/catalog?page=1&size=10');
      expect(specErrors('searchAppsFromCatalog', 200, catalog.json)).toEqual([]);
      expect(catalog.json.results.map((a: { uid: string }) => a.uid)).toEqual([other.uid]);
      const enabled = await admin.fetch('POST', `/api/v1/main/apps/${uid}/enable`);
      expect(specErrors('enableApp', 200, enabled.json)).toEqual([]);
      expect(enabled.json.enabled).toBe(true);

      const bulkDisable = await admin.fetch('POST', '/api/v1/main/apps/disable', { json: { uids: [uid, other.uid] } });
      expect(specErrors('bulkDisableApps', 200, bulkDisable.json)).toEqual([]);
      expect((await admin.fetch('GET', '/api/v1/main/apps/search?filters[q][EQUALS]=')).json.results.every((a: { enabled: boolean }) => !a.enabled)).toBe(true);
      expect((await admin.fetch('POST', '/api/v1/main/apps/enable', { json: { uids: [uid, 'NoSuchApp'] } })).status).toBe(404);
      expect((await admin.fetch('GET', `/api/v1/main/apps/${uid}`)).json.disabled).toBe(true);
      expect(specErrors('bulkEnableApps', 200, (await admin.fetch('POST', '/api/v1/main/apps/enable', { json: { uids: [uid, other.uid] } })).json)).toEqual([]);

      const dup = await admin.fetch('POST', '/api/v1/main/apps', { body: appYaml('other'), headers: yaml });
      expect(dup.status).toBe(409);

      expect((await admin.fetch('DELETE', `/api/v1/main/apps/${other.uid}`)).status).toBe(200);
      expect((await admin.fetch('GET', `/api/v1/main/apps/${other.uid}`)).status).toBe(404);
      // EE's runtime operations are not Perch's: the proxy answers 501 naming them.
      const view = await admin.fetch('GET', `/api/v1/main/apps/view/${uid}`);
      expect(view.status).toBe(501);
      expect(view.json.message).toMatch(/openApp/);
      const bulkDelete = await admin.fetch('DELETE', '/api/v1/main/apps', { json: { uids: [uid] } });
      expect(specErrors('bulkDeleteApps', 200, bulkDelete.json)).toEqual([]);
      expect((await admin.fetch('GET', '/api/v1/main/apps/search')).json.total).toBe(0);
    });

    it('names each source error at its line, and refuses what EE does not know', async () => {
      const typo = appYaml('typo').replace('        content: Hello', '        contnet: Hello');
      const res = await admin.fetch('POST', '/api/v1/main/apps', { body: typo, headers: yaml });
      expect(res.status).toBe(422);
      expect(res.json.errors).toContainEqual({ path: 'layout.0.blocks.0.contnet', message: 'Unrecognized key: "contnet"', line: 15, column: 18 });
      expect(res.json.errors).toContainEqual(expect.objectContaining({ path: 'layout.0.blocks.0.content', line: 14 }));

      const badSyntax = await admin.fetch('POST', '/api/v1/main/apps', { body: 'id: x\ntype: [unclosed\n', headers: yaml });
      expect(badSyntax.status).toBe(422);
      expect(badSyntax.json.errors[0].line).toBeGreaterThanOrEqual(2);

      const wrongStage = appYaml('stage').replace('  - on: SUCCESS\n    blocks:\n      - type: io.kestra.plugin.ee.apps.execution.blocks.Outputs', '  - on: SUCCESS\n    blocks:\n      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm');
      const stage = await admin.fetch('POST', '/api/v1/main/apps', { body: wrongStage, headers: yaml });
      expect(stage.status).toBe(422);
      expect(stage.json.errors[0]).toMatchObject({ line: 21, message: expect.stringMatching(/CreateExecutionForm is not allowed on SUCCESS/) });

      const alias = await admin.fetch('POST', '/api/v1/main/apps', { body: `x: &a 1\n${appYaml('alias').replace('flowId: hello', 'flowId: *a')}`, headers: yaml });
      expect(alias.status).toBe(422);
      expect((await admin.fetch('POST', '/api/v1/main/apps', { json: { id: 'json' } })).status).toBe(415);
      // previewApp checks the source the same way, and answers the first stage's blocks as EE's AppResponse.
      expect((await admin.fetch('POST', '/api/v1/main/apps/preview', { body: typo, headers: yaml })).status).toBe(422);
      const preview = await admin.fetch('POST', '/api/v1/main/apps/preview', { body: appYaml('preview'), headers: yaml });
      expect(specErrors('previewApp', 200, preview.json)).toEqual([]);
      expect(preview.json.layout.blocks.map((b: { type: string }) => b.type.split('.').pop())).toEqual(['Markdown', 'CreateExecutionForm', 'CreateExecutionButton']);
      expect((await admin.fetch('GET', '/api/v1/main/apps/search')).json.total).toBe(0);
    });

    it('exports a ZIP of sources and imports a ZIP or a multi-document YAML (replacing by id)', async () => {
      const a = (await admin.fetch('POST', '/api/v1/main/apps', { body: appYaml('exp-a'), headers: yaml })).json;
      const exported = await perch.perch.app.inject({
        method: 'POST', url: '/api/v1/main/apps/export', payload: { uids: [a.uid] },
        headers: { cookie: admin.cookieHeader()!, origin: perch.origin, host: new URL(perch.url).host },
      });
      expect(exported.statusCode).toBe(200);
      const files = unzipSync(exported.rawPayload);
      expect(Object.keys(files)).toEqual(['exp-a.yaml']);
      expect(Buffer.from(files['exp-a.yaml']!).toString()).toBe(appYaml('exp-a'));

      const multi = `${appYaml('imp-b')}---\n${appYaml('exp-a').replace('displayName: exp-a form', 'displayName: Replaced')}---\nid: broken\n`;
      const imported = await admin.fetch('POST', '/api/v1/main/apps/import', fileUpload(multi, 'apps.yaml'));
      expect(imported.status, imported.text).toBe(200);
      expect(specErrors('bulkImportApps', 200, imported.json)).toEqual([]);
      expect(imported.json.success).toHaveLength(2);
      expect(imported.json.success).toContain(a.uid);
      expect(imported.json.errors).toEqual([{ source: '2', message: expect.stringMatching(/Invalid app source/) }]);
      expect((await admin.fetch('GET', `/api/v1/main/apps/${a.uid}`)).json.name).toBe('Replaced');

      const zip = Buffer.from(zipSync({ 'c.yaml': strToU8(appYaml('zip-c')), 'notes.txt': strToU8('skipped') }));
      const fromZip = await admin.fetch('POST', '/api/v1/main/apps/import', fileUpload(zip, 'apps.zip'));
      expect(fromZip.json.success).toHaveLength(1);
      expect((await admin.fetch('GET', '/api/v1/main/apps/search?filters[q][EQUALS]=zip-c')).json.total).toBe(1);
    });

    it('refuses people without APP rights (403, nothing written), and authors who may not run the flow themselves', async () => {
      const outsider = await signedInPerson(perch, admin, 'outsider');
      expect((await outsider.browser.fetch('GET', '/api/v1/main/apps/search')).status).toBe(403);
      const refused = await outsider.browser.fetch('POST', '/api/v1/main/apps', { body: appYaml('nope'), headers: yaml });
      expect(refused.status).toBe(403);
      expect(refused.json.message).toMatch(/APP:CREATE/);
      expect((await admin.fetch('GET', '/api/v1/main/apps/search?filters[q][EQUALS]=nope')).json.total).toBe(0);

      // APP:CREATE alone: the app would run company.team.hello as Perch, which the author may not.
      const role = (await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'App author', permissions: { APP: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] } } })).json;
      const author = await signedInPerson(perch, admin, 'author');
      await bind(admin, { type: 'USER', externalId: author.id, roleId: role.id });
      const escalation = await author.browser.fetch('POST', '/api/v1/main/apps', { body: appYaml('escalate'), headers: yaml });
      expect(escalation.status).toBe(403);
      expect(escalation.json.message).toMatch(/FLOW: EXECUTE/);
      // With FLOW:EXECUTE and what the layout shows (outputs) on the namespace, the author may.
      const runner = (await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Runner', permissions: { FLOW: ['EXECUTE'], EXECUTION: ['ACCESS_OUTPUTS', 'ACCESS_FILES'] } } })).json;
      await bind(admin, { type: 'USER', externalId: author.id, roleId: runner.id, namespaceId: 'company' });
      const ok = await author.browser.fetch('POST', '/api/v1/main/apps', { body: appYaml('allowed'), headers: yaml });
      expect(ok.status, ok.text).toBe(200);
      expect((await author.browser.fetch('DELETE', `/api/v1/main/apps/${ok.json.uid}`)).status).toBe(403);
    });

    it('records creations, updates, enable/disable and deletions with the app before and after', async () => {
      const created = (await admin.fetch('POST', '/api/v1/main/apps', { body: appYaml('audited'), headers: yaml })).json;
      await admin.fetch('POST', `/api/v1/main/apps/${created.uid}/disable`);
      await admin.fetch('DELETE', `/api/v1/main/apps/${created.uid}`);
      const entries = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', created.uid).orderBy('seq').execute();
      expect(entries.map((e) => [e.resource_type, e.action])).toEqual([['APP', 'CREATE'], ['APP', 'UPDATE'], ['APP', 'DELETE']]);
      const states = await Promise.all(entries.map((e) => perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', e.id).executeTakeFirst()));
      expect(states[0]).toMatchObject({ kind: 'app', before: null });
      expect(JSON.parse(states[0]!.after!)).toMatchObject({ uid: created.uid, enabled: true });
      expect(JSON.parse(states[1]!.before!).enabled).toBe(true);
      expect(JSON.parse(states[1]!.after!).enabled).toBe(false);
      expect(JSON.parse(states[2]!.before!).source).toBe(appYaml('audited'));
      expect(states[2]!.after).toBeNull();
    });
  });
}
