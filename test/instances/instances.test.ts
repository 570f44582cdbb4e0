/** `perch instance new | list | remove` (issue 19, point 2): one stack per client, made from deploy/compose. */
import { execFile as execFileCb } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { InstanceError, listInstances, newInstance, REMOVED_FOLDER, removeInstance } from '../../backend/instances/instance-stacks.js';
import { composeCliOrExplain } from '../support/compose-cli.js';

const execFile = promisify(execFileCb);
const PERCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/perch.mjs');
const SECRETS = ['kestra_db_password', 'kestra_basic_auth_password', 'kestra_encryption_key', 'perch_database_url', 'perch_admin_password'];

describe('client stacks', () => {
  let root: string;
  const lines: string[] = [];
  const progress = (line: string) => lines.push(line);
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'perch-instances-'));
    lines.length = 0;
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const secrets = (client: string) => Promise.all(SECRETS.map((s) => readFile(path.join(root, client, 'secrets', `${s}.txt`), 'utf8')));

  it('makes a client’s stack with its own secrets, step by step, and gives the admin password once', async () => {
    const made = await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example' }, progress);
    expect(made).toMatchObject({ created: true, instance: { client: 'acme', port: 8090, adminEmail: 'ops@acme.example', mode: 'standalone', kestraVersion: 'v2.0' } });
    expect(lines.map((l) => l.slice(0, 5))).toEqual(['[1/4]', '[2/4]', '[3/4]', '[4/4]']);
    const folder = path.join(root, 'acme');
    expect((await readdir(folder)).sort()).toEqual(['.env', '.gitignore', 'compose.yaml', 'initdb', 'instance.json', 'make-secrets.sh', 'secrets']);
    const [, , , , adminPassword] = await secrets('acme');
    expect(made.adminPassword).toBe(adminPassword);
    expect((await stat(path.join(folder, 'secrets'))).mode & 0o777).toBe(0o700);
    for (const s of SECRETS) expect((await stat(path.join(folder, 'secrets', `${s}.txt`))).mode & 0o777).toBe(0o644);
    const env = await readFile(path.join(folder, '.env'), 'utf8');
    expect(env).toMatch(/^COMPOSE_PROJECT_NAME=perch-acme$/m);
    expect(env).toMatch(/^PERCH_PORT=8090$/m);
    expect(env).toMatch(/^PERCH_ADMIN_EMAIL=ops@acme\.example$/m);
    expect(env).not.toContain(adminPassword!);
  });

  it('made again, keeps its secrets and port and shows no password; a second client gets the next port', async () => {
    await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example' }, progress);
    const before = await secrets('acme');
    const again = await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example' }, progress);
    expect(again.created).toBe(false);
    expect(again.adminPassword).toBeUndefined();
    expect(await secrets('acme')).toEqual(before);
    expect(again.instance.port).toBe(8090);
    const globex = await newInstance(root, { client: 'globex', adminEmail: 'it@globex.example' }, progress);
    expect(globex.instance.port).toBe(8091);
    expect(await secrets('globex')).not.toEqual(before);
    expect((await listInstances(root)).map((i) => [i.client, i.port])).toEqual([['acme', 8090], ['globex', 8091]]);
  });

  it('refuses a port another client has, and a name that is no client name, writing nothing', async () => {
    await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example' }, progress);
    await expect(newInstance(root, { client: 'globex', adminEmail: 'it@globex.example', port: 8090 }, progress)).rejects.toThrow(/port 8090 is already acme's/);
    await expect(newInstance(root, { client: '../escape', adminEmail: 'x@example.com' }, progress)).rejects.toThrow(/client name/);
    expect(await readdir(root)).toEqual(['acme']);
  });

  it('says which step failed and what it left behind', async () => {
    await mkdir(path.join(root, 'broken'));
    await writeFile(path.join(root, 'broken', 'secrets'), 'a file where the secrets folder goes');
    const error = await newInstance(root, { client: 'broken', adminEmail: 'x@example.com' }, progress).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstanceError);
    expect((error as Error).message).toMatch(/^step 3 \(secrets/);
  });

  it('remove moves the stack aside with its secrets, and list no longer shows it', async () => {
    await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example' }, progress);
    const before = await secrets('acme');
    const kept = await removeInstance(root, 'acme', progress);
    expect(path.dirname(kept)).toBe(path.join(root, REMOVED_FOLDER));
    expect(await Promise.all(SECRETS.map((s) => readFile(path.join(kept, 'secrets', `${s}.txt`), 'utf8')))).toEqual(before);
    expect(await listInstances(root)).toEqual([]);
    await expect(removeInstance(root, 'acme', progress)).rejects.toThrow(/no instance acme/);
  });

  it('a client’s stack is a valid Compose project with its own name and port (`config`)', async () => {
    await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example', port: 9100 }, progress);
    const cli = composeCliOrExplain('`config` on a client stack');
    if (!cli) return;
    const { stdout } = await execFile(cli[0]!, [...cli.slice(1), 'config'], { cwd: path.join(root, 'acme'), timeout: 30_000 });
    const config = YAML.parse(stdout);
    expect(config.services.perch.ports).toEqual([expect.objectContaining({ published: 9100, target: 8090 })]);
    expect(config.services.perch.environment.PERCH_ADMIN_EMAIL).toBe('ops@acme.example');
  });
});

describe('perch instance (the commands)', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(path.join(tmpdir(), 'perch-instances-cli-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));
  const perch = (...args: string[]) => execFile(process.execPath, [PERCH, 'instance', ...args, '--dir', root], { timeout: 60_000 });

  it('new needs --standalone until tenants exist; list prints a table or JSON; remove asks for confirmation', async () => {
    await expect(perch('new', 'acme', '--admin-email', 'ops@acme.example')).rejects.toMatchObject({ stderr: expect.stringMatching(/--standalone/) });
    expect(await readdir(root)).toEqual([]);

    const made = await perch('new', 'acme', '--admin-email', 'ops@acme.example', '--standalone');
    const password = (await readFile(path.join(root, 'acme/secrets/perch_admin_password.txt'), 'utf8'));
    expect(made.stdout).toContain(`password (shown this once): ${password}`);
    const again = await perch('new', 'acme', '--admin-email', 'ops@acme.example', '--standalone');
    expect(again.stdout).not.toContain(password);

    expect((await perch('list')).stdout).toMatch(/^CLIENT\s+PORT\s+ADMIN\s+KESTRA\s+CREATED\nacme\s+8090\s+ops@acme\.example\s+v2\.0\s+\d{4}-/);
    expect(JSON.parse((await perch('list', '--json')).stdout)).toEqual([expect.objectContaining({ client: 'acme', port: 8090 })]);

    await expect(perch('remove', 'acme')).rejects.toMatchObject({ stderr: expect.stringMatching(/needs confirmation: give --yes/) });
    expect(JSON.parse((await perch('list', '--json')).stdout)).toHaveLength(1);
    expect((await perch('remove', 'acme', '--yes')).stdout).toMatch(/secrets and backups are in .*\.removed/);
    expect(JSON.parse((await perch('list', '--json')).stdout)).toEqual([]);
  }, 240_000); // eight runs of the CLI, each compiling its sources with tsx
});
