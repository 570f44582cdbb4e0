import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { postgresAvailable, storeTargets } from '../support/databases.js';
import { Browser, startReplicaPair, type RunningPerch } from '../support/perch.js';

const postgres = storeTargets().find((t) => t.name === 'postgres')!;
const yaml = { 'content-type': 'application/x-yaml' };
const script = (id: string) => `id: ${id}\nnamespace: gpu.team\ntasks:\n  - id: fit\n    type: io.kestra.plugin.scripts.shell.Commands\n    commands: [nvidia-smi]\n`;

/** Two Perch replicas on one PostgreSQL database: a worker group made on one binds flow saves on the other. */
describe.skipIf(!postgresAvailable())('worker groups across Perch replicas', () => {
  let kestra: KestraDouble;
  let a: RunningPerch;
  let b: RunningPerch;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    [a, b] = await startReplicaPair(await postgres.url(), { url: kestra.url, username: kestra.username, password: kestra.password });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await kestra?.close();
  });

  it('enforces on one replica the groups written on the other, and lifts them the same way', async () => {
    const onA = new Browser(a);
    await onA.login();
    const onB = new Browser(b);
    await onB.login();
    const group = { id: 'gpu', name: 'GPU', subscriptions: [], targets: [{ id: 'g1', kind: 'docker', host: 'tcp://gpu-1.internal:2375' }], namespaces: ['gpu.team'] };
    expect((await onA.fetch('POST', '/api/v1/instance/worker-groups', { json: group })).status).toBe(200);
    let n = 0;
    await expect.poll(async () => (await onB.fetch('POST', '/api/v1/main/flows', { body: script(`f${++n}`), headers: yaml })).status, { timeout: 5000, interval: 50 }).toBe(403);

    expect((await onA.fetch('DELETE', '/api/v1/instance/worker-groups/gpu?force=true')).status).toBe(204);
    await expect.poll(async () => (await onB.fetch('POST', '/api/v1/main/flows', { body: script(`f${++n}`), headers: yaml })).status, { timeout: 5000, interval: 50 }).toBe(200);
  });
});
