import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

/** Kestra's SECRET_* variables and their base64 values (sync.ts's KestraEnvironment; not imported, so sync.ts can import this file). */
type SecretEnvironment = Map<string, string>;

/**
 * `secrets.sync.format: swarm` — Kestra OSS under Docker Swarm. Swarm delivers a secret as a file
 * in `/run/secrets/<name>`, while Kestra reads its secrets only from `SECRET_<KEY>` environment
 * variables (base64). So Perch writes, in one directory:
 *
 * - `SECRET_<KEY>`: one file per secret holding exactly the base64 Kestra decodes (mode 0600);
 * - `entrypoint.sh`: exports every `/run/secrets/SECRET_*` file as the variable of the same name,
 *   then runs Kestra image's own entrypoint (`docker-entrypoint.sh`, see docs/compatibility.md);
 * - `docker-compose.secrets.yml`: a Compose fragment for `docker stack deploy -c <yours> -c <it>`
 *   granting those secrets to the Kestra service, with the entrypoint as a Swarm config.
 *
 * Swarm secrets cannot change once created ("only updates to Labels are allowed"), so each version
 * of a value gets a new Swarm name: `SECRET_<KEY>.<random>`, kept while the value is unchanged. The
 * suffix is random, not derived from the value (a value's hash would sit in plain files and in
 * `docker secret ls`). Each Swarm secret carries the label `perch.kestra-secret` for clean-up.
 */

export const SWARM_COMPOSE = 'docker-compose.secrets.yml';
export const SWARM_ENTRYPOINT = 'entrypoint.sh';
const ENTRYPOINT_TARGET = '/perch-kestra-secrets-entrypoint.sh';
const SECRET_FILE = /^SECRET_[A-Z0-9_]+$/;
/** Docker refuses object names longer than 64 characters. */
const MAX_SWARM_NAME = 64;

const HEADER = '# Written by `perch secrets sync` (format swarm). Do not edit; Perch rewrites it.';

/** The container side: every Swarm secret SECRET_* becomes the environment variable Kestra reads. */
const ENTRYPOINT = `#!/bin/sh
${HEADER}
# Kestra OSS reads SECRET_<KEY> (base64) from its environment only; Swarm mounts secrets as files.
set -e
for file in "\${PERCH_SECRETS_DIR:-/run/secrets}"/SECRET_*; do
  [ -f "$file" ] || continue
  export "\${file##*/}=$(cat "$file")"
done
exec docker-entrypoint.sh "$@"
`;

/** What an earlier sync wrote: the values (as Kestra reads them) and each one's Swarm name. */
export interface SwarmWritten {
  env: SecretEnvironment;
  names: Map<string, string>;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function readSwarm(dir: string): Promise<SwarmWritten> {
  const env: SecretEnvironment = new Map();
  const names = new Map<string, string>();
  const files = await entries(dir);
  for (const name of files) if (SECRET_FILE.test(name)) env.set(name, await readFile(path.join(dir, name), 'utf8'));
  if (files.includes(SWARM_COMPOSE)) {
    const compose = parseYaml(await readFile(path.join(dir, SWARM_COMPOSE), 'utf8')) as { secrets?: Record<string, { name?: unknown }> } | null;
    for (const [key, secret] of Object.entries(compose?.secrets ?? {})) if (typeof secret?.name === 'string') names.set(key, secret.name);
  }
  return { env, names };
}

const swarmName = (envName: string) => `${envName.slice(0, MAX_SWARM_NAME - 9)}.${randomBytes(4).toString('hex')}`;

/** The Compose fragment: the service's secrets and entrypoint, each secret with its versioned Swarm name. */
export function swarmCompose(dir: string, service: string, names: Map<string, string>): string {
  const envNames = [...names.keys()].sort();
  const compose = {
    services: {
      [service]: {
        // Compose clears the image's command when the entrypoint is set: Kestra's service names its own (`server standalone`).
        entrypoint: ['/bin/sh', ENTRYPOINT_TARGET],
        configs: [{ source: 'perch_kestra_secrets_entrypoint', target: ENTRYPOINT_TARGET, mode: 0o444 }],
        secrets: envNames,
      },
    },
    configs: { perch_kestra_secrets_entrypoint: { name: 'perch-kestra-secrets-entrypoint-v1', file: path.join(dir, SWARM_ENTRYPOINT) } },
    secrets: Object.fromEntries(envNames.map((envName) => [envName, { name: names.get(envName)!, file: path.join(dir, envName), labels: { 'perch.kestra-secret': envName } }])),
  };
  return `${HEADER}\n# Deploy with: docker stack deploy -c <your compose file> -c ${path.join(dir, SWARM_COMPOSE)} <stack>\n${stringifyYaml(compose)}`;
}

/**
 * Writes the directory (0700): each value file, the entrypoint, then the Compose fragment naming
 * them; files of removed secrets go. A changed or new value gets a new Swarm name.
 */
export async function writeSwarm(dir: string, env: SecretEnvironment, before: SwarmWritten, service: string, writePrivate: (file: string, text: string) => Promise<void>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const names = new Map<string, string>();
  for (const [envName, value] of env) {
    const unchanged = before.env.get(envName) === value && before.names.has(envName);
    names.set(envName, unchanged ? before.names.get(envName)! : swarmName(envName));
    if (!unchanged || !before.env.has(envName)) await writePrivate(path.join(dir, envName), value);
  }
  for (const envName of before.env.keys()) if (!env.has(envName)) await rm(path.join(dir, envName), { force: true });
  await writePrivate(path.join(dir, SWARM_ENTRYPOINT), ENTRYPOINT);
  await writePrivate(path.join(dir, SWARM_COMPOSE), swarmCompose(dir, service, names));
}
