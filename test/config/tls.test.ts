/** Perch serving https itself (issue 19, point 4): PERCH_TLS_CERT / PERCH_TLS_KEY, Secure cookies, HSTS. */
import { execFile as execFileCb } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../backend/config/config.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startPerch, type RunningPerch } from '../support/perch.js';
import { freePort } from '../support/postgres.js';

const execFile = promisify(execFileCb);

describe('https served by Perch', () => {
  let dir: string;
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let agent: Agent;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'perch-tls-'));
    await execFile('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { timeout: 30_000 });
    kestra = await startKestraDouble();
    const port = await freePort();
    base = `https://127.0.0.1:${port}`;
    perch = await startPerch({
      config: {
        port,
        publicUrl: base,
        tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') },
        kestra: { url: kestra.url, username: kestra.username, password: kestra.password },
      },
    });
    agent = new Agent({ connect: { ca: await readFile(path.join(dir, 'cert.pem')) } });
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
    await agent?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers over TLS with HSTS, on its own answers and on Kestra’s, and sets Secure __Host- cookies', async () => {
    const health = await request(`${base}/perch/health`, { dispatcher: agent });
    await health.body.dump();
    expect(health.statusCode).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');

    const login = await request(`${base}/perch/api/login`, {
      dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
    });
    await login.body.dump();
    expect(login.statusCode).toBe(204);
    const cookies = [login.headers['set-cookie']].flat().join('\n');
    expect(cookies).toMatch(/^__Host-perch_session=[^;]+;.*Secure/m);

    const session = cookies.match(/__Host-perch_session=[^;]+/)![0];
    const proxied = await request(`${base}/api/v1/main/flows/search`, { dispatcher: agent, headers: { cookie: session } });
    await proxied.body.dump();
    expect(proxied.statusCode).toBe(200);
    expect(proxied.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('speaks no plain http on its port', async () => {
    await expect(request(`${base.replace('https:', 'http:')}/perch/health`, { headersTimeout: 5000 }).then((r) => r.body.dump())).rejects.toThrow();
  });
});

describe('tls settings', () => {
  it('need an https publicUrl, so that cookies are Secure and the CSRF origin is https', () => {
    expect(() => parseConfig({ tls: { cert: '/c.pem', key: '/k.pem' } })).toThrow(/publicUrl.*https/);
    expect(() => parseConfig({ tls: { cert: '/c.pem', key: '/k.pem' }, publicUrl: 'http://perch.example' })).toThrow(/publicUrl.*https/);
    expect(parseConfig({ tls: { cert: '/c.pem', key: '/k.pem' }, publicUrl: 'https://perch.example' }).tls).toEqual({ cert: '/c.pem', key: '/k.pem' });
  });

  it('a file Perch cannot read stops it, naming the setting', async () => {
    await expect(startPerch({ config: { publicUrl: 'https://perch.example', tls: { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } } })).rejects.toThrow(/tls\.cert \(PERCH_TLS_CERT\).*ENOENT/);
  });

  it('without https, no HSTS', async () => {
    const perch = await startPerch();
    try {
      const health = await request(`${perch.url}/perch/health`);
      await health.body.dump();
      expect(health.headers['strict-transport-security']).toBeUndefined();
    } finally {
      await perch.close();
    }
  });
});
