import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsSync } from '../../backend/secrets/cli.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';
import { startVaultDouble, type VaultDouble } from './vault-double.js';

/** The Vault KV v2 backend against a double checked against Vault's published API description. */
describe('HashiCorp Vault KV v2 backend (double checked against Vault\'s OpenAPI description)', () => {
  describe('with a token and a Vault Enterprise namespace', () => {
    let vault: VaultDouble;
    let perch: RunningPerch;
    let admin: Browser;

    beforeAll(async () => {
      vault = await startVaultDouble({ rootToken: 'root-token' });
      ({ perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'vault', prefix: 'kestra/', vault: { address: vault.url, token: 'root-token', namespace: 'team-ns' } } } } }));
    });
    afterAll(async () => {
      await perch?.close();
      await vault?.close();
    });

    it('writes the value at <mount>/data/<prefix><tenant>/<namespace…>/<KEY>, reads it for sync, deletes every version', async () => {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'API_KEY', value: 'vault-held-value' } });
      expect(put.status, put.text).toBe(200);
      expect(vault.store.get('kestra/main/company/team/API_KEY')).toEqual({ value: 'vault-held-value' });
      expect(vault.requests.every((r) => r.token === 'root-token' && r.namespace === 'team-ns')).toBe(true);
      const row = await perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ backend: 'vault', value: null });

      const file = path.join(await mkdtemp(path.join(tmpdir(), 'perch-vault-sync-')), 'kestra.env');
      expect(await secretsSync(perch.perch.ctx.config, { file }, { out: () => {}, err: () => {} })).toBe(0);
      expect(await readFile(file, 'utf8')).toContain(`SECRET_API_KEY=${Buffer.from('vault-held-value').toString('base64')}`);

      expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company.team/secrets/API_KEY')).status).toBe(200);
      expect(vault.store.size).toBe(0);
      expect(vault.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'POST /v1/secret/data/kestra/main/company/team/API_KEY',
        'GET /v1/secret/data/kestra/main/company/team/API_KEY',
        'DELETE /v1/secret/metadata/kestra/main/company/team/API_KEY',
      ]);
      expect(vault.violations).toEqual([]);
    });

    it('answers 502 naming Vault when it refuses Perch or cannot be reached, and writes nothing', async () => {
      vault.tokens.clear();
      const refused = await admin.fetch('PUT', '/api/v1/main/namespaces/company/secrets', { json: { key: 'REFUSED', value: 'x' } });
      expect(refused.status).toBe(502);
      expect(refused.json.message).toMatch(/^HashiCorp Vault \(http:\/\/127\.0\.0\.1:\d+\) could not be reached or refused the request \(HTTP 403: permission denied\)/);
      await vault.close();
      const down = await admin.fetch('PUT', '/api/v1/main/namespaces/company/secrets', { json: { key: 'DOWN', value: 'x' } });
      expect(down.status).toBe(502);
      expect(down.json).toMatchObject({ backend: expect.stringMatching(/^HashiCorp Vault/) });
      expect((await admin.fetch('GET', '/api/v1/main/secrets')).json.total).toBe(0);
    });
  });

  describe('with an AppRole', () => {
    it('logs in, and logs in again when the token expired', async () => {
      const appRole = { path: 'approle', roleId: 'perch-role', secretId: 'perch-secret-id' };
      const vault = await startVaultDouble({ appRole });
      const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'vault', vault: { address: vault.url, appRole } } } } });
      try {
        expect((await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'ONE', value: '1' } })).status).toBe(200);
        vault.revoke();
        expect((await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'TWO', value: '2' } })).status).toBe(200);
        expect(vault.requests.filter((r) => r.url === '/v1/auth/approle/login')).toHaveLength(2);
        expect([...vault.store.keys()].sort()).toEqual(['perch/main/ops/ONE', 'perch/main/ops/TWO']);
        expect(vault.violations).toEqual([]);
      } finally {
        await perch.close();
        await vault.close();
      }
    });
  });

  it('the double refuses what Vault\'s description does not allow (so a backend bug shows)', async () => {
    const vault = await startVaultDouble({ rootToken: 't' });
    try {
      const res = await fetch(`${vault.url}/v1/secret/data/x`, { method: 'POST', headers: { 'x-vault-token': 't', 'content-type': 'application/json' }, body: JSON.stringify({ data: 'not a map' }) });
      expect(res.status).toBe(400);
      expect((await fetch(`${vault.url}/v1/secret/destroy/x`, { method: 'POST', headers: { 'x-vault-token': 't' } })).status).toBe(405);
      expect(vault.violations).toEqual([expect.stringMatching(/^kv-v2-write request: data\/data must be object/), expect.stringMatching(/not an operation of the description/)]);
    } finally {
      await vault.close();
    }
  });

  it('read-only: Perch refuses writes instead of writing to the manager', async () => {
    const vault = await startVaultDouble({ rootToken: 't' });
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'vault', readOnly: true, vault: { address: vault.url, token: 't' } } } } });
    try {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'NOPE', value: '1' } });
      expect(put.status).toBe(409);
      expect(put.json.message).toMatch(/read-only/);
      expect(vault.requests).toEqual([]);
    } finally {
      await perch.close();
      await vault.close();
    }
  });
});
