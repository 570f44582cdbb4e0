/**
 * EE's worker group registry served by Perch (issue 25, point 2): list/create/get/update/delete under
 * `/api/v1/instance/worker-groups`, each answer checked against the schema EE's spec gives for its
 * operation (the repository's derived contract); instance owners only; a Docker host or a namespace
 * belongs to one group (409, nothing half-written); audited with before/after states.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { storeTargets } from '../support/databases.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

/** Ajv errors of `body` against EE's response schema of `method path` (empty: conforms). */
function specErrors(method: string, path: string, status: number, body: unknown): string[] {
  const derived = loadDerivedContract();
  const op = derived.operations.find((o) => o.method === method && o.path === path);
  const schema = op?.responses[String(status)]?.['application/json'];
  if (!schema) throw new Error(`${method} ${path} ${status} has no JSON schema`);
  const validate = contractAjv(convertComponents(derived.schemas)).compile(convertSchema(schema, 'root') as object);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

const BASE = '/api/v1/instance/worker-groups';
const gpu = {
  id: 'gpu', name: 'GPU machines', description: 'Training boxes', subscriptions: [],
  targets: [{ id: 'gpu-1', kind: 'docker', host: 'tcp://gpu-1.internal:2375' }],
  namespaces: ['ml'],
};

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`worker group registry on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() })));
    afterAll(() => perch?.close());

    it('creates, lists, reads, replaces and deletes groups in EE shapes', async () => {
      const created = await admin.fetch('POST', BASE, { json: gpu });
      expect(created.status, created.text).toBe(200);
      expect(specErrors('POST', BASE, 200, created.json)).toEqual([]);
      expect(created.json).toMatchObject({ id: 'gpu', name: 'GPU machines', description: 'Training boxes', subscriptions: [], tokens: [], deletable: true, targets: gpu.targets, namespaces: ['ml'] });

      const list = await admin.fetch('GET', BASE);
      expect(specErrors('GET', BASE, 200, list.json)).toEqual([]);
      expect(list.json.workerGroups.map((g: { id: string }) => g.id)).toEqual(['gpu']);

      const read = await admin.fetch('GET', `${BASE}/gpu`);
      expect(specErrors('GET', `${BASE}/{id}`, 200, read.json)).toEqual([]);
      expect(read.json).toEqual(created.json);

      const replaced = await admin.fetch('PUT', `${BASE}/gpu`, { json: { name: 'GPU', subscriptions: [], targets: [{ id: 'gpu-2', kind: 'docker', host: 'tcp://10.0.0.7:2376' }], namespaces: ['ml.train', 'ml.eval'] } });
      expect(replaced.status, replaced.text).toBe(200);
      expect(specErrors('PUT', `${BASE}/{id}`, 200, replaced.json)).toEqual([]);
      // PUT replaces the whole desired state: the old target, namespace and description are gone.
      expect(replaced.json).toMatchObject({ name: 'GPU', targets: [{ id: 'gpu-2', host: 'tcp://10.0.0.7:2376' }], namespaces: ['ml.eval', 'ml.train'] });
      expect(replaced.json.description).toBeUndefined();

      expect((await admin.fetch('DELETE', `${BASE}/gpu`)).status).toBe(409);
      expect((await admin.fetch('DELETE', `${BASE}/gpu?force=true`)).status).toBe(204);
      expect((await admin.fetch('GET', `${BASE}/gpu`)).status).toBe(404);
      expect((await admin.fetch('DELETE', `${BASE}/gpu`)).status).toBe(404);
      expect((await admin.fetch('GET', BASE)).json).toEqual({ workerGroups: [] });
    });

    it('refuses malformed groups with 422 naming the field, and non-canonical Docker hosts', async () => {
      for (const [body, field] of [
        [{ ...gpu, id: 'GPU' }, 'id'],
        [{ ...gpu, subscriptions: [{ workerQueueId: 'default' }] }, 'subscriptions'],
        [{ ...gpu, targets: [{ id: 'a', kind: 'docker', host: 'tcp://GPU-1.internal:2375' }] }, 'targets.0.host'],
        [{ ...gpu, targets: [{ id: 'a', kind: 'docker', host: 'tcp://gpu-1.internal' }] }, 'targets.0.host'],
        [{ ...gpu, targets: [{ id: 'a', kind: 'docker', host: 'tcp://x@gpu-1.internal:2375' }] }, 'targets.0.host'],
        [{ ...gpu, targets: [{ id: 'a', kind: 'docker', host: 'https://gpu-1.internal:2376' }] }, 'targets.0.host'],
        [{ ...gpu, targets: [{ id: 'a', kind: 'docker', host: 'unix:///var/run/../docker.sock' }] }, 'targets.0.host'],
        [{ ...gpu, targets: [{ id: 'a', kind: 'docker', host: 'tcp://{{ inputs.h }}:2375' }] }, 'targets.0.host'],
        [{ ...gpu, namespaces: ['ml', 'ml'] }, 'namespaces'],
      ] as const) {
        const answer = await admin.fetch('POST', BASE, { json: body });
        expect(answer.status, JSON.stringify(body)).toBe(422);
        expect(answer.json.errors.map((e: { path: string }) => e.path)).toContain(field);
      }
      expect((await admin.fetch('GET', BASE)).json).toEqual({ workerGroups: [] });
    });

    it('gives a Docker host and a namespace to one group only, writing nothing of a refused group', async () => {
      expect((await admin.fetch('POST', BASE, { json: gpu })).status).toBe(200);
      const sameId = await admin.fetch('POST', BASE, { json: { ...gpu, targets: [], namespaces: [] } });
      expect(sameId.status).toBe(409);
      const sameHost = await admin.fetch('POST', BASE, { json: { ...gpu, id: 'other', namespaces: ['finance'] } });
      expect(sameHost.status).toBe(409);
      expect(sameHost.json.message).toBe('Docker host tcp://gpu-1.internal:2375 is already a target of worker group gpu');
      const sameNs = await admin.fetch('POST', BASE, { json: { ...gpu, id: 'other', targets: [{ id: 'o', kind: 'docker', host: 'tcp://other:2375' }] } });
      expect(sameNs.status).toBe(409);
      expect(sameNs.json.message).toBe('Namespace ml is already bound to worker group gpu');
      // The refused creations left nothing behind: no group, no claimed host or namespace.
      expect((await admin.fetch('GET', `${BASE}/other`)).status).toBe(404);
      expect(await perch.perch.ctx.db.selectFrom('worker_group_targets').select('host').execute()).toEqual([{ host: 'tcp://gpu-1.internal:2375' }]);
      expect(await perch.perch.ctx.db.selectFrom('worker_group_namespaces').select('namespace').execute()).toEqual([{ namespace: 'ml' }]);
      // A refused replacement keeps the group as it was.
      expect((await admin.fetch('POST', BASE, { json: { id: 'cpu', name: 'CPU', subscriptions: [], targets: [{ id: 'c', kind: 'docker', host: 'tcp://cpu:2375' }], namespaces: ['etl'] } })).status).toBe(200);
      const stolen = await admin.fetch('PUT', `${BASE}/cpu`, { json: { name: 'CPU!', subscriptions: [], targets: [{ id: 'c', kind: 'docker', host: 'tcp://gpu-1.internal:2375' }], namespaces: ['etl'] } });
      expect(stolen.status).toBe(409);
      expect((await admin.fetch('GET', `${BASE}/cpu`)).json).toMatchObject({ name: 'CPU', targets: [{ host: 'tcp://cpu:2375' }], namespaces: ['etl'] });
      await admin.fetch('DELETE', `${BASE}/cpu?force=true`);
      await admin.fetch('DELETE', `${BASE}/gpu?force=true`);
    });

    it('is for instance owners only: anyone else gets 403 and nothing changes', async () => {
      const { browser: person } = await signedInPerson(perch, admin, 'wg');
      expect((await person.fetch('GET', BASE)).status).toBe(403);
      expect((await person.fetch('POST', BASE, { json: gpu })).status).toBe(403);
      expect((await admin.fetch('GET', BASE)).json).toEqual({ workerGroups: [] });
    });

    it('records creations, replacements and deletions with the group before and after', async () => {
      await admin.fetch('POST', BASE, { json: { ...gpu, id: 'audited' } });
      await admin.fetch('PUT', `${BASE}/audited`, { json: { name: 'Renamed', subscriptions: [], targets: gpu.targets, namespaces: [] } });
      await admin.fetch('DELETE', `${BASE}/audited`);
      const entries = await perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', 'audited').orderBy('seq').execute();
      expect(entries.map((e) => [e.resource_type, e.action])).toEqual([['SYSTEM_SETTINGS', 'CREATE'], ['SYSTEM_SETTINGS', 'UPDATE'], ['SYSTEM_SETTINGS', 'DELETE']]);
      const states = await Promise.all(entries.map((e) => perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', e.id).executeTakeFirst()));
      expect(states[0]).toMatchObject({ kind: 'worker-group', before: null });
      expect(JSON.parse(states[0]!.after!)).toMatchObject({ id: 'audited', namespaces: ['ml'] });
      expect(JSON.parse(states[1]!.before!)).toMatchObject({ name: 'GPU machines', namespaces: ['ml'] });
      expect(JSON.parse(states[1]!.after!)).toMatchObject({ name: 'Renamed', namespaces: [] });
      expect(JSON.parse(states[2]!.before!).name).toBe('Renamed');
      expect(states[2]!.after).toBeNull();
    });
  });
}
