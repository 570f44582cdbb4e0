import { execFile as execFileCb } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { PROJECT_ROOT } from '../config/config.js';

/**
 * One Kestra per client (issue 19, point 2): a client's stack is a folder holding a copy of
 * deploy/compose (Kestra OSS, PostgreSQL, the client's own Perch), its own random secrets and an
 * `instance.json`. Making one again keeps its secrets; removing one moves the folder aside, secrets
 * and backups included.
 */
const execFile = promisify(execFileCb);
const TEMPLATE = path.join(PROJECT_ROOT, 'deploy/compose');
const STACK_FILES = ['compose.yaml', 'initdb', 'make-secrets.sh', '.gitignore'] as const;
export const REMOVED_FOLDER = '.removed';
export const FIRST_PORT = 8090;

export const clientNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a client name is 1 to 40 lower-case letters, digits and dashes, starting with a letter or digit');

const instanceSchema = z.object({
  client: clientNameSchema,
  port: z.number().int().min(1).max(65535),
  adminEmail: z.email(),
  kestraVersion: z.string(),
  /** `standalone`: the client's own Perch only; `tenant`: also a tenant of a central Perch. */
  mode: z.enum(['standalone', 'tenant']),
  /** A `tenant` stack's central Perch, and the URL that Perch reaches the client's Kestra at. */
  tenant: z.object({ server: z.string(), kestraUrl: z.string() }).optional(),
  created: z.string(),
});
export type Instance = z.infer<typeof instanceSchema>;

export interface NewInstance {
  client: string;
  adminEmail: string;
  port?: number;
  kestraVersion?: string;
  /** Given: the stack is registered as a tenant of `server` (a fifth step, backend/instances/tenant-registration.ts). */
  tenant?: { server: string; kestraUrl?: string };
}

/** The Kestra account a client's stack generates (compose.yaml's default user, its secret file). */
export const KESTRA_USERNAME = 'perch@kestra.local';
export const KESTRA_PASSWORD_FILE = 'secrets/kestra_basic_auth_password.txt';
/** A tenant stack publishes its Kestra for the central Perch on the client's Perch port + 1000. */
export const KESTRA_PORT_OFFSET = 1000;
const TENANT_OVERRIDE = 'compose.override.yaml';

/** What a step reports: `[n/total] what` lines, shown as they happen. */
export type Progress = (line: string) => void;

