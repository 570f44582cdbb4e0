import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, grantRole, startBehindKestra, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

const V1 = 'id: diffed\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n';
const V2 = V1.replace('message: hi', 'message: hello');
const V3 = V2.replace('id: say', 'id: speak');

describe('audit log: flow source before/after, diff and revision authors', () => {
  let perch: RunningPerch;
  let admin: Browser;

  let close: () => Promise<void>;

  beforeAll(async () => ({ perch, admin, close } = await startBehindKestra()));
  afterAll(() => close?.());

  const yaml = { 'content-type': 'application/x-yaml' };
  const entries = () => perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('resource_type', '=', 'FLOW').orderBy('seq', 'asc').execute();

  it('stores the source before and after each create, update and delete, and serves the diff', async () => {
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: V1, headers: yaml })).status).toBe(200);
    const updated = await admin.fetch('PUT', '/api/v1/main/flows/company.team/diffed', { body: V2, headers: yaml });
    expect(updated.status).toBe(200);
    // The client still gets Kestra's answer, byte for byte.
    expect(updated.json).toMatchObject({ id: 'diffed', revision: 2, source: V2 });

    const [create, update] = await entries();
    expect(create).toMatchObject({ action: 'CREATE', resource_id: 'diffed', namespace: 'company.team' });
    expect(JSON.parse(create!.details)).toMatchObject({ revision: 1 });
    expect(JSON.parse(update!.details)).toMatchObject({ revision: 2, previousRevision: 1, states: { kind: 'flow-source' } });

    const createDiff = await admin.fetch('GET', `/api/v1/main/auditlogs/${create!.id}/diff`);
    expect(createDiff.status).toBe(200);
    expect(createDiff.json).toMatchObject({ before: null, after: V1 });

    const diff = await admin.fetch('GET', `/api/v1/main/auditlogs/${update!.id}/diff`);
    expect(diff.json).toMatchObject({ before: V1, after: V2 });
    expect(diff.json.unified).toContain('-    message: hi');
    expect(diff.json.unified).toContain('+    message: hello');

    expect((await admin.fetch('DELETE', '/api/v1/main/flows/company.team/diffed')).status).toBeLessThan(300);
    const del = (await entries()).find((e) => e.action === 'DELETE')!;
    const delDiff = await admin.fetch('GET', `/api/v1/main/auditlogs/${del.id}/diff`);
    expect(delDiff.json).toMatchObject({ before: V2, after: null });
  });

  it('the chain covers the stored states: their digests are in the hashed details', async () => {
    const update = (await entries()).find((e) => e.action === 'UPDATE')!;
    const { createHash } = await import('node:crypto');
    const digest = (t: string) => createHash('sha256').update(t).digest('hex');
    expect(JSON.parse(update.details).states).toEqual({ kind: 'flow-source', before: digest(V1), after: digest(V2) });
  });

  it('names who made each revision of a flow', async () => {
    const editor = await signedInPerson(perch, admin, 'flow-editor');
    await grantRole(perch.perch, editor.id, 'editor', 'company');
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: V1.replace('diffed', 'authored'), headers: yaml })).status).toBe(200);
    const put = await editor.browser.fetch('PUT', '/api/v1/main/flows/company.team/authored', { body: V2.replace('diffed', 'authored'), headers: yaml });
    expect(put.status).toBe(200);
    // Saving the same source again makes no revision: the author of revision 2 stays the editor.
    await admin.fetch('PUT', '/api/v1/main/flows/company.team/authored', { body: V2.replace('diffed', 'authored'), headers: yaml });
    expect((await admin.fetch('PUT', '/api/v1/main/flows/company.team/authored', { body: V3.replace('diffed', 'authored'), headers: yaml })).status).toBe(200);

    const revs = await admin.fetch('GET', '/api/v1/main/auditlogs/flows/company.team/authored/revisions');
    expect(revs.status).toBe(200);
    expect(revs.json.map((r: { revision: number; actor: { id: string } }) => [r.revision, r.actor.id])).toEqual([
      [1, expect.any(String)],
      [2, editor.id],
      [3, expect.any(String)],
    ]);
    expect(revs.json[0].actor.id).not.toBe(editor.id);
    expect(revs.json[2].actor.id).not.toBe(editor.id);
  });

  it('refuses the diff to someone without AUDITLOG permissions', async () => {
    const viewer = await signedInPerson(perch, admin, 'no-audit');
    const update = (await entries()).find((e) => e.action === 'UPDATE')!;
    expect((await viewer.browser.fetch('GET', `/api/v1/main/auditlogs/${update.id}/diff`)).status).toBe(403);
  });
});
