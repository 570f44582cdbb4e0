import { spawn } from 'node:child_process';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { PerchConfig } from '../config/config.js';
import type { ReadOptions, SecretBackends } from './backends/index.js';
import type { Store } from '../store/database.js';
import { openSecretsOfTenant } from './secret-store.js';
import { readSwarm, writeSwarm } from './sync-swarm.js';

/**
 * `perch secrets sync`: delivery of the namespace secrets to Kestra OSS, which reads every secret
 * from its environment at start-up (`SECRET_<KEY>`, the value base64-encoded; Kestra's
 * core/secret/SecretService.java, docs/compatibility.md). Perch writes what the environment is made
 * from — an env file, a Kubernetes Secret manifest or Docker Swarm secrets (sync-swarm.ts) — and then runs the reload command (Kestra reads
 * its environment once, so it must restart). What it prints names keys, never values.
 */

export type SyncFormat = PerchConfig['secrets']['sync']['format'];

/** Environment variable → its value as Kestra reads it (base64 of the secret). */
export type KestraEnvironment = Map<string, string>;

export interface SyncChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

const envName = (envKey: string) => `SECRET_${envKey}`;

export async function kestraEnvironment(db: Store, backends: SecretBackends, tenant: string, options: ReadOptions = {}): Promise<KestraEnvironment> {
  const env: KestraEnvironment = new Map();
  for (const secret of await openSecretsOfTenant(db, backends, tenant, options)) env.set(envName(secret.envKey), Buffer.from(secret.value, 'utf8').toString('base64'));
  return env;
}

export function syncFile(config: Pick<PerchConfig, 'dataDir' | 'secrets'>): string {
  const sync = config.secrets.sync;
  const fallback = { env: 'kestra-secrets.env', kubernetes: 'kestra-secrets.yaml', swarm: 'kestra-secrets' }[sync.format];
  return path.resolve(sync.file ?? path.join(config.dataDir, fallback));
}

const HEADER = '# Written by `perch secrets sync`: Kestra reads each SECRET_<KEY> (base64) at start-up. Do not edit; Perch rewrites it.';

export function render(format: Exclude<SyncFormat, 'swarm'>, env: KestraEnvironment, kubernetesName: string): string {
  const names = [...env.keys()].sort();
  if (format === 'env') return `${HEADER}\n${names.map((name) => `${name}=${env.get(name)}`).join('\n')}\n`;
  // A Secret's `data` is base64 of the bytes the container sees: the base64 Kestra decodes, encoded once more.
  const data = Object.fromEntries(names.map((name) => [name, Buffer.from(env.get(name)!, 'utf8').toString('base64')]));
  return `${HEADER}\n${stringifyYaml({ apiVersion: 'v1', kind: 'Secret', metadata: { name: kubernetesName }, type: 'Opaque', data })}`;
}

/** What a file written earlier holds (an absent file holds nothing). */
export function parseWritten(format: Exclude<SyncFormat, 'swarm'>, text: string): KestraEnvironment {
  const env: KestraEnvironment = new Map();
  if (format === 'env') {
    for (const line of text.split('\n')) {
      const at = line.indexOf('=');
      if (line.startsWith('#') || at <= 0) continue;
      env.set(line.slice(0, at), line.slice(at + 1));
    }
    return env;
  }
  const data = (parseYaml(text) as { data?: Record<string, string> } | null)?.data ?? {};
  for (const [name, value] of Object.entries(data)) env.set(name, Buffer.from(String(value), 'base64').toString('utf8'));
  return env;
}

export function diff(before: KestraEnvironment, after: KestraEnvironment): SyncChanges {
  const changes: SyncChanges = { added: [], changed: [], removed: [] };
  for (const [name, value] of after) {
    if (!before.has(name)) changes.added.push(name);
    else if (before.get(name) !== value) changes.changed.push(name);
  }
  for (const name of before.keys()) if (!after.has(name)) changes.removed.push(name);
  for (const list of Object.values(changes)) list.sort();
  return changes;
}

async function readWritten(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** Written whole or not at all, readable by its owner only. */
async function writePrivate(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

function runReload(command: string, out: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    // The command's output is the operator's own; Perch passes no secret to it (no argument, no variable).
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => out(chunk.toString('utf8').trimEnd()));
    child.stderr.on('data', (chunk: Buffer) => out(chunk.toString('utf8').trimEnd()));
    child.on('error', (error) => {
      out(`reload command could not start: ${error.message}`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export interface SyncOptions {
  format: SyncFormat;
  /** A file; for swarm, a directory. */
  file: string;
  kubernetesName: string;
  swarmService: string;
  reloadCommand?: string;
  dryRun: boolean;
  tenant: string;
}

/** 0 when Kestra's file is up to date (and reloaded when it changed); 1 when the reload command failed. */
export async function syncSecrets(db: Store, backends: SecretBackends, options: SyncOptions, out: (line: string) => void): Promise<number> {
  // What is written to Kestra's file comes straight from the managers; only a dry run may be answered from the cache.
  const wanted = await kestraEnvironment(db, backends, options.tenant, { fresh: !options.dryRun });
  const swarm = options.format === 'swarm' ? await readSwarm(options.file) : undefined;
  const changes = diff(swarm ? swarm.env : parseWritten(options.format as Exclude<SyncFormat, 'swarm'>, await readWritten(options.file)), wanted);
  const count = changes.added.length + changes.changed.length + changes.removed.length;
  for (const [label, names] of [['add', changes.added], ['change', changes.changed], ['remove', changes.removed]] as const) {
    for (const name of names) out(`${options.dryRun ? 'would ' : ''}${label} ${name}`);
  }
  if (count === 0) {
    out(`${options.file} is up to date (${wanted.size} secret${wanted.size === 1 ? '' : 's'}); nothing to reload`);
    return 0;
  }
  if (options.dryRun) {
    out(`dry run: ${count} change${count === 1 ? '' : 's'} to ${options.file}; nothing written`);
    return 0;
  }
  if (swarm) await writeSwarm(options.file, wanted, swarm, options.swarmService, writePrivate);
  else await writePrivate(options.file, render(options.format as Exclude<SyncFormat, 'swarm'>, wanted, options.kubernetesName));
  out(`wrote ${options.file} (${wanted.size} secret${wanted.size === 1 ? '' : 's'}, ${count} change${count === 1 ? '' : 's'})`);
  if (!options.reloadCommand) {
    out('no reload command (secrets.sync.reloadCommand): restart Kestra for it to read the new secrets');
    return 0;
  }
  out(`running the reload command`);
  const code = await runReload(options.reloadCommand, out);
  if (code !== 0) out(`the reload command failed (exit ${code}): Kestra still runs with its previous secrets`);
  return code === 0 ? 0 : 1;
}