export class InstanceError extends Error {
  constructor(message: string, readonly leftBehind: string[] = []) {
    super(message);
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

/** Every client's stack in `root`, by client name. */
export async function listInstances(root: string): Promise<Instance[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const instances: Instance[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === REMOVED_FOLDER) continue;
    const file = path.join(root, entry.name, 'instance.json');
    if (!(await exists(file))) continue;
    const parsed = instanceSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (parsed.success) instances.push(parsed.data);
  }
  return instances.sort((a, b) => a.client.localeCompare(b.client));
}

/**
 * What `newInstance` will write for `wanted`, found without writing anything: its port (kept, chosen
 * or the next free one) and, for a tenant, the Kestra URL its central Perch is given.
 */
export async function planInstance(root: string, wanted: NewInstance): Promise<{ instance: Instance; previous?: Instance }> {
  const client = clientNameSchema.parse(wanted.client);
  const all = await listInstances(root);
  const others = all.filter((i) => i.client !== client);
  const previous = all.find((i) => i.client === client);
  const port = wanted.port ?? previous?.port ?? nextFreePort(others);
  const clash = others.find((i) => i.port === port);
  if (clash) throw new InstanceError(`port ${port} is already ${clash.client}'s: choose another with --port`);
  // Made standalone again, a tenant's stack would stop publishing the Kestra its central Perch uses.
  if (previous?.tenant && !wanted.tenant) {
    throw new InstanceError(`${client} is a tenant of ${previous.tenant.server}: give --server ${previous.tenant.server} (and --api-token) to bring it up to date; nothing was changed`);
  }
  const kestraUrl = wanted.tenant?.kestraUrl ?? previous?.tenant?.kestraUrl ?? `http://127.0.0.1:${port + KESTRA_PORT_OFFSET}`;
  const instance: Instance = {
    client,
    port,
    adminEmail: wanted.adminEmail,
    kestraVersion: wanted.kestraVersion ?? previous?.kestraVersion ?? 'v2.0',
    mode: wanted.tenant ? 'tenant' : 'standalone',
    ...(wanted.tenant ? { tenant: { server: wanted.tenant.server, kestraUrl } } : {}),
    created: previous?.created ?? new Date().toISOString(),
  };
  return { instance, previous };
}

/**
 * Makes (or brings up to date) a client's stack in `root/<client>`. Returns the instance and, the
 * first time only, the first administrator's password (it is never shown again).
 */
export async function newInstance(root: string, wanted: NewInstance, progress: Progress): Promise<{ instance: Instance; created: boolean; adminPassword?: string }> {
  const { instance } = await planInstance(root, wanted);
  const { client, port } = instance;
  const folder = path.join(root, client);
  const leftBehind: string[] = [];
  const total = wanted.tenant ? 5 : 4;
  const step = async (n: number, what: string, work: () => Promise<void>) => {
    progress(`[${n}/${total}] ${what}`);
    try {
      await work();
    } catch (error) {
      throw new InstanceError(`step ${n} (${what}) failed: ${(error as Error).message}`, leftBehind);
    }
  };

  const created = !(await exists(folder));
  await step(1, created ? `folder ${folder}` : `folder ${folder} (kept)`, async () => {
    await mkdir(folder, { recursive: true });
    if (created) leftBehind.push(folder);
  });
  await step(2, 'stack files (compose.yaml, initdb/, make-secrets.sh)', async () => {
    for (const name of STACK_FILES) await cp(path.join(TEMPLATE, name), path.join(folder, name), { recursive: true, force: true });
  });
  const hadAdminPassword = await exists(path.join(folder, 'secrets/perch_admin_password.txt'));
  await step(3, hadAdminPassword ? 'secrets (kept)' : 'secrets (random, in secrets/: a 0700 folder)', async () => {
    await execFile('sh', [path.join(folder, 'make-secrets.sh')], { timeout: 30_000 });
    leftBehind.push(path.join(folder, 'secrets'));
  });
  await step(4, `settings (.env, instance.json${wanted.tenant ? `, ${TENANT_OVERRIDE}` : ''})`, async () => {
    const env = [
      `COMPOSE_PROJECT_NAME=perch-${client}`,
      `PERCH_PORT=${port}`,
      `PERCH_PUBLIC_URL=http://localhost:${port}`,
      `PERCH_ADMIN_EMAIL=${instance.adminEmail}`,
      `PERCH_SOURCE=${PROJECT_ROOT}`,
      `PERCH_IMAGE=perch:local`,
      `KESTRA_VERSION=${instance.kestraVersion}`,
      `KESTRA_ADMIN_EMAIL=${KESTRA_USERNAME}`,
      ...(wanted.tenant ? [`KESTRA_PORT=${port + KESTRA_PORT_OFFSET}`] : []),
    ];
    await writeFile(path.join(folder, '.env'), `${env.join('\n')}\n`);
    // Compose reads compose.override.yaml next to compose.yaml: only a tenant stack publishes its Kestra.
    if (wanted.tenant) await writeFile(path.join(folder, TENANT_OVERRIDE), tenantOverride(wanted.tenant.server));
    else await rm(path.join(folder, TENANT_OVERRIDE), { force: true });
    await writeFile(path.join(folder, 'instance.json'), `${JSON.stringify(instance, null, 2)}\n`);
  });
  const adminPassword = hadAdminPassword ? undefined : await readFile(path.join(folder, 'secrets/perch_admin_password.txt'), 'utf8');
  return { instance, created, adminPassword };
}

/**
 * A tenant stack's Kestra published for the central Perch (on the loopback interface unless
 * KESTRA_BIND says otherwise), through kestra-egress: the backplane network stays internal.
 */
function tenantOverride(server: string): string {
  return [
    `# Written by \`perch instance new --server\`: the central Perch (${server}) reaches this Kestra, a tenant of it,`,
    '# on KESTRA_PORT with the Basic credentials in secrets/. Set KESTRA_BIND in .env to publish it on another interface.',
    'services:',
    '  kestra:',
    '    ports:',
    '      - "${KESTRA_BIND:-127.0.0.1}:${KESTRA_PORT}:8080"',
    '',
  ].join('\n');
}

/** The Basic credentials of a client's Kestra, read from its stack (never printed, never in argv). */
export async function kestraCredentials(root: string, client: string): Promise<{ username: string; password: string }> {
  const password = (await readFile(path.join(root, clientNameSchema.parse(client), KESTRA_PASSWORD_FILE), 'utf8')).trim();
  if (!password) throw new InstanceError(`${KESTRA_PASSWORD_FILE} of ${client} is empty`);
  return { username: KESTRA_USERNAME, password };
}

/** One client's stack, if `root` holds it. */
export async function findInstance(root: string, client: string): Promise<Instance | undefined> {
  return (await listInstances(root)).find((i) => i.client === client);
}

function nextFreePort(others: Instance[]): number {
  const taken = new Set(others.map((i) => i.port));
  let port = FIRST_PORT;
  while (taken.has(port)) port += 1;
  return port;
}

/** Moves a client's stack to `root/.removed/<client>-<time>`: its secrets and backups stay. */
export async function removeInstance(root: string, client: string, progress: Progress, stepsBefore = 0): Promise<string> {
  const name = clientNameSchema.parse(client);
  const folder = path.join(root, name);
  if (!(await exists(path.join(folder, 'instance.json')))) throw new InstanceError(`no instance ${name} in ${root}`);
  const kept = path.join(root, REMOVED_FOLDER, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const total = stepsBefore + 2;
  progress(`[${stepsBefore + 1}/${total}] folder ${path.join(root, REMOVED_FOLDER)}`);
  await mkdir(path.dirname(kept), { recursive: true });
  progress(`[${total}/${total}] moving ${folder} to ${kept} (secrets and backups kept)`);
  await rename(folder, kept);
  return kept;
}
