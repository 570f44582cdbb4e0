/** `perch instance new | list | remove` (issue 19, point 2): one stack per client, made from deploy/compose. */
import { execFile as execFileCb } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { InstanceError, kestraCredentials, listInstances, newInstance, REMOVED_FOLDER, removeInstance } from '../../backend/instances/instance-stacks.js';
import { tenantIdOf } from '../../backend/instances/tenant-registration.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, logFlow, startSignedIn, type RunningPerch } from '../support/perch.js';
import { freePort } from '../support/postgres.js';
import { signedInPerson } from '../iam/iam-helpers.js';
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

  it('a tenant stack publishes its Kestra for the central Perch and keeps the central Perch’s URL; made standalone again, it is refused', async () => {
    const made = await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example', tenant: { server: 'http://central.example' } }, progress);
    expect(lines.map((l) => l.slice(0, 5))).toEqual(['[1/5]', '[2/5]', '[3/5]', '[4/5]']);
    expect(made.instance).toMatchObject({ mode: 'tenant', tenant: { server: 'http://central.example', kestraUrl: 'http://127.0.0.1:9090' } });
    const env = await readFile(path.join(root, 'acme/.env'), 'utf8');
    expect(env).toMatch(/^KESTRA_PORT=9090$/m);
    expect(env).toMatch(/^KESTRA_ADMIN_EMAIL=perch@kestra\.local$/m);
    const override = YAML.parse(await readFile(path.join(root, 'acme/compose.override.yaml'), 'utf8'));
    expect(override.services.kestra.ports).toEqual(['${KESTRA_BIND:-127.0.0.1}:${KESTRA_PORT}:8080']);
    expect(await kestraCredentials(root, 'acme')).toEqual({ username: 'perch@kestra.local', password: (await secrets('acme'))[1] });
    // Made again with a Kestra URL of its own, that URL is kept for the next runs.
    await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example', tenant: { server: 'http://central.example', kestraUrl: 'http://kestra-acme.internal:8080' } }, progress);
    expect((await newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example', tenant: { server: 'http://central.example' } }, progress)).instance.tenant?.kestraUrl).toBe('http://kestra-acme.internal:8080');
    await expect(newInstance(root, { client: 'acme', adminEmail: 'ops@acme.example' }, progress)).rejects.toThrow(/acme is a tenant of http:\/\/central\.example: give --server/);
    expect(await stat(path.join(root, 'acme/compose.override.yaml'))).toBeTruthy();
    // `main` is the central Perch's own Kestra: no client takes that tenant id.
    expect(() => tenantIdOf('main')).toThrow(/central Perch's own Kestra/);
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
    expect(config.services.kestra.ports).toBeUndefined();
    // A tenant stack: Compose merges compose.override.yaml, publishing Kestra on loopback for the central Perch.
    await newInstance(root, { client: 'globex', adminEmail: 'it@globex.example', port: 9200, tenant: { server: 'http://central.example' } }, progress);
    const tenant = YAML.parse((await execFile(cli[0]!, [...cli.slice(1), 'config'], { cwd: path.join(root, 'globex'), timeout: 30_000 })).stdout);
    // Compose versions answer the long form or keep the short one: both say the same binding.
    const published = (tenant.services.kestra.ports as (string | { host_ip: string; published: string; target: number })[]).map((p) => (typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip}:${p.published}:${p.target}`));
    expect(published).toEqual(['127.0.0.1:10200:8080']);
    expect(tenant.services.kestra.environment.KESTRA_CONFIGURATION).toContain('username: perch@kestra.local');
  });
});

describe('perch instance (the commands)', () => {
  let root: string;
  beforeEach(async () => (root = await mkdtemp(path.join(tmpdir(), 'perch-instances-cli-'))));
  afterEach(() => rm(root, { recursive: true, force: true }));
  const perch = (...args: string[]) => execFile(process.execPath, [PERCH, 'instance', ...args, '--dir', root], { timeout: 60_000 });

  it('new without --server is standalone (--standalone says so); list prints a table or JSON; remove asks for confirmation', async () => {
    await expect(perch('new', 'acme', '--admin-email', 'ops@acme.example', '--standalone', '--server', 'http://127.0.0.1:9')).rejects.toMatchObject({ stderr: expect.stringMatching(/--standalone and --server exclude each other/) });
    expect(await readdir(root)).toEqual([]);

    const made = await perch('new', 'acme', '--admin-email', 'ops@acme.example');
    expect(made.stdout).not.toMatch(/\[5\/5\]|tenant/);
    expect(JSON.parse(await readFile(path.join(root, 'acme/instance.json'), 'utf8'))).toMatchObject({ mode: 'standalone' });
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

describe('perch instance --server (the client’s Kestra as an INSTANCE tenant of a central Perch)', () => {
  let root: string;
  let mainKestra: KestraDouble;
  let clientKestra: KestraDouble | undefined;
  let central: RunningPerch;
  let owner: Browser;
  let token: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'perch-instances-tenant-'));
    mainKestra = await startKestraDouble();
    ({ perch: central, admin: owner } = await startSignedIn({ config: { kestra: { url: mainKestra.url, username: mainKestra.username, password: mainKestra.password } } }));
    token = (await owner.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'instances' } })).json.fullToken;
  });
  afterAll(async () => {
    await central?.close();
    await Promise.all([mainKestra?.close(), clientKestra?.close()]);
    await rm(root, { recursive: true, force: true });
  });
  const outputs: string[] = [];
  const perch = async (...args: string[]) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
    const ran = await execFile(process.execPath, [PERCH, 'instance', ...args, '--dir', root], { timeout: 60_000, env: clean }).catch((error: { stdout: string; stderr: string }) => {
      outputs.push(error.stdout, error.stderr);
      throw error;
    });
    outputs.push(ran.stdout, ran.stderr);
    return ran;
  };
  const server = () => ['--server', central.url, '--api-token', token];

  it('registers the stack’s Kestra with its generated credentials, idempotently; a refusal leaves the stack and says how to retry; remove deletes the tenant', async () => {
    // The central Perch cannot reach the client's Kestra: it refuses (502), the stack stays, no tenant.
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const refused = await perch('new', 'acme', '--admin-email', 'ops@acme.example', ...server(), '--kestra-url', deadUrl).catch((e: { stdout: string; stderr: string }) => e);
    expect(refused.stdout).toMatch(/\[4\/5\][^]*\[5\/5\] tenant acme on /);
    expect(refused.stderr).toMatch(/step 5 \(tenant acme\) failed: POST \/api\/v1\/tenants answered 502: The Kestra at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    expect(refused.stderr).toContain(`left behind: the stack in ${path.join(root, 'acme')}`);
    expect(refused.stderr).toContain(`retry, once the central Perch can reach the client's Kestra: npx perch instance new acme --dir ${root} --admin-email ops@acme.example --server ${central.url} --kestra-url ${deadUrl} --api-token <owner token>`);
    const adminPassword = await readFile(path.join(root, 'acme/secrets/perch_admin_password.txt'), 'utf8');
    expect(refused.stdout).toContain(`password (shown this once): ${adminPassword}`);
    expect((await owner.fetch('GET', '/api/v1/tenants/acme')).status).toBe(404);

    // The client's Kestra, with the Basic credentials the stack generated.
    const kestraPassword = (await readFile(path.join(root, 'acme/secrets/kestra_basic_auth_password.txt'), 'utf8')).trim();
    clientKestra = await startKestraDouble({ username: 'perch@kestra.local', password: kestraPassword });
    const made = await perch('new', 'acme', '--admin-email', 'ops@acme.example', ...server(), '--kestra-url', clientKestra.url);
    expect(made.stdout).toContain(`registered tenant acme on ${central.url}`);
    const tenant = await owner.fetch('GET', '/api/v1/tenants/acme');
    expect(tenant.status, tenant.text).toBe(200);
    expect(tenant.json).toEqual({ id: 'acme', name: 'acme', deleted: false, isolation: { mode: 'INSTANCE', kestraUrl: clientKestra.url, username: 'perch@kestra.local' } });
    // The central Perch's proxy reaches the client's Kestra with those credentials.
    clientKestra.addFlow(logFlow('acme.sales', 'invoice'));
    clientKestra.clear();
    const member = await signedInPerson(central, owner, 'acme-admin');
    expect((await owner.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: member.email } })).status).toBe(204);
    expect((await owner.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: member.id, roleId: 'admin' } })).status).toBe(200);
    const flows = await member.browser.fetch('GET', '/api/v1/acme/flows/search?page=1&size=10');
    expect(flows.status, flows.text).toBe(200);
    expect(flows.json.results.map((f: { id: string }) => f.id)).toEqual(['invoice']);
    expect(clientKestra.requests.map((r) => [r.url, r.headers.authorization])).toEqual([['/api/v1/main/flows/search?page=1&size=10', clientKestra.authorization]]);

    // Again (the Kestra URL kept from the last run): the stack and the tenant are found and kept.
    const again = await perch('new', 'acme', '--admin-email', 'ops@acme.example', ...server());
    expect(again.stdout).toContain(`tenant acme on ${central.url} already has this Kestra (${clientKestra.url}): kept as it is`);
    // Another Kestra for the same tenant: refused before anything is written, the tenant and the stack unchanged.
    const other = await perch('new', 'acme', '--admin-email', 'ops@acme.example', ...server(), '--kestra-url', 'http://127.0.0.1:9').catch((e: { stderr: string }) => e);
    expect(other.stderr).toContain(`tenant acme already exists on ${central.url} as INSTANCE on ${clientKestra.url}, not this client's Kestra (http://127.0.0.1:9): nothing was changed there`);
    expect(other.stderr).toContain('nothing was written');
    expect((await owner.fetch('GET', '/api/v1/tenants/acme')).json.isolation.kestraUrl).toBe(clientKestra.url);
    expect(JSON.parse(await readFile(path.join(root, 'acme/instance.json'), 'utf8')).tenant).toEqual({ server: central.url, kestraUrl: clientKestra.url });

    // list --server: registered or not, per client.
    await perch('new', 'globex', '--admin-email', 'it@globex.example');
    expect(JSON.parse((await perch('list', '--json', ...server())).stdout).map((i: { client: string; registered: string }) => [i.client, i.registered])).toEqual([['acme', 'registered'], ['globex', 'not registered']]);

    // remove --server: the tenant is deleted, the stack moved aside with its secrets.
    const removed = await perch('remove', 'acme', '--yes', ...server());
    expect(removed.stdout).toMatch(/\[1\/3\] tenant acme[^]*\[3\/3\] moving/);
    expect(removed.stdout).toContain(`deleted tenant acme on ${central.url}; removed acme`);
    expect((await owner.fetch('GET', '/api/v1/tenants/acme')).status).toBe(404);
    expect((await readdir(path.join(root, REMOVED_FOLDER))).map((f) => f.split('-')[0])).toEqual(['acme']);

    // No run printed the Kestra password or the token.
    for (const output of outputs) {
      expect(output).not.toContain(kestraPassword);
      expect(output).not.toContain(token);
    }
  }, 300_000); // CLI runs, each compiling its sources with tsx
});
