import type { Command } from 'commander';
import type { PerchConfig } from '../config/config.js';
import type { OpenStore } from '../store/database.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** The store, migrated; a store that does not exist is refused, not created empty. */
async function openExisting(settings: PerchConfig, io: Out): Promise<OpenStore | null> {
  const { migrateToLatest, openStore } = await import('../store/database.js');
  try {
    const store = await openStore({ ...settings, mustExist: true });
    io.err(`store: ${store.description}`);
    await migrateToLatest(store.db).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    return store;
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    return null;
  }
}

/**
 * `perch secrets rotate-key --new-key-file <f>`: every sealed value re-wrapped by the new master key,
 * with progress on stderr; then the operator switches the key. Exit 1 when a value does not open.
 */
export async function secretsRotateKey(settings: PerchConfig, options: { newKeyFile: string; env?: NodeJS.ProcessEnv }, io: Out = stdio): Promise<number> {
  const { loadMasterKey, loadMasterKeyFile, masterKeyFile } = await import('../crypto/master-key.js');
  const { rotateMasterKey } = await import('./rotate-key.js');
  let current;
  let next;
  try {
    current = await loadMasterKey(settings, options.env);
    if (!current) throw new Error(`no master key: set PERCH_MASTER_KEY or put it in ${masterKeyFile(settings)}`);
    next = await loadMasterKeyFile(options.newKeyFile);
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    return 1;
  }
  if (next.envelope.keyId === current.envelope.keyId) {
    io.err(`perch: ${options.newKeyFile} holds the current master key (${current.envelope.keyId}); make a new one (openssl rand -hex 32)`);
    return 1;
  }
  const store = await openExisting(settings, io);
  if (!store) return 1;
  try {
    io.err(`re-wrapping every sealed value from master key ${current.envelope.keyId} (${current.source}) to ${next.envelope.keyId} (${next.source})`);
    const report = await rotateMasterKey(store.db, current.envelope, next.envelope, io.err);
    io.out(`re-wrapped ${report.rewrapped} value${report.rewrapped === 1 ? '' : 's'} (${report.alreadyNew} already under the new key)`);
    io.out(
      `Now switch the key: put ${next.source} in place of ${current.source} (encryption.masterKeyFile, or PERCH_MASTER_KEY) on every Perch replica and restart them. ` +
        'Until then they cannot open the re-wrapped values. Keep the old key until every replica runs with the new one.',
    );
    return 0;
  } catch (error) {
    io.err(`perch: rotation stopped: ${(error as Error).message} (the batches before it are re-wrapped; run it again once fixed)`);
    return 1;
  } finally {
    await store.close();
  }
}

export interface SyncCliOptions {
  dryRun?: boolean;
  format?: 'env' | 'kubernetes' | 'swarm';
  file?: string;
  reloadCommand?: string;
  tenant?: string;
  env?: NodeJS.ProcessEnv;
}

/** `perch secrets sync`: writes Kestra's secrets file and runs the reload command; names keys, never values. */
export async function secretsSync(settings: PerchConfig, options: SyncCliOptions, io: Out = stdio): Promise<number> {
  const { loadMasterKey, masterKeyFile } = await import('../crypto/master-key.js');
  const { syncFile, syncSecrets } = await import('./sync.js');
  const { secretBackends } = await import('./backends/index.js');
  const master = await loadMasterKey(settings, options.env).catch((error: Error) => {
    io.err(`perch: ${error.message}`);
    return null;
  });
  if (!master) {
    io.err(`perch: no master key: set PERCH_MASTER_KEY or put it in ${masterKeyFile(settings)}`);
    return 1;
  }
  const store = await openExisting(settings, io);
  if (!store) return 1;
  const sync = { ...settings.secrets.sync, ...(options.format ? { format: options.format } : {}), ...(options.file ? { file: options.file } : {}) };
  try {
    return await syncSecrets(store.db, await secretBackends(settings.secrets.backend, master.envelope), {
      format: sync.format,
      file: syncFile({ dataDir: settings.dataDir, secrets: { ...settings.secrets, sync } }),
      kubernetesName: sync.kubernetesName,
      swarmService: sync.swarmService,
      reloadCommand: options.reloadCommand ?? sync.reloadCommand,
      dryRun: options.dryRun === true,
      tenant: options.tenant ?? DEFAULT_TENANT,
    }, io.out);
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

export function registerSecretCommands(program: Command, config: (file: string | undefined) => Promise<PerchConfig>): void {
  const secrets = program.command('secrets').description('namespace secrets: deliver them to Kestra, rotate the master key');
  secrets
    .command('sync')
    .description("write Kestra's SECRET_<KEY> environment (env file, Kubernetes Secret or Docker Swarm secrets) and run the reload command")
    .option('--dry-run', 'show which keys would change (never values); write nothing')
    .option('--format <format>', 'env, kubernetes or swarm (default secrets.sync.format)')
    .option('--file <file>', 'where to write (default secrets.sync.file; a directory for swarm)')
    .option('--reload-command <command>', 'run after a change (default secrets.sync.reloadCommand)')
    .option('--tenant <tenant>', 'the tenant whose secrets Kestra gets', DEFAULT_TENANT)
    .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)')
    .action(async (options: SyncCliOptions & { config?: string }) => {
      if (options.format && !['env', 'kubernetes', 'swarm'].includes(options.format)) {
        stdio.err(`perch: --format is env, kubernetes or swarm, not ${options.format}`);
        process.exit(1);
      }
      process.exitCode = await secretsSync(await config(options.config), options);
    });
  secrets
    .command('rotate-key')
    .description('re-wrap every stored secret and credential with a new master key, then switch to it')
    .requiredOption('--new-key-file <file>', 'the new master key (hex, mode 0600), e.g. from openssl rand -hex 32')
    .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)')
    .action(async (options: { newKeyFile: string; config?: string }) => {
      process.exitCode = await secretsRotateKey(await config(options.config), options);
    });
}
