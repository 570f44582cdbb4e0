import { execFile as execFileCb } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
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
  mode: z.literal('standalone'),
  created: z.string(),
});
export type Instance = z.infer<typeof instanceSchema>;

export interface NewInstance {
  client: string;
  adminEmail: string;
  port?: number;
  kestraVersion?: string;
}

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
 * Makes (or brings up to date) a client's stack in `root/<client>`. Returns the instance and, the
 * first time only, the first administrator's password (it is never shown again).
 */
export async function newInstance(root: string, wanted: NewInstance, progress: Progress): Promise<{ instance: Instance; created: boolean; adminPassword?: string }> {
  const client = clientNameSchema.parse(wanted.client);
  const folder = path.join(root, client);
  const others = (await listInstances(root)).filter((i) => i.client !== client);
  const previous = (await listInstances(root)).find((i) => i.client === client);
  const port = wanted.port ?? previous?.port ?? nextFreePort(others);
  const clash = others.find((i) => i.port === port);
  if (clash) throw new InstanceError(`port ${port} is already ${clash.client}'s: choose another with --port`);
  const leftBehind: string[] = [];
  const step = async (n: number, what: string, work: () => Promise<void>) => {
    progress(`[${n}/4] ${what}`);
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
  const instance: Instance = {
    client,
    port,
    adminEmail: wanted.adminEmail,
    kestraVersion: wanted.kestraVersion ?? previous?.kestraVersion ?? 'v2.0',
    mode: 'standalone',
    created: previous?.created ?? new Date().toISOString(),
  };
  await step(4, 'settings (.env, instance.json)', async () => {
    const env = [
      `COMPOSE_PROJECT_NAME=perch-${client}`,
      `PERCH_PORT=${port}`,
      `PERCH_PUBLIC_URL=http://localhost:${port}`,
      `PERCH_ADMIN_EMAIL=${instance.adminEmail}`,
      `PERCH_SOURCE=${PROJECT_ROOT}`,
      `PERCH_IMAGE=perch:local`,
      `KESTRA_VERSION=${instance.kestraVersion}`,
    ];
    await writeFile(path.join(folder, '.env'), `${env.join('\n')}\n`);
    await writeFile(path.join(folder, 'instance.json'), `${JSON.stringify(instance, null, 2)}\n`);
  });
  const adminPassword = hadAdminPassword ? undefined : await readFile(path.join(folder, 'secrets/perch_admin_password.txt'), 'utf8');
  return { instance, created, adminPassword };
}

function nextFreePort(others: Instance[]): number {
  const taken = new Set(others.map((i) => i.port));
  let port = FIRST_PORT;
  while (taken.has(port)) port += 1;
  return port;
}

/** Moves a client's stack to `root/.removed/<client>-<time>`: its secrets and backups stay. */
export async function removeInstance(root: string, client: string, progress: Progress): Promise<string> {
  const name = clientNameSchema.parse(client);
  const folder = path.join(root, name);
  if (!(await exists(path.join(folder, 'instance.json')))) throw new InstanceError(`no instance ${name} in ${root}`);
  const kept = path.join(root, REMOVED_FOLDER, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  progress(`[1/2] folder ${path.join(root, REMOVED_FOLDER)}`);
  await mkdir(path.dirname(kept), { recursive: true });
  progress(`[2/2] moving ${folder} to ${kept} (secrets and backups kept)`);
  await rename(folder, kept);
  return kept;
}
