import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { logFlow } from '../support/perch.js';

const run = promisify(execFile);
const PERCH = path.resolve(import.meta.dirname, '../../bin/perch.mjs');

describe('perch backup on the command line', () => {
  let work: string;
  let source: KestraDouble;
  let target: KestraDouble;

  const env = (dataDir: string, kestra: KestraDouble, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_'))),
    PERCH_DATA_DIR: dataDir,
    PERCH_KESTRA_URL: kestra.url,
    PERCH_KESTRA_USERNAME: kestra.username,
    PERCH_KESTRA_PASSWORD: kestra.password,
    PERCH_LOG_LEVEL: 'warn',
    ...extra,
  });
  const perch = (args: string[], environment: NodeJS.ProcessEnv) => run(process.execPath, [PERCH, ...args], { env: environment }).catch((e: { code: number; stdout: string; stderr: string }) => e);

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'perch-backup-cli-'));
    source = await startKestraDouble();
    target = await startKestraDouble();
    source.addFlow(logFlow('company.team', 'hello'));
  });
  afterAll(async () => {
    await source?.close();
    await target?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('create shows progress and the manifest; restore --dry-run lists, restore writes, and the owner is back', async () => {
    const from = path.join(work, 'from');
    const created = await perch(['admin', 'create', '--email', 'root@example.com', '--password', 'a long enough passphrase'], env(from, source));
    expect(created.stderr).toBe('');

    const noSecret = await perch(['backup', 'create', '-o', path.join(work, 'x.age')], env(from, source));
    expect(noSecret).toMatchObject({ code: 1 });
    expect(noSecret.stderr.trim()).toBe('perch: backup failed: no secret for the archive: give --key-file <age identity file>, --passphrase-file <file>, or set PERCH_BACKUP_PASSPHRASE');

    // A key file (no scrypt: quick); passphrases are exercised in backup-restore.test.ts.
    const keyFile = path.join(work, 'backup.key');
    const keygen = await perch(['backup', 'keygen', keyFile], env(from, source));
    expect(keygen.stdout).toMatch(/^wrote .*backup\.key; public key age1[a-z0-9]+\. /);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const archive = path.join(work, 'cli.age');
    const backup = await perch(['backup', 'create', '-o', archive, '--key-file', keyFile], env(from, source));
    expect(backup.stderr).toMatch(/^store: SQLite .*; Kestra: http:\/\/127\.0\.0\.1:\d+$/m);
    // Not a terminal: progress as plain lines ("step/steps part: count").
    // The first part's line (the tables go parents first; which one leads depends on the schema).
    expect(backup.stderr).toMatch(/^1\/\d+ [a-z_]+ \(of \d+ rows\): \d+$/m);
    expect(backup.stdout).toMatch(/^PART\s+COUNT\s+BYTES\s+SHA256$/m);
    expect(backup.stdout).toMatch(/^kestra\.flows\s+1\s+\d+\s+[0-9a-f]{64}$/m);
    expect(backup.stdout).toMatch(/^not restorable: Kestra executions/m);
    expect(backup.stdout).toContain(`wrote ${archive} (the whole instance)`);
    expect((await stat(archive)).mode & 0o777).toBe(0o600);

    const into = path.join(work, 'into');
    const dry = await perch(['backup', 'restore', archive, '--dry-run', '--key-file', keyFile], env(into, target));
    expect(dry.stdout).toMatch(/^perch\.table\.users\s+1$/m);
    expect(dry.stdout).toMatch(/^kestra\.flows\s+1$/m);
    expect(dry.stdout.trim().split('\n').at(-1)).toBe('dry run: nothing was written');
    expect(target.store.flows.size).toBe(0);

    const restored = await perch(['backup', 'restore', archive, '--key-file', keyFile], env(into, target));
    expect(restored.stdout.trim().split('\n').at(-1)).toBe(`restored ${archive}`);
    expect([...target.store.flows.values()].map((f) => `${f.namespace}.${f.id}`)).toEqual(['company.team.hello']);
    const again = await perch(['backup', 'restore', archive, '--dry-run', '--key-file', keyFile], env(into, target));
    expect(again).toMatchObject({ code: 1 });
    expect(again.stderr).toMatch(/^perch: restore failed: the target is not empty: .*holds rows in users.*give --force to write over them$/m);

    // The restored owner exists: creating them again is refused.
    const duplicate = await perch(['admin', 'create', '--email', 'root@example.com', '--password', 'a long enough passphrase'], env(into, target));
    expect(duplicate).toMatchObject({ code: 1 });
  }, 120_000);
});
