/** `PERCH_X_FILE` reads a setting from a file, as Docker and Swarm secrets deliver them. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../backend/config/config.js';

describe('settings from secret files', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(path.join(tmpdir(), 'perch-secret-files-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads PERCH_X_FILE into PERCH_X, dropping the final line break only', async () => {
    await writeFile(path.join(dir, 'kestra_password'), 'p4ss word with spaces \n');
    await writeFile(path.join(dir, 'database_url'), 'postgres://perch:s3cret@db/perch\n');
    const config = await loadConfig({
      env: { PERCH_KESTRA_PASSWORD_FILE: path.join(dir, 'kestra_password'), PERCH_DATABASE_URL_FILE: path.join(dir, 'database_url'), PERCH_KESTRA_USERNAME: 'perch@kestra.io' },
    });
    expect(config.kestra.password).toBe('p4ss word with spaces ');
    expect(config.databaseUrl).toBe('postgres://perch:s3cret@db/perch');
  });

  it('refuses both PERCH_X and PERCH_X_FILE, and a file it cannot read, naming the key', async () => {
    await writeFile(path.join(dir, 'admin_password'), 'from the file');
    const both = loadConfig({ env: { PERCH_ADMIN_PASSWORD: 'inline', PERCH_ADMIN_PASSWORD_FILE: path.join(dir, 'admin_password') } });
    await expect(both).rejects.toThrow(ConfigError);
    await expect(both).rejects.toThrow(/PERCH_ADMIN_PASSWORD and PERCH_ADMIN_PASSWORD_FILE/);
    await expect(loadConfig({ env: { PERCH_ADMIN_PASSWORD_FILE: path.join(dir, 'missing') } })).rejects.toThrow(/PERCH_ADMIN_PASSWORD_FILE .*ENOENT/);
  });

  it('never puts the file’s content in the error for a bad value', async () => {
    await writeFile(path.join(dir, 'port'), 'not-a-port-secret');
    const error = await loadConfig({ env: { PERCH_PORT_FILE: path.join(dir, 'port') } }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/PERCH_PORT/);
  });
});
