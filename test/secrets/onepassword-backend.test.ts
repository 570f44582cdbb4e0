import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignedIn } from '../support/perch.js';
import { startConnectDouble, type ConnectDouble } from './onepassword-connect-double.js';
import { startWatchedPerch, type WatchedPerch } from './watched-perch.js';

const VALUE = 'onepassword-held-value-5c1e';
const VAULT = 'ftz4pm2xxwmwrsd7rjqn7grzfz';

/**
 * The 1Password backend — the official @1password/connect client — against a Connect server double
 * checked against 1Password's published Connect API description (the Connect server needs a
 * 1Password account; it does not run offline).
 */
describe("1Password Connect backend (double checked against the Connect API description)", () => {
  let connect: ConnectDouble;
  let watched: WatchedPerch;
  const call = (method: string, url: string, json?: unknown) => watched.call(method, url, json);
  const items = () => [...connect.vaults.get(VAULT)!.values()];

  beforeAll(async () => {
    connect = await startConnectDouble();
    connect.vaults.set(VAULT, new Map([['unrelated0000000000000000a', { id: 'unrelated0000000000000000a', title: 'not Perch', category: 'LOGIN', vault: { id: VAULT }, version: 3 }]]));
    watched = await startWatchedPerch({ secrets: { backend: { type: 'onepassword', prefix: 'kestra/', onepassword: { url: connect.url, token: connect.token, vault: VAULT } } } });
  });
  afterAll(async () => {
    await watched?.close();
    await connect?.close();
  });

  it('creates a PASSWORD item, replaces its password, reads it for sync, deletes it; other items stay', async () => {
    const put = await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'db_password', value: VALUE });
    expect(put.status, put.text).toBe(200);
    const title = 'kestra/main/company/team/DB_PASSWORD';
    expect(items().find((i) => i.title === title)).toMatchObject({ category: 'PASSWORD', tags: ['perch'], version: 1, fields: [{ id: 'password', type: 'CONCEALED', purpose: 'PASSWORD', value: VALUE }] });
    const row = await watched.perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'db_password').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ backend: 'onepassword', value: null });
    expect((await call('PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'DB_PASSWORD', value: `${VALUE}-2` })).status).toBe(200);
    expect(items().filter((i) => i.title === title)).toMatchObject([{ version: 2, fields: [{ id: 'password', value: `${VALUE}-2` }] }]);

    const synced = await watched.sync();
    expect(synced.exitCode).toBe(0);
    expect(synced.env).toContain(`SECRET_DB_PASSWORD=${Buffer.from(`${VALUE}-2`).toString('base64')}`);
    expect(synced.printed).not.toContain(VALUE);

    expect((await call('DELETE', '/api/v1/main/namespaces/company.team/secrets/DB_PASSWORD')).status).toBe(200);
    expect(items().map((i) => i.title)).toEqual(['not Perch']);
    expect(connect.calls).toEqual([
      'Items_getAll', 'Items_createNewItem',
      'Items_getAll', 'Items_getDetailsById', 'Items_updateItemDetails',
      'Items_getAll', 'Items_getDetailsById',
      'Items_getAll', 'Items_getDetailsById', 'Items_deleteItemById',
    ]);
    expect(connect.violations).toEqual([]);
  });

  it('answers 502 naming 1Password Connect when it refuses Perch or cannot be reached, and writes nothing', async () => {
    expect((await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'KEPT', value: 'kept' })).status).toBe(200);
    connect.forbid = true;
    const refused = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'REFUSED', value: 'never stored' });
    expect(refused.status).toBe(502);
    expect(refused.json.message).toMatch(/^1Password Connect \(http:\/\/127\.0\.0\.1:\d+, vault ftz4pm2xxwmwrsd7rjqn7grzfz\) could not be reached or refused the request \(HTTP 403: vault ftz4pm2xxwmwrsd7rjqn7grzfz is not in scope\)/);
    expect((await call('DELETE', '/api/v1/main/namespaces/ops/secrets/KEPT')).status).toBe(502);
    connect.forbid = false;
    await connect.close();
    const down = await call('PUT', '/api/v1/main/namespaces/ops/secrets', { key: 'DOWN', value: 'never stored' });
    expect(down.status).toBe(502);
    expect(down.json.backend).toMatch(/^1Password Connect \(/);
    const keys = (await call('GET', '/api/v1/main/secrets')).json.results.map((s: { key: string }) => s.key);
    expect(keys).toEqual(['KEPT']);
  });

  it('no value appears in any answer, log line, audit row or audit state (grep)', async () => {
    await watched.expectNoPlainValues([VALUE, `${VALUE}-2`, 'never stored']);
  });
});

describe('1Password Connect, read-only and the double itself', () => {
  it('read-only: refuses writes without calling Connect', async () => {
    const connect = await startConnectDouble();
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'onepassword', readOnly: true, onepassword: { url: connect.url, token: connect.token, vault: VAULT } } } } });
    try {
      const put = await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'NOPE', value: '1' } });
      expect(put.status).toBe(409);
      expect(put.json.message).toMatch(/read-only: 1Password Connect/);
      expect(connect.calls).toEqual([]);
    } finally {
      await perch.close();
      await connect.close();
    }
  });

  it('refuses what the description does not allow, and callers without the token', async () => {
    const connect = await startConnectDouble();
    connect.vaults.set(VAULT, new Map());
    try {
      const headers = { authorization: `Bearer ${connect.token}`, 'content-type': 'application/json' };
      expect((await fetch(`${connect.url}/v1/vaults/${VAULT}/items`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await fetch(`${connect.url}/v1/vaults/${VAULT}/items`, { method: 'POST', headers, body: JSON.stringify({ vault: { id: VAULT }, category: 'SECRET' }) })).status).toBe(400);
      expect((await fetch(`${connect.url}/v1/vaults/NOT-A-UUID/items`, { headers })).status).toBe(400);
      expect((await fetch(`${connect.url}/v1/vaults/${VAULT}/items/abc/files`, { headers })).status).toBe(400);
      expect(connect.violations).toEqual([
        expect.stringMatching(/^Items_createNewItem request: .*must be equal to one of the allowed values/),
        expect.stringMatching(/^Items_getAll: path parameter NOT-A-UUID/),
        expect.stringMatching(/not an operation of the description/),
      ]);
    } finally {
      await connect.close();
    }
  });
});
