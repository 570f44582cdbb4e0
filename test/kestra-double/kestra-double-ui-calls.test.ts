/**
 * What the double answers to the calls the 2.0 UI makes outside the spec's OSS operations: the notification bell
 * (NotificationController, checked against the spec's NotificationController.* schemas, tagged EE there) and plugin
 * endpoints (PluginEndpointController). Sources in docs/compatibility.md, "Every route the stock UI calls".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KestraDouble, startKestraDouble } from './kestra-double.js';
import { loadContract } from './openapi-contract.js';

let k: KestraDouble;

beforeAll(async () => {
  k = await startKestraDouble({ pluginEndpoints: { 'io.kestra.plugin.perchtest': ['preview'] } });
});

afterAll(async () => {
  expect(k.contractViolations).toEqual([]);
  await k?.close();
});

async function call(method: string, p: string, body?: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${k.url}${p}`, { method, headers: { authorization: k.authorization }, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const schemaOk = (name: string, text: string): void => {
  const { valid, errors } = loadContract().validateSchema(name, JSON.parse(text));
  expect(valid, JSON.stringify(errors)).toBe(true);
};

describe('Kestra double: the notification bell', () => {
  it('answers history, since and the unread count in Kestra\'s shapes, for OSS\'s one user (an empty list)', async () => {
    const history = await call('GET', '/api/v1/notifications/history?limit=20');
    expect(history.status).toBe(200);
    schemaOk('NotificationController.ApiNotificationHistory', history.text);
    expect(JSON.parse(history.text)).toMatchObject({ notifications: [], nextCursor: null });
    const since = await call('GET', `/api/v1/notifications/since?since=${encodeURIComponent('2026-01-01T00:00:00Z')}`);
    expect(since.status).toBe(200);
    schemaOk('NotificationController.ApiNotificationsSince', since.text);
    const count = await call('GET', '/api/v1/notifications/unread-count');
    expect([count.status, JSON.parse(count.text)]).toEqual([200, 0]);
  });

  it('refuses a missing `since` and a cursor that is not `<createdDate>,<id>` (400)', async () => {
    expect((await call('GET', '/api/v1/notifications/since')).status).toBe(400);
    expect((await call('GET', '/api/v1/notifications/history?before=yesterday')).status).toBe(400);
    expect((await call('GET', `/api/v1/notifications/history?before=${encodeURIComponent('2026-01-01T00:00:00Z,n1')}`)).status).toBe(200);
  });

  it('marks one read or unread with 204 whatever the id, and all read with a count', async () => {
    expect((await call('POST', '/api/v1/notifications/unknown-id/read')).status).toBe(204);
    expect((await call('POST', '/api/v1/notifications/unknown-id/unread')).status).toBe(204);
    const all = await call('POST', '/api/v1/notifications/read-all');
    expect(all.status).toBe(200);
    schemaOk('NotificationController.ApiMarkAllRead', all.text);
  });

  it('keeps the live stream open as an event stream', async () => {
    const controller = new AbortController();
    const res = await fetch(`${k.url}/api/v1/notifications/follow`, { headers: { authorization: k.authorization }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    controller.abort();
  });

  it('answers 401 without credentials, as every API route', async () => {
    expect((await fetch(`${k.url}/api/v1/notifications/unread-count`)).status).toBe(401);
  });
});

describe('Kestra double: plugin endpoints', () => {
  const base = '/api/v1/main/plugins';

  it('hands a known endpoint the query and the body, and serves its JSON answer with nosniff', async () => {
    const got = await call('GET', `${base}/io.kestra.plugin.perchtest/endpoints/preview?row=1&row=2`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/json');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(JSON.parse(got.text)).toEqual({ group: 'io.kestra.plugin.perchtest', name: 'preview', method: 'GET', parameters: { row: ['1', '2'] }, body: '' });
    const posted = await call('POST', `${base}/io.kestra.plugin.perchtest/endpoints/preview`, '{"sql":"select 1"}');
    expect(JSON.parse(posted.text)).toMatchObject({ method: 'POST', body: '{"sql":"select 1"}' });
  });

  it('answers 404 naming the unknown plugin group, then the unknown endpoint', async () => {
    const group = await call('GET', `${base}/io.kestra.plugin.none/endpoints/preview`);
    expect([group.status, JSON.parse(group.text).message]).toEqual([404, "No plugin found for group 'io.kestra.plugin.none'."]);
    const name = await call('POST', `${base}/io.kestra.plugin.perchtest/endpoints/other`, '{}');
    expect([name.status, JSON.parse(name.text).message]).toEqual([404, "No endpoint 'other' in plugin 'io.kestra.plugin.perchtest'."]);
  });
});
