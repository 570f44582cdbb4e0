/**
 * The policy rows of the routes the 2.0 UI calls outside the spec's OSS operations (docs/compatibility.md, "Every
 * route the stock UI calls"), through Perch to the Kestra double: a call within the caller's rights reaches Kestra
 * and comes back as Kestra answered it; without them, Perch answers 401 or 403 and nothing reaches Kestra.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartForm } from '../support/multipart.js';
import { Browser, type RunningPerch, grantRole, startSignedIn } from '../support/perch.js';
import { type KestraDouble, startKestraDouble } from '../kestra-double/kestra-double.js';

const PASSWORD = 'a good long password';
const PLUGIN = 'io.kestra.plugin.perchtest';
let kestra: KestraDouble;
let perch: RunningPerch;
let admin: Browser;
let nobody: Browser;
let viewer: Browser;
let editor: Browser;

beforeAll(async () => {
  kestra = await startKestraDouble({ pluginEndpoints: { [PLUGIN]: ['preview'] } });
  ({ perch, admin } = await startSignedIn({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT2S' } } }));
  const person = async (email: string, role: 'viewer' | 'editor' | null): Promise<Browser> => {
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email, password: PASSWORD } });
    if (role) await grantRole(perch.perch, created.json.id, role, 'perch.team');
    const browser = new Browser(perch);
    await browser.login(email, PASSWORD);
    return browser;
  };
  nobody = await person('nobody@example.com', null);
  viewer = await person('viewer@example.com', 'viewer');
  editor = await person('editor@example.com', 'editor');
});

afterAll(async () => {
  expect(kestra?.contractViolations).toEqual([]);
  await perch?.close();
  await kestra?.close();
});

/** How many requests whose target contains `fragment` Kestra received since the last clear. */
const reached = (fragment: string): number => kestra.requests.filter((r) => r.url.includes(fragment)).length;

describe('the notification bell through Perch', () => {
  it('serves any signed-in person, even one with no permission at all, as Kestra answers', async () => {
    kestra.clear();
    const history = await nobody.fetch('GET', '/api/v1/notifications/history?limit=20');
    expect(history.status).toBe(200);
    expect(history.json).toMatchObject({ notifications: [], nextCursor: null });
    expect((await nobody.fetch('GET', '/api/v1/notifications/unread-count')).json).toBe(0);
    expect((await nobody.fetch('POST', '/api/v1/notifications/n1/read')).status).toBe(204);
    expect((await nobody.fetch('POST', '/api/v1/notifications/read-all')).json).toEqual({ updated: 0 });
    expect(reached('/api/v1/notifications/')).toBe(4);

    const controller = new AbortController();
    const stream = await fetch(`${perch.url}/api/v1/notifications/follow`, { headers: { cookie: nobody.cookieHeader()! }, signal: controller.signal });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
    expect(reached('/api/v1/notifications/follow')).toBe(1);
  });

  it('answers 401 to someone not signed in, and nothing reaches Kestra', async () => {
    kestra.clear();
    const stranger = new Browser(perch);
    expect((await stranger.fetch('GET', '/api/v1/notifications/unread-count')).status).toBe(401);
    expect((await stranger.fetch('POST', '/api/v1/notifications/read-all')).status).toBe(401);
    expect(reached('/notifications')).toBe(0);
  });
});

