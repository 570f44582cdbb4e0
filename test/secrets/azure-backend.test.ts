import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyVaultName } from '../../backend/secrets/backends/azure.js';
import { startSignedIn } from '../support/perch.js';
import { startKeyVaultDouble, type KeyVaultDouble } from './azure-keyvault-double.js';
import { startWatchedPerch, type WatchedPerch } from './watched-perch.js';

const VALUE = 'azure-held-value-91b4';

/**
 * The Azure Key Vault backend — the official @azure/keyvault-secrets client with @azure/identity's
 * default credential (App Service managed identity) — against a double checked against Azure's
 * published REST description. (lowkey-vault, the community emulator, is not served by the Maven
 * registry reachable here; docs/secrets.md.)
 */
describe("Azure Key Vault backend (double checked against Azure's REST description)", () => {
  let kv: KeyVaultDouble;
  let watched: WatchedPerch;
  const call = (method: string, url: string, json?: unknown) => watched.call(method, url, json);
  const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };

  beforeAll(async () => {
    kv = await startKeyVaultDouble();
    // What Azure App Service / Container Apps give a managed identity: the credential chain finds it.
    process.env.IDENTITY_ENDPOINT = kv.identity.endpoint;
    process.env.IDENTITY_HEADER = kv.identity.header;
    watched = await startWatchedPerch({ secrets: { backend: { type: 'azure', prefix: 'kestra/', azure: { vaultUrl: kv.url } } } });
  });
  afterAll(async () => {
    await watched?.close();
    await kv?.close();
    for (const [name, value] of [['IDENTITY_ENDPOINT', saved.endpoint], ['IDENTITY_HEADER', saved.header]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const name = 'kestra-2fmain-2fcompany-2fteam-2fDB-5fPASSWORD';

  it('names a secret injectively within what Key Vault allows', () => {
    const ref = (namespace: string, key: string) => ({ id: 'x', tenant: 'main', namespace, key });
    expect(keyVaultName('kestra/', ref('company.team', 'db_password'))).toBe(name);
    expect(keyVaultName('p/', ref('a.b', 'K'))).not.toBe(keyVaultName('p/', ref('a-b', 'K')));
    expect(keyVaultName('p/', ref('a', 'B_C'))).not.toBe(keyVaultName('p/', ref('a', 'B-C')));
  });

  it('keeps the value in Key Vault (tagged), only the metadata in Perch; sync reads it; delete purges', async () => {
    const put = await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'db_password', value: VALUE });
    expect(put.status, put.text).toBe(200);
    expect(kv.store.get(name)).toEqual({ value: VALUE, tags: { namespace: 'company.team', key: 'db_password', prefix: 'kestra/' } });
    const row = await watched.perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'db_password').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ backend: 'azure', value: null });

    const synced = await watched.sync();
    expect(synced.exitCode).toBe(0);
    expect(synced.env).toContain(`SECRET_DB_PASSWORD=${Buffer.from(VALUE).toString('base64')}`);
    expect(synced.printed).not.toContain(VALUE);

    expect((await call('DELETE', '/api/v1/main/namespaces/company.team/secrets/DB_PASSWORD')).status).toBe(200);
    expect(kv.store.has(name)).toBe(false);
    expect(kv.deleted.has(name)).toBe(false);
    // Purged, so the same key can be written again.
    expect((await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'db_password', value: 'again' })).status).toBe(200);
    expect(kv.store.get(name)?.value).toBe('again');
    expect(kv.calls.filter((c) => !c.startsWith('challenge') && c !== 'token' && c !== 'GetDeletedSecret')).toEqual(['SetSecret', 'GetSecret', 'DeleteSecret', 'PurgeDeletedSecret', 'SetSecret']);
    expect(kv.calls).toContain('token');
    expect(kv.violations).toEqual([]);
  });

  it('answers 502 naming Key Vault when it refuses Perch or cannot be reached, and writes nothing', async () => {
    kv.forbid = true;
    const refused = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'REFUSED', value: 'never stored' });
    expect(refused.status).toBe(502);
    expect(refused.json.message).toMatch(/^Azure Key Vault \(http:\/\/127\.0\.0\.1:\d+\) could not be reached or refused the request \(HTTP 403 Forbidden/);
    expect(refused.json.backend).toBe(`Azure Key Vault (${kv.url})`);
    const del = await call('DELETE', '/api/v1/main/namespaces/company.team/secrets/DB_PASSWORD');
    expect(del.status).toBe(502);
    kv.forbid = false;
    await kv.close();
    const down = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'DOWN', value: 'never stored' });
    expect(down.status).toBe(502);
    expect(down.json.message).toMatch(/^Azure Key Vault \(http:\/\/127\.0\.0\.1:\d+\) could not be reached/);
    const keys = (await call('GET', '/api/v1/main/secrets')).json.results.map((s: { key: string }) => s.key);
    expect(keys).toEqual(['db_password']);
    for (const answer of [refused, del, down]) expect(answer.text).not.toContain('never stored');
  });

  it('no value appears in any answer, log line, audit row or audit state (grep)', async () => {
    await watched.expectNoPlainValues([VALUE, 'never stored']);
  });
});

describe('Azure Key Vault, read-only', () => {
  it('refuses writes without calling Key Vault', async () => {
    const kv = await startKeyVaultDouble();
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'azure', readOnly: true, azure: { vaultUrl: kv.url } } } } });
    try {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'NOPE', value: '1' } });
      expect(put.status).toBe(409);
      expect(put.json.message).toMatch(/read-only: Azure Key Vault/);
      expect(kv.calls).toEqual([]);
    } finally {
      await perch.close();
      await kv.close();
    }
  });

  it('the double refuses what the description does not allow (so a backend bug shows)', async () => {
    const kv = await startKeyVaultDouble();
    try {
      const token = await (await fetch(`${kv.identity.endpoint}?api-version=2019-08-01&resource=https://127.0.0.1`, { headers: { 'x-identity-header': kv.identity.header } })).json() as { access_token: string };
      const headers = { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
      expect((await fetch(`${kv.url}/secrets/bad_name?api-version=2025-07-01`, { method: 'PUT', headers, body: JSON.stringify({ value: 'x' }) })).status).toBe(400);
      expect((await fetch(`${kv.url}/secrets/good?api-version=2025-07-01`, { method: 'PUT', headers, body: JSON.stringify({ tags: {} }) })).status).toBe(400);
      expect((await fetch(`${kv.url}/secrets/good`, { method: 'PUT', headers, body: JSON.stringify({ value: 'x' }) })).status).toBe(400);
      expect((await fetch(`${kv.url}/secrets/good/backup?api-version=2025-07-01`, { method: 'POST', headers })).status).toBe(400);
      expect(kv.violations).toEqual([
        expect.stringMatching(/SetSecret: secret name bad_name does not match/),
        expect.stringMatching(/SetSecret request: data must have required property 'value'/),
        'SetSecret: no api-version',
        expect.stringMatching(/not an operation of the description/),
      ]);
    } finally {
      await kv.close();
    }
  });
});
