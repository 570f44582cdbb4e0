import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { googleSecretId } from '../../backend/secrets/backends/google.js';
import { startSignedIn } from '../support/perch.js';
import { startGoogleSecretManagerDouble, type GoogleSecretManagerDouble } from './google-secretmanager-double.js';
import { startWatchedPerch, type WatchedPerch } from './watched-perch.js';

const VALUE = 'google-held-value-3e8a';

/**
 * The Google Secret Manager backend — the official @google-cloud/secret-manager client over its REST
 * transport, with a service-account key file — against a double checked against Google's published
 * discovery description (Google publishes no Secret Manager emulator).
 */
describe("Google Secret Manager backend (double checked against Google's discovery description)", () => {
  let sm: GoogleSecretManagerDouble;
  let watched: WatchedPerch;
  const call = (method: string, url: string, json?: unknown) => watched.call(method, url, json);
  const id = 'kestra-2fmain-2fcompany-2fteam-2fDB_PASSWORD';
  const secret = `projects/perch-project/secrets/${id}`;

  beforeAll(async () => {
    sm = await startGoogleSecretManagerDouble();
    const credentialsFile = path.join(await mkdtemp(path.join(tmpdir(), 'perch-gsm-')), 'service-account.json');
    await writeFile(credentialsFile, JSON.stringify(sm.serviceAccount), { mode: 0o600 });
    watched = await startWatchedPerch({ secrets: { backend: { type: 'google', prefix: 'kestra/', google: { projectId: 'perch-project', credentialsFile, endpoint: sm.url } } } });
  });
  afterAll(async () => {
    await watched?.close();
    await sm?.close();
  });

  it('names a secret injectively within what Secret Manager allows', () => {
    const ref = (namespace: string, key: string) => ({ id: 'x', tenant: 'main', namespace, key });
    expect(googleSecretId('kestra/', ref('company.team', 'db_password'))).toBe(id);
    expect(googleSecretId('p/', ref('a.b', 'K'))).not.toBe(googleSecretId('p/', ref('a-b', 'K')));
  });

  it('creates the secret, adds a version per write, reads the latest for sync, deletes it with its versions', async () => {
    const put = await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'db_password', value: VALUE });
    expect(put.status, put.text).toBe(200);
    expect(sm.secrets.get(secret)).toEqual({ labels: { 'managed-by': 'perch' }, versions: [VALUE] });
    const row = await watched.perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'db_password').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ backend: 'google', value: null });
    expect((await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'DB_PASSWORD', value: `${VALUE}-2` })).status).toBe(200);
    expect(sm.secrets.get(secret)?.versions).toEqual([VALUE, `${VALUE}-2`]);

    const synced = await watched.sync();
    expect(synced.exitCode).toBe(0);
    expect(synced.env).toContain(`SECRET_DB_PASSWORD=${Buffer.from(`${VALUE}-2`).toString('base64')}`);
    expect(synced.printed).not.toContain(VALUE);

    expect((await call('DELETE', '/api/v1/main/namespaces/company.team/secrets/DB_PASSWORD')).status).toBe(200);
    expect(sm.secrets.has(secret)).toBe(false);
    expect(sm.calls).toEqual([
      'secretmanager.projects.secrets.addVersion',
      'secretmanager.projects.secrets.create',
      'secretmanager.projects.secrets.addVersion',
      'secretmanager.projects.secrets.addVersion',
      'secretmanager.projects.secrets.versions.access',
      'secretmanager.projects.secrets.delete',
    ]);
    expect(sm.violations).toEqual([]);
  });

  it('answers 502 naming Secret Manager when it refuses Perch or cannot be reached, and writes nothing', async () => {
    expect((await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'KEPT', value: 'kept' })).status).toBe(200);
    sm.forbid = true;
    const refused = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'REFUSED', value: 'never stored' });
    expect(refused.status).toBe(502);
    expect(refused.json.message).toMatch(/^Google Secret Manager \(http:\/\/127\.0\.0\.1:\d+\) could not be reached or refused the request \(403: .*Permission/);
    expect((await call('DELETE', '/api/v1/main/namespaces/ops/secrets/KEPT')).status).toBe(502);
    sm.forbid = false;
    await sm.close();
    const down = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'DOWN', value: 'never stored' });
    expect(down.status).toBe(502);
    expect(down.json.backend).toMatch(/^Google Secret Manager \(http:\/\/127\.0\.0\.1:\d+\)$/);
    const keys = (await call('GET', '/api/v1/main/secrets')).json.results.map((s: { key: string }) => s.key);
    expect(keys).toEqual(['KEPT']);
  });

  it('no value appears in any answer, log line, audit row or audit state (grep)', async () => {
    await watched.expectNoPlainValues([VALUE, `${VALUE}-2`, 'never stored']);
  });
});

describe('Google Secret Manager, read-only and the double itself', () => {
  it('read-only: refuses writes without calling Secret Manager', async () => {
    const sm = await startGoogleSecretManagerDouble();
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'google', readOnly: true, google: { projectId: 'perch-project', endpoint: sm.url } } } } });
    try {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'NOPE', value: '1' } });
      expect(put.status).toBe(409);
      expect(put.json.message).toMatch(/read-only: Google Secret Manager/);
      expect(sm.calls).toEqual([]);
    } finally {
      await perch.close();
      await sm.close();
    }
  });

  it('refuses what the description does not allow, and unsigned callers', async () => {
    const sm = await startGoogleSecretManagerDouble();
    try {
      expect((await fetch(`${sm.url}/v1/projects/perch-project/secrets/x:addVersion`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await fetch(`${sm.url}/v1/projects/perch-project/secrets/x:destroy`, { method: 'POST', body: '{}' })).status).toBe(400);
      expect(sm.violations).toEqual([expect.stringMatching(/not a method of the description/)]);
    } finally {
      await sm.close();
    }
  });
});
