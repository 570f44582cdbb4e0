import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, parseIsoDuration } from '../../backend/config/config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ port: 8090, dataDir: './data', kestra: { url: 'http://localhost:8080', timeout: 30_000 } });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads a YAML file and lets PERCH_* variables override it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-config-'));
    const file = path.join(dir, 'perch.yml');
    await writeFile(file, 'port: 9001\nkestra:\n  url: http://kestra.internal:8080\n  username: admin@kestra.io\nsession:\n  idleTimeout: PT15M\n');
    const config = await loadConfig({ file, env: { PERCH_PORT: '9002', PERCH_KESTRA_PASSWORD: 'Secret123' } });
    expect(config.port).toBe(9002);
    expect(config.kestra).toMatchObject({ url: 'http://kestra.internal:8080', username: 'admin@kestra.io', password: 'Secret123' });
    expect(config.session.idleTimeout).toBe(15 * 60_000);
    expect((await loadConfig({ env: { PERCH_CONFIG: file } })).port).toBe(9001);
  });

  it.each([
    [{ PERCH_PORT: 'eighty' }, /^Invalid configuration: port \(PERCH_PORT\): /],
    [{ PERCH_PORT: '70000' }, /^Invalid configuration: port \(PERCH_PORT\): /],
    [{ PERCH_KESTRA_URL: 'ftp://kestra' }, /^Invalid configuration: kestra\.url \(PERCH_KESTRA_URL\): /],
    [{ PERCH_SESSION_IDLE_TIMEOUT: '30 minutes' }, /^Invalid configuration: session\.idleTimeout .*ISO-8601/],
    [{ PERCH_PUBLIC_URL: 'not a url' }, /^Invalid configuration: publicUrl \(PERCH_PUBLIC_URL\)/],
    // Perch prints these addresses: a password in one would reach the log.
    [{ PERCH_KESTRA_URL: 'http://admin:hunter2@kestra:8080' }, /^Invalid configuration: kestra\.url \(PERCH_KESTRA_URL\): must not contain a user name or password: set kestra\.username/],
    [{ PERCH_PUBLIC_URL: 'https://admin:hunter2@perch.example.com' }, /^Invalid configuration: publicUrl \(PERCH_PUBLIC_URL\): must not contain a user name or password/],
    // Perch reaches Kestra at its root: a path would be dropped without a word.
    [{ PERCH_KESTRA_URL: 'http://kestra:8080/kestra' }, /^Invalid configuration: kestra\.url \(PERCH_KESTRA_URL\): give only the scheme, host and port/],
    [{ PERCH_KESTRA_URL: 'http://kestra:8080/?x=1' }, /^Invalid configuration: kestra\.url \(PERCH_KESTRA_URL\): give only the scheme, host and port/],
    [{ PERCH_DATABASE_URL: 'mysql://admin:hunter2@db/perch' }, /^Invalid configuration: databaseUrl \(PERCH_DATABASE_URL\): use postgres:\/\/.* or sqlite:/],
  ])('stops on a bad value with one line naming the key: %o', async (env, message) => {
    const error = await loadConfig({ env }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('takes Kestra at its root with or without a trailing slash, and a database URL of either kind', () => {
    expect(parseConfig({ kestra: { url: 'http://kestra:8080/' } }).kestra.url).toBe('http://kestra:8080/');
    expect(parseConfig({ kestra: { url: 'https://kestra.internal' } }).kestra.url).toBe('https://kestra.internal');
    expect(parseConfig({ databaseUrl: 'postgresql://perch:secret@db:5432/perch' }).databaseUrl).toBe('postgresql://perch:secret@db:5432/perch');
    expect(parseConfig({ databaseUrl: 'sqlite:/var/lib/perch/perch.db' }).databaseUrl).toBe('sqlite:/var/lib/perch/perch.db');
  });

  it('refuses unknown keys and unreadable files', async () => {
    expect(() => parseConfig({ prot: 80 })).toThrow(/unknown key prot/);
    expect(() => parseConfig({ kestra: { pasword: 'x' } })).toThrow(/unknown key kestra\.pasword/);
    await expect(loadConfig({ file: '/nonexistent/perch.yml', env: {} })).rejects.toThrow(/Cannot read configuration file/);
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-config-'));
    await writeFile(path.join(dir, 'bad.yml'), 'port: [1,\n');
    await expect(loadConfig({ file: path.join(dir, 'bad.yml'), env: {} })).rejects.toThrow(/not valid YAML/);
  });

  it('trusts no proxy unless told, and takes trusted proxies as a list or a comma-separated variable', async () => {
    expect(parseConfig({})).toMatchObject({ trustedProxies: [], trustedProxyHeader: 'x-forwarded-for' });
    const config = await loadConfig({ env: { PERCH_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.10,2001:db8::/32', PERCH_TRUSTED_PROXY_HEADER: 'forwarded' } });
    expect(config).toMatchObject({ trustedProxies: ['10.0.0.0/8', '192.0.2.10', '2001:db8::/32'], trustedProxyHeader: 'forwarded' });
    expect(parseConfig({ trustedProxies: ['127.0.0.1'] }).trustedProxies).toEqual(['127.0.0.1']);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '*']) {
      await expect(loadConfig({ env: { PERCH_TRUSTED_PROXIES: bad } }), bad).rejects.toThrow(/trustedProxies.*(PERCH_TRUSTED_PROXIES)?.*CIDR/);
    }
    expect(() => parseConfig({ trustedProxyHeader: 'x-real-ip' })).toThrow(/trustedProxyHeader/);
  });

  it('parses ISO-8601 durations', () => {
    expect(parseIsoDuration('PT30M')).toBe(1_800_000);
    expect(parseIsoDuration('P7D')).toBe(604_800_000);
    expect(parseIsoDuration('PT1H30M15S')).toBe(5_415_000);
    expect(parseIsoDuration('P')).toBeNull();
    expect(parseIsoDuration('PT')).toBeNull();
    expect(parseIsoDuration('30m')).toBeNull();
  });
});
