import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { postgresAvailable, storeTargets } from '../support/databases.js';
import { Browser, startReplicaPair, type RunningPerch } from '../support/perch.js';

const postgres = storeTargets().find((t) => t.name === 'postgres')!;

/** Two Perch replicas on one PostgreSQL database: what one changes, the other enforces at once. */
describe.skipIf(!postgresAvailable())('several Perch replicas on PostgreSQL', () => {
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

  it('applies bindings made on one replica to decisions on the other, both ways', async () => {
    const adminOnA = new Browser(a);
    await adminOnA.login();
    await adminOnA.fetch('POST', '/api/v1/main/flows', { body: 'id: f\nnamespace: team.a\ntasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n', headers: { 'content-type': 'application/x-yaml' } });
    const user = await adminOnA.fetch('POST', '/api/v1/users', { json: { email: 'replicated@example.com', password: 'replicated password' } });
    const onB = new Browser(b);
    await onB.login('replicated@example.com', 'replicated password');
    expect((await onB.fetch('GET', '/api/v1/main/flows/team.a/f')).status).toBe(403);

    const binding = await adminOnA.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: user.json.id, roleId: 'viewer', namespaceId: 'team.a' } });
    expect(binding.status).toBe(200);
    await expect.poll(async () => (await onB.fetch('GET', '/api/v1/main/flows/team.a/f')).status, { timeout: 5000, interval: 50 }).toBe(200);

    expect((await adminOnA.fetch('DELETE', `/api/v1/main/bindings/${binding.json.id}`)).status).toBe(204);
    await expect.poll(async () => (await onB.fetch('GET', '/api/v1/main/flows/team.a/f')).status, { timeout: 5000, interval: 50 }).toBe(403);
  });

  it('ends on every replica, at once, a session revoked on one', async () => {
    const onA = new Browser(a);
    await onA.login();
    const onB = new Browser(b);
    onB.cookies.set('perch_session', onA.cookies.get('perch_session')!);
    expect((await onB.fetch('GET', '/api/v1/me')).status).toBe(200); // now cached on B
    expect((await onA.fetch('POST', '/api/v1/logout')).status).toBe(204);
    // Well inside the 30 s re-read interval: the notification did it.
    await expect.poll(async () => (await onB.fetch('GET', '/api/v1/me')).status, { timeout: 3000, interval: 50 }).toBe(401);
  });
});
