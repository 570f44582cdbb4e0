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

describe('the backend picker (instance owners)', () => {
  it('lists the configured backends, picks one per tenant for new values, audits it; refuses others and non-owners', async () => {
    const vault = await startVaultDouble({ rootToken: 't' });
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'internal', vault: { address: vault.url, token: 't' } } } } });
    try {
      const view = await admin.fetch('GET', '/api/v1/main/secret-backend');
      expect(view.json).toEqual({ type: 'internal', readOnly: false, available: [
        { type: 'internal', name: "Perch's store", readOnly: false },
        { type: 'vault', name: `HashiCorp Vault (${vault.url})`, readOnly: false },
      ] });
      await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'BEFORE', value: 'internal one' } });
      expect(vault.requests).toEqual([]);

      const picked = await admin.fetch('PUT', '/api/v1/main/secret-backend', { json: { type: 'vault' } });
      expect(picked.status, picked.text).toBe(200);
      expect(picked.json.type).toBe('vault');
      await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'AFTER', value: 'vault one' } });
      // A replaced value moves to the picked backend; the other keeps its place until written.
      await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'BEFORE', value: 'moved' } });
      expect([...vault.store.entries()].sort()).toEqual([['perch/main/ops/AFTER', { value: 'vault one' }], ['perch/main/ops/BEFORE', { value: 'moved' }]]);
      const rows = await perch.perch.ctx.db.selectFrom('namespace_secrets').select(['key', 'backend', 'value']).orderBy('key').execute();
      expect(rows).toEqual([{ key: 'AFTER', backend: 'vault', value: null }, { key: 'BEFORE', backend: 'vault', value: null }]);

      expect((await admin.fetch('PUT', '/api/v1/main/secret-backend', { json: { type: 'aws' } })).status).toBe(422);
      const audit = await perch.perch.ctx.db.selectFrom('audit_log').select(['resource_type', 'resource_id', 'action']).where('resource_id', '=', 'backend:main').execute();
      expect(audit).toEqual([{ resource_type: 'SECRET', resource_id: 'backend:main', action: 'UPDATE' }]);

      const person = await admin.fetch('POST', '/api/v1/users', { json: { email: 'picker@example.com', password: 'a good long password' } });
      expect(person.status).toBe(201);
      const other = new Browser(perch);
      await other.login('picker@example.com', 'a good long password');
      expect((await other.fetch('GET', '/api/v1/main/secret-backend')).status).toBe(403);
      expect((await other.fetch('PUT', '/api/v1/main/secret-backend', { json: { type: 'internal' } })).status).toBe(403);
    } finally {
      await perch.close();
      await vault.close();
    }
  });
});