describe('plugin endpoints through Perch', () => {
  const endpoint = `/api/v1/main/plugins/${PLUGIN}/endpoints/preview`;

  it('lets a reader of flows read a plugin endpoint, and only an editor send it data', async () => {
    kestra.clear();
    const read = await viewer.fetch('GET', `${endpoint}?row=1`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ group: PLUGIN, name: 'preview', method: 'GET', parameters: { row: ['1'] } });
    expect(reached('/endpoints/preview')).toBe(1);

    kestra.clear();
    const refused = await viewer.fetch('POST', endpoint, { json: { sql: 'select 1' } });
    expect(refused.status).toBe(403);
    expect(reached('/endpoints/')).toBe(0);
    const sent = await editor.fetch('POST', endpoint, { json: { sql: 'select 1' } });
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ method: 'POST', body: '{"sql":"select 1"}' });
    expect(reached('/endpoints/preview')).toBe(1);
  });

  it('refuses a person who reads no flow anywhere (403), and nothing reaches Kestra', async () => {
    kestra.clear();
    expect((await nobody.fetch('GET', endpoint)).status).toBe(403);
    expect(reached('/endpoints/')).toBe(0);
  });

  it('binds a task run\'s endpoint to the execution\'s namespace', async () => {
    for (const [namespace, id] of [['perch.team', 'mine'], ['other.team', 'theirs']]) {
      kestra.addFlow(`id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`);
    }
    const run = async (namespace: string, id: string): Promise<string> => (await admin.fetch('POST', `/api/v1/main/executions/${namespace}/${id}`, { ...multipartForm([]) })).json.id as string;
    const mine = await run('perch.team', 'mine');
    const theirs = await run('other.team', 'theirs');
    const onRun = (executionId: string) => `/api/v1/main/plugins/${PLUGIN}/endpoints/preview/${executionId}/tr1`;

    kestra.clear();
    expect((await viewer.fetch('GET', onRun(theirs))).status).toBe(403);
    expect((await viewer.fetch('POST', onRun(mine), { json: {} })).status).toBe(403);
    expect(reached('/endpoints/')).toBe(0);
    // Allowed: the call reaches Kestra (whose answer the double does not imitate for task runs).
    await viewer.fetch('GET', onRun(mine));
    await editor.fetch('POST', onRun(mine), { json: {} });
    expect(reached(`/endpoints/preview/${mine}/tr1`)).toBe(2);
  });
});

describe('the trigger page\'s bulk calls by query through Perch, as the 2.0 UI sends them (filters in the query, no body)', () => {
  const schedules = (namespace: string) =>
    `id: timed\nnamespace: ${namespace}\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n  - id: nightly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 2 * * *"\n`;
  const mine = 'filters[namespace][EQUALS]=perch.team';

  beforeAll(() => {
    kestra.addFlow(schedules('perch.team'));
    kestra.addFlow(schedules('other.team'));
  });

  it('lets an editor of a namespace disable, unlock and delete its triggers by query, and Kestra acts on them', async () => {
    kestra.clear();
    const off = await editor.fetch('POST', `/api/v1/main/triggers/set-disabled/by-query?${mine}&disabled=true`);
    expect(off.status).toBe(202);
    expect(off.json).toMatchObject({ totalItems: 1 });
    kestra.lockTrigger('perch.team', 'timed', 'nightly');
    const unlocked = await editor.fetch('POST', `/api/v1/main/triggers/unlock/by-query?${mine}`);
    expect(unlocked.status).toBe(202);
    expect(unlocked.json).toMatchObject({ totalItems: 1 });
    const deleted = await editor.fetch('DELETE', `/api/v1/main/triggers/delete/by-query?${mine}`);
    expect(deleted.status).toBe(202);
    expect(deleted.json).toMatchObject({ totalItems: 1 });
    const sent = kestra.requests.filter((r) => r.url.includes('/by-query'));
    expect(sent.map((r) => r.url)).toEqual([
      '/api/v1/main/triggers/set-disabled/by-query?disabled=true&filters[namespace][EQUALS]=perch.team',
      '/api/v1/main/triggers/unlock/by-query?filters[namespace][EQUALS]=perch.team',
      '/api/v1/main/triggers/delete/by-query?filters[namespace][EQUALS]=perch.team',
    ]);
    expect(sent[2]!.body.length).toBe(0);
  });

  it('refuses (403) a query reaching past the editor\'s namespace, and nothing reaches Kestra', async () => {
    kestra.clear();
    expect((await editor.fetch('DELETE', '/api/v1/main/triggers/delete/by-query?filters[namespace][EQUALS]=other.team')).status).toBe(403);
    expect((await viewer.fetch('DELETE', `/api/v1/main/triggers/delete/by-query?${mine}`)).status).toBe(403);
    expect(reached('/triggers/')).toBe(0);
  });
});
