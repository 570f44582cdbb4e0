import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dopplerName } from '../../backend/secrets/backends/doppler.js';
import { startSignedIn } from '../support/perch.js';
import { startDopplerDouble, type DopplerDouble } from './doppler-double.js';
import { startWatchedPerch, type WatchedPerch } from './watched-perch.js';

const VALUE = 'doppler-held-value-b7d2';

/** The Doppler backend — Doppler's API v3 over HTTP — against a double checked against Doppler's API reference (Doppler has no local server). */
describe("Doppler backend (double checked against Doppler's API reference)", () => {
  let doppler: DopplerDouble;
  let watched: WatchedPerch;
  const call = (method: string, url: string, json?: unknown) => watched.call(method, url, json);
  const values = () => doppler.configs.get('kestra/prd')!;

  beforeAll(async () => {
    doppler = await startDopplerDouble();
    doppler.configs.set('kestra/prd', new Map([['UNRELATED', 'kept as is']]));
    watched = await startWatchedPerch({ secrets: { backend: { type: 'doppler', doppler: { token: doppler.token, project: 'kestra', config: 'prd', apiUrl: doppler.url } } } });
  });
  afterAll(async () => {
    await watched?.close();
    await doppler?.close();
  });

  it('names values so that tenants never share one', () => {
    const ref = (tenant: string, key: string) => ({ id: 'x', tenant, namespace: 'ns', key });
    expect(dopplerName('perch/', ref('main', 'db_password'))).toBe('PERCH_MAIN__DB_PASSWORD');
    expect(dopplerName('p/', ref('a_b', 'C'))).not.toBe(dopplerName('p/', ref('a', 'B_C')));
    expect(dopplerName('p/', ref('a-b', 'C'))).not.toBe(dopplerName('p/', ref('a_b', 'C')));
  });

  it('writes the value to the config, reads it for sync, deletes it; other secrets of the config stay', async () => {
    const put = await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'db_password', value: VALUE });
    expect(put.status, put.text).toBe(200);
    expect(values().get('PERCH_MAIN__DB_PASSWORD')).toBe(VALUE);
    const row = await watched.perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'db_password').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ backend: 'doppler', value: null });

    const synced = await watched.sync();
    expect(synced.exitCode).toBe(0);
    expect(synced.env).toContain(`SECRET_DB_PASSWORD=${Buffer.from(VALUE).toString('base64')}`);
    expect(synced.printed).not.toContain(VALUE);

    const del = await call('DELETE', '/api/v1/main/namespaces/company.team/secrets/DB_PASSWORD');
    expect(del.status, del.text).toBe(200);
    expect([...values().keys()]).toEqual(['UNRELATED']);
    expect(doppler.calls).toEqual(['secrets.update', 'secrets.get', 'secrets.delete']);
    expect(doppler.violations).toEqual([]);
  });

  it('answers 502 naming Doppler when it refuses Perch or cannot be reached, and writes nothing', async () => {
    doppler.forbid = true;
    const refused = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'REFUSED', value: 'never stored' });
    expect(refused.status).toBe(502);
    expect(refused.json.message).toMatch(/^Doppler \(http:\/\/127\.0\.0\.1:\d+, kestra\/prd\) could not be reached or refused the request \(HTTP 403: This token does not have access/);
    doppler.forbid = false;
    doppler.htmlError = true;
    const html = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'HTML', value: 'never stored' });
    expect(html.status).toBe(502);
    expect(html.json.message).toMatch(/^Doppler \(.*\) could not be reached or refused the request \(HTTP 502\)/);
    doppler.htmlError = false;
    await doppler.close();
    const down = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'DOWN', value: 'never stored' });
    expect(down.status).toBe(502);
    expect(down.json.backend).toMatch(/^Doppler \(/);
    expect((await call('GET', '/api/v1/main/secrets')).json.total).toBe(0);
  });

  it('no value appears in any answer, log line, audit row or audit state (grep)', async () => {
    await watched.expectNoPlainValues([VALUE, 'never stored']);
  });
});

describe('Doppler, read-only and the double itself', () => {
  it('read-only: refuses writes without calling Doppler', async () => {
    const doppler = await startDopplerDouble();
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'doppler', readOnly: true, doppler: { token: doppler.token, project: 'p', config: 'c', apiUrl: doppler.url } } } } });
    try {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'NOPE', value: '1' } });
      expect(put.status).toBe(409);
      expect(doppler.calls).toEqual([]);
    } finally {
      await perch.close();
      await doppler.close();
    }
  });

  it('refuses what the reference does not allow', async () => {
    const doppler = await startDopplerDouble();
    doppler.configs.set('p/c', new Map());
    try {
      const headers = { authorization: `Bearer ${doppler.token}`, 'content-type': 'application/json' };
      expect((await fetch(`${doppler.url}/v3/configs/config/secrets`, { method: 'POST', headers, body: JSON.stringify({ project: 'p', config: 'c', secrets: { 'bad-name': 'x' } }) })).status).toBe(400);
      expect((await fetch(`${doppler.url}/v3/configs/config/secret?project=p&config=c`, { headers })).status).toBe(400);
      expect((await fetch(`${doppler.url}/v3/configs/config/secrets/download`, { headers })).status).toBe(400);
      expect(doppler.violations).toEqual([
        expect.stringMatching(/^secrets.update request: .*propertyNames|^secrets.update request: .*must match pattern/),
        'secrets.get: query parameter name missing',
        expect.stringMatching(/not an operation of the reference/),
      ]);
    } finally {
      await doppler.close();
    }
  });
});
