/**
 * Two Perch replicas on one PostgreSQL database: a tenant created, a grant or a revocation made on one
 * replica is routed and enforced by the other at once (its in-memory directory follows the change feed).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { postgresAvailable, storeTargets } from '../support/databases.js';
import { Browser, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { PASSWORD } from '../iam/iam-helpers.js';

const postgres = storeTargets().find((t) => t.name === 'postgres')!;

describe.skipIf(!postgresAvailable())('tenants across Perch replicas', () => {
  let mainKestra: KestraDouble;
  let acmeKestra: KestraDouble;
  let a: RunningPerch;
  let b: RunningPerch;

  beforeAll(async () => {
    mainKestra = await startKestraDouble();
    acmeKestra = await startKestraDouble();
    const databaseUrl = await postgres.url();
    const kestra = { url: mainKestra.url, username: mainKestra.username, password: mainKestra.password };
    // Replicas share the master key (as the Swarm stack hands it to each): B opens what A sealed.
    const encryption = { masterKeyFile: path.join(await mkdtemp(path.join(tmpdir(), 'perch-key-')), 'master.key') };
    a = await startPerch({ databaseUrl, config: { kestra, encryption } });
    b = await startPerch({ databaseUrl, withAdmin: false, config: { kestra, encryption } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await mainKestra?.close();
    await acmeKestra?.close();
  });

  it('a tenant created and access granted on one replica route on the other; a revocation there too', async () => {
    acmeKestra.addFlow(logFlow('acme.sales', 'invoice'));
    const adminOnA = new Browser(a);
    await adminOnA.login();
    const person = await adminOnA.fetch('POST', '/api/v1/users', { json: { email: 'replica-member@example.com', password: PASSWORD } });
    const onB = new Browser(b);
    await onB.login('replica-member@example.com', PASSWORD);
    expect((await onB.fetch('GET', '/api/v1/acme/flows/search')).status).toBe(404);

    const created = await adminOnA.fetch('POST', '/api/v1/tenants', {
      json: { id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: acmeKestra.url, username: acmeKestra.username, password: acmeKestra.password } },
    });
    expect(created.status, created.text).toBe(200);
    await expect.poll(async () => (await onB.fetch('GET', '/api/v1/acme/flows/search')).status, { timeout: 5000, interval: 50 }).toBe(403);
    expect((await adminOnA.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: 'replica-member@example.com' } })).status).toBe(204);
    expect((await adminOnA.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: person.json.id, roleId: 'viewer' } })).status).toBe(200);
    await expect.poll(async () => (await onB.fetch('GET', '/api/v1/acme/flows/search')).status, { timeout: 5000, interval: 50 }).toBe(200);
    expect((await onB.fetch('GET', '/api/v1/acme/flows/search')).json.results.map((f: { id: string }) => f.id)).toEqual(['invoice']);

    expect((await adminOnA.fetch('DELETE', `/api/v1/acme/tenant-access/${person.json.id}`)).status).toBe(204);
    await expect.poll(async () => (await onB.fetch('GET', '/api/v1/acme/flows/search')).status, { timeout: 5000, interval: 50 }).toBe(403);
  });
});
