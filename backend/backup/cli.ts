import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { PerchConfig } from '../config/config.js';
import type { ArchiveSecret } from './archive.js';

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

export interface SecretOptions {
  keyFile?: string;
  passphraseFile?: string;
}

/**
 * The archive's secret: an age key file (`--key-file`), or a passphrase from `--passphrase-file` or
 * PERCH_BACKUP_PASSPHRASE; never a passphrase on the command line, where `ps` shows it.
 */
export async function archiveSecret(options: SecretOptions, env: NodeJS.ProcessEnv = process.env): Promise<ArchiveSecret> {
  const { BackupError, readIdentityFile } = await import('./archive.js');
  if (options.keyFile && options.passphraseFile) throw new BackupError('give --key-file or --passphrase-file, not both');
  if (options.keyFile) return { identity: await readIdentityFile(options.keyFile) };
  let passphrase = env.PERCH_BACKUP_PASSPHRASE;
  if (options.passphraseFile) {
    try {
      passphrase = (await readFile(options.passphraseFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      throw new BackupError(`cannot read the passphrase file ${options.passphraseFile}: ${(error as Error).message}`);
    }
  }
  if (!passphrase) throw new BackupError('no secret for the archive: give --key-file <age identity file>, --passphrase-file <file>, or set PERCH_BACKUP_PASSPHRASE');
  return { passphrase };
}

export interface CreateRun extends SecretOptions {
  output?: string;
  tenant?: string;
  perchVersion: string;
  env?: NodeJS.ProcessEnv;
  progress?: import('./progress.js').Progress;
}

/** `perch backup create`: 0 and the manifest's summary, or 1 and one line saying why. */
export async function backupCreate(settings: PerchConfig, run: CreateRun, io: Out = stdio): Promise<number> {
  const { openStore, migrateToLatest } = await import('../store/database.js');
  const { createBackup } = await import('./create.js');
  const { stderrProgress } = await import('./progress.js');
  const { formatTable } = await import('../cli-output.js');
  const file = run.output ?? `perch-backup-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}.age`;
  let store;
  try {
    const secret = await archiveSecret(run, run.env);
    store = await openStore({ ...settings, mustExist: true });
    await migrateToLatest(store.db);
    io.err(`store: ${store.description}; Kestra: ${new URL(settings.kestra.url).origin}`);
    const manifest = await createBackup(settings, store, { file, secret, tenant: run.tenant, perchVersion: run.perchVersion, progress: run.progress ?? stderrProgress() });
    io.out(formatTable(['part', 'count', 'bytes', 'sha256'], manifest.parts.map((p) => [p.name, p.count, p.bytes, p.sha256])));
    for (const table of manifest.leftOut) io.out(`left out: ${table.name}: ${table.reason}`);
    for (const item of manifest.notRestorable) io.out(`not restorable: ${item}`);
    io.out(`wrote ${file} (${manifest.scope === 'tenant' ? `tenant ${manifest.tenant}` : 'the whole instance'})`);
    return 0;
  } catch (error) {
    io.err(`perch: backup failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await store?.close();
  }
}

export interface RestoreRun extends SecretOptions {
  dryRun?: boolean;
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  progress?: import('./progress.js').Progress;
}

/** `perch backup restore <file>`: 0 with what was (or would be) written, or 1 and one line saying why. */
export async function backupRestore(settings: PerchConfig, file: string, run: RestoreRun, io: Out = stdio): Promise<number> {
  const { openStore, migrateToLatest } = await import('../store/database.js');
  const { restoreBackup } = await import('./restore.js');
  const { stderrProgress } = await import('./progress.js');
  const { formatTable } = await import('../cli-output.js');
  let store;
  try {
    const secret = await archiveSecret(run, run.env);
    store = await openStore(settings);
    await migrateToLatest(store.db);
    io.err(`store: ${store.description}; Kestra: ${new URL(settings.kestra.url).origin}`);
    const report = await restoreBackup(settings, store, { file, secret, dryRun: run.dryRun, force: run.force, env: run.env, progress: run.progress ?? stderrProgress() });
    const { manifest } = report;
    io.out(`${manifest.scope === 'tenant' ? `tenant ${manifest.tenant}` : 'the whole instance'}, backed up ${manifest.createdAt} by Perch ${manifest.perchVersion}`);
    io.out(formatTable(['part', report.dryRun ? 'would write' : 'written'], report.writes.map((w) => [w.part, w.count])));
    for (const note of report.notes) io.out(`note: ${note}`);
    for (const item of manifest.notRestorable) io.out(`not restorable: ${item}`);
    io.out(report.dryRun ? 'dry run: nothing was written' : `restored ${file}`);
    return 0;
  } catch (error) {
    io.err(`perch: restore failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await store?.close();
  }
}

/** `perch backup keygen <file>`: an age identity file (mode 0600) for --key-file; prints its public key. */
export async function backupKeygen(file: string, io: Out = stdio): Promise<number> {
  const { open } = await import('node:fs/promises');
  const { generateIdentity, identityToRecipient } = await import('age-encryption');
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  try {
    const handle = await open(file, 'wx', 0o600);
    await handle.writeFile(`# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`);
    await handle.close();
  } catch (error) {
    io.err(`perch: cannot write ${file}: ${(error as Error).message}`);
    return 1;
  }
  io.out(`wrote ${file}; public key ${recipient}. Keep the file away from the backups: whoever holds it can read them`);
  return 0;
}

const secretOptions = (command: Command) =>
  command
    .option('--key-file <file>', 'age identity file (perch backup keygen, or age-keygen)')
    .option('--passphrase-file <file>', 'file holding the passphrase (or PERCH_BACKUP_PASSPHRASE)')
    .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)');

export function registerBackupCommands(program: Command, config: (file: string | undefined) => Promise<PerchConfig>, perchVersion: string): void {
  const backup = program.command('backup').description("back up and restore Perch's store and Kestra's metadata (one encrypted archive)");
  secretOptions(
    backup
      .command('create')
      .description("write one encrypted archive: Perch's store, the audit and master keys, Kestra's flows, namespace files, KV entries and trigger states")
      .option('-o, --output <file>', 'the archive to write (default perch-backup-<time>.age)')
      .option('--tenant <id>', "one tenant's rows only (default: the whole instance)"),
  ).action(async (options: SecretOptions & { config?: string; output?: string; tenant?: string }) => {
    process.exitCode = await backupCreate(await config(options.config), { ...options, perchVersion });
  });
  secretOptions(
    backup
      .command('restore <file>')
      .description('restore an archive into an empty Perch store and an empty Kestra')
      .option('--dry-run', 'check the archive and the targets, list what would be written, write nothing')
      .option('--force', 'write into a Perch or Kestra that holds data (the archive’s tables are emptied first)')
      .option('--into-non-empty', 'the same as --force'),
  ).action(async (file: string, options: SecretOptions & { config?: string; dryRun?: boolean; force?: boolean; intoNonEmpty?: boolean }) => {
    process.exitCode = await backupRestore(await config(options.config), file, { ...options, force: options.force || options.intoNonEmpty });
  });
  backup
    .command('keygen <file>')
    .description('make an age identity file for --key-file')
    .action(async (file: string) => {
      process.exitCode = await backupKeygen(file);
    });
}
