/**
 * Perch's screens at the HTTP level: the script tag added to the Kestra UI pages Perch proxies (and
 * nothing else), PERCH_UI_INJECT=false, the bundle route, and /perch/api/ui-config.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_TAG } from '../../backend/ui/screens-bundle.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { indexHtml } from '../kestra-double/misc.js';
import { SCREENS_BUNDLE } from '../support/ext-e2e.js';
import { Browser, exchange, startPerch, type RunningPerch } from '../support/perch.js';

const count = (text: string, needle: string) => text.split(needle).length - 1;
const csrfOf = (html: string) => /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1] ?? '';
const HOUR = 3_600_000;

describe('Perch adds its screens to the Kestra UI pages it serves', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let plain: RunningPerch;
  let admin: Browser;
  let plainAdmin: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    const now = Date.now();
    const kestraConfig = { url: kestra.url, username: kestra.username, password: kestra.password };
    perch = await startPerch({
      config: {
        kestra: kestraConfig,
        ui: {
          banners: [
            { id: 'now', message: 'Upgrade tonight', type: 'WARNING', startDate: new Date(now - HOUR).toISOString(), endDate: new Date(now + HOUR).toISOString() },
            { id: 'always', message: 'Welcome to Perch' },
            { id: 'later', message: 'Not yet', startDate: new Date(now + HOUR).toISOString() },
            { id: 'over', message: 'Already over', endDate: new Date(now - HOUR).toISOString() },
          ],
          maintenance: { active: true, message: 'Read-only until 10:00' },
          links: { docs: { title: 'Runbook', url: 'https://wiki.example.com/runbook' } },
        },
      },
    });
    plain = await startPerch({ config: { kestra: kestraConfig, ui: { inject: 'false' as unknown as boolean } } });
    admin = new Browser(perch);
    await admin.login();
    plainAdmin = new Browser(plain);
    await plainAdmin.login();
  });
  afterAll(async () => {
    await plain?.close();
    await perch?.close();
    await kestra?.close();
  });

  it('adds the tag exactly once, in Kestra’s html-head slot, to every UI page', async () => {
    for (const path of ['/ui/', '/ui/main/flows', '/ui/main/admin/iam', '/ui/main/flows/edit/company.team/hello/topology', '/ui/flows']) {
      const res = await admin.fetch('GET', path);
      expect(res.status, path).toBe(200);
      expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
      expect(count(res.text, BUNDLE_TAG), path).toBe(1);
      expect(count(res.text, 'data-perch-screens'), path).toBe(1);
      // In place of nothing: the page is Kestra's page plus the tag, right before the html-head meta.
      expect(res.text.replace(BUNDLE_TAG, ''), path).toBe(indexHtml(csrfOf(res.text)));
      expect(res.text).toContain(`${BUNDLE_TAG}<meta name="html-head" content="replace">`);
      expect(Number(res.headers['content-length'] ?? Buffer.byteLength(res.text))).toBe(Buffer.byteLength(res.text));
    }
  });

  it('asks Kestra for an uncompressed page (so it can add the tag) even when the browser accepts gzip', async () => {
    kestra.clear();
    const res = await admin.fetch('GET', '/ui/main/flows', { headers: { 'accept-encoding': 'gzip, br', 'if-none-match': '"abc"' } });
    expect(res.status).toBe(200);
    expect(count(res.text, BUNDLE_TAG)).toBe(1);
    const upstream = kestra.requests.find((r) => r.url === '/ui/main/flows');
    expect(upstream?.headers['accept-encoding']).toBeUndefined();
    expect(upstream?.headers['if-none-match']).toBeUndefined();
  });

  it('leaves assets, API answers and non-page UI paths untouched', async () => {
    const asset = await admin.fetch('GET', '/ui/assets/index-double.js');
    const direct = await fetch(`${kestra.url}/ui/assets/index-double.js`);
    expect(asset.status).toBe(200);
    expect(asset.text).toBe(await direct.text());
    expect(asset.text).not.toContain('data-perch-screens');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');

    const css = await admin.fetch('GET', '/ui/assets/index-abc.css');
    expect(css.text).toBe(await (await fetch(`${kestra.url}/ui/assets/index-abc.css`)).text());

    kestra.addFlow('id: hello\nnamespace: company.team\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n');
    const json = await admin.fetch('GET', '/api/v1/main/flows/company.team/hello');
    const directJson = await fetch(`${kestra.url}/api/v1/main/flows/company.team/hello`, { headers: { authorization: kestra.authorization } });
    expect(json.status).toBe(200);
    expect(json.text).toBe(await directJson.text());

    const missing = await admin.fetch('GET', '/ui/main/missing.png');
    expect(missing.status).toBe(404);
    expect(missing.text).not.toContain('data-perch-screens');
  });

  it('PERCH_UI_INJECT=false gives Kestra’s HTML byte for byte', async () => {
    for (const path of ['/ui/', '/ui/main/flows', '/ui/main/admin/iam']) {
      const res = await plainAdmin.fetch('GET', path);
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('data-perch-screens');
      expect(res.text).toBe(indexHtml(csrfOf(res.text)));
    }
    // The bundle and the ui-config route stay available to the extension's users.
    expect((await plainAdmin.fetch('GET', '/perch/ext/perch.js')).status).toBe(200);
    expect((await plainAdmin.fetch('GET', '/perch/api/ui-config')).status).toBe(200);
  });

  it('serves the extension’s content script at /perch/ext/perch.js, byte for byte, with an ETag and 304', async () => {
    const built = await readFile(SCREENS_BUNDLE, 'utf8');
    const res = await exchange(`${perch.url}/perch/ext/perch.js`, 'GET');
    expect(res.status).toBe(200);
    expect(res.text).toBe(built);
    expect(String(res.headers['content-type'])).toMatch(/^text\/javascript/);
    const etag = String(res.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await exchange(`${perch.url}/perch/ext/perch.js`, 'GET', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    const stale = await exchange(`${perch.url}/perch/ext/perch.js`, 'GET', { headers: { 'if-none-match': '"something-else"' } });
    expect(stale.status).toBe(200);
  });

  it('/perch/api/ui-config needs a session and returns only the banners active now', async () => {
    const anonymous = await exchange(`${perch.url}/perch/api/ui-config`, 'GET');
    expect(anonymous.status).toBe(401);
    const res = await admin.fetch('GET', '/perch/api/ui-config');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json.banners.map((b: { id: string }) => b.id).sort()).toEqual(['always', 'now']);
    expect(res.json.banners.find((b: { id: string }) => b.id === 'now')).toMatchObject({ message: 'Upgrade tonight', type: 'WARNING' });
    expect(res.json).toMatchObject({ inMaintenance: true, maintenanceMessage: 'Read-only until 10:00', rightSidebar: { customLinks: { docs: { title: 'Runbook' } } } });
  });
});

describe('a UI page is framed by Perch’s own origin only', () => {
  /** A Kestra that answers its UI page with the framing headers given (an older or differently configured one). */
  async function kestraSending(headers: Record<string, string>) {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html', ...headers }).end('<!doctype html><html><head></head><body><div id="app"></div></body></html>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it.each([
    ['sends none', {}, 'SAMEORIGIN', undefined],
    ['sends X-Frame-Options DENY', { 'x-frame-options': 'DENY' }, 'DENY', undefined],
    ['frames by CSP', { 'content-security-policy': "frame-ancestors 'self' https://portal.example" }, undefined, "frame-ancestors 'self' https://portal.example"],
  ] as const)('Kestra %s: the page goes out with X-Frame-Options %s', async (_name, sent, frameOptions, policy) => {
    const upstream = await kestraSending(sent);
    for (const inject of [true, false]) {
      const perch = await startPerch({ config: { kestra: { url: upstream.url }, ui: { inject: String(inject) as unknown as boolean } } });
      try {
        const admin = new Browser(perch);
        await admin.login();
        const page = await admin.fetch('GET', '/ui/main/admin/iam');
        expect(page.status).toBe(200);
        expect(page.headers['x-frame-options']).toBe(frameOptions);
        expect(page.headers['content-security-policy']).toBe(policy);
      } finally {
        await perch.close();
      }
    }
    await upstream.close();
  });
});
