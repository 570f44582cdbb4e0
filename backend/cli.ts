import { Command } from 'commander';
import { ensureAuditKey, generatedKeyNotice } from './audit/audit-key.js';
import { registerAuditCommands } from './audit/cli.js';
import { registerBackupCommands } from './backup/cli.js';
import type { PerchConfig } from './config/config.js';
import { registerInstanceCommands } from './instances/cli.js';
import { registerRemoteCommands } from './remote/commands.js';
import { registerSecretCommands } from './secrets/cli.js';
import { firstAdminCommand } from './ui/status-pages.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './project-root.js';
import type { Perch } from './server.js';

function fail(message: string): never {
  process.stderr.write(`perch: ${message}\n`);
  process.exit(1);
}

// Modules are loaded by the commands that use them: `perch --help` and `--version` load almost none.
async function config(file: string | undefined): Promise<PerchConfig> {
  const { ConfigError, loadConfig } = await import('./config/config.js');
  try {
    return await loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

/** The one line a start-up failure prints (the database or the port refused): no stack trace. */
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function serve(options: { config?: string }): Promise<void> {
  const settings = await config(options.config);
  // Made (and shown, this once) before anything else can fail: a key nobody saw would be lost to its owner.
  try {
    const key = await ensureAuditKey(settings);
    if (key.generated) process.stderr.write(`\n${generatedKeyNotice(key)}\n\n`);
    const { ensureMasterKey, generatedMasterKeyNotice } = await import('./crypto/master-key.js');
    const master = await ensureMasterKey(settings);
    if (master.generated) process.stderr.write(`\n${generatedMasterKeyNotice(master)}\n\n`);
  } catch (error) {
    fail(`cannot start: ${reason(error)}`);
  }
  let perch: Perch;
  try {
    // Loaded here only: the other commands (and --help) start without the server's modules.
    const { buildPerch } = await import('./server.js');
    perch = await buildPerch(settings);
  } catch (error) {
    fail(`cannot start: ${reason(error)}`);
  }
  let outcome: Awaited<ReturnType<typeof perch.ctx.firstAdmin.bootstrap>>;
  try {
    outcome = await perch.ctx.firstAdmin.bootstrap(settings);
  } catch (error) {
    await perch.close();
    fail(`admin.email / admin.password (PERCH_ADMIN_EMAIL / PERCH_ADMIN_PASSWORD): ${reason(error)}`);
  }
  if (outcome === 'created') perch.app.log.info(`created instance owner ${settings.admin.email}`);
  // Also when 'ready': another replica starting at once may have created the owner (and its
  // binding) after this one loaded the authorization facts.
  if (outcome !== 'waiting') await perch.reloadAuthorization();
  const { FIRST_ADMIN_HELP } = await import('./users/first-admin.js');
  if (outcome === 'waiting') process.stderr.write(`\n${FIRST_ADMIN_HELP}\nFor this Perch's store (${perch.ctx.store.description}):\n  ${firstAdminCommand(settings)}\n\n`);
  const stop = async (signal: string) => {
    perch.app.log.info(`${signal}: shutting down`);
    await perch.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  try {
    await perch.app.listen({ port: settings.port, host: settings.host });
  } catch (error) {
    await perch.close();
    fail(`cannot listen on ${settings.host}:${settings.port}: ${reason(error)}`);
  }
  perch.app.log.info(`Perch in front of Kestra at ${settings.kestra.url}, data in ${perch.ctx.store.description}`);
  const { warnWhenKestraNotReady } = await import('./health/kestra-probe.js');
  await warnWhenKestraNotReady(settings.kestra, (m) => perch.app.log.warn(m), (t) => process.stderr.write(t));
}

async function createAdmin(options: { config?: string; email: string; password?: string }): Promise<void> {
  const settings = await config(options.config);
  const password = options.password ?? process.env.PERCH_ADMIN_PASSWORD;
  if (!password) fail('give --password or set PERCH_ADMIN_PASSWORD');
  const { migrateToLatest, openStore } = await import('./store/database.js');
  const { createInstanceOwner } = await import('./users/first-admin.js');
  const store = await openStore(settings);
  try {
    await migrateToLatest(store.db, (line) => process.stdout.write(`${line}\n`));
    const user = await createInstanceOwner(store.db, settings, options.email, password);
    process.stdout.write(`Created instance owner ${user.email} (${user.id}) in ${store.description}\n`);
  } catch (error) {
    fail((error as Error).message);
  } finally {
    await store.close();
  }
}

const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
const program = new Command('perch').description('Open-source Enterprise governance for Kestra OSS').version(version, '-V, --version', 'print the version of Perch');
program.command('serve').description('run Perch in front of Kestra').option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)').action(serve);
const admin = program.command('admin').description('manage administrators');
admin
  .command('create')
  .description('create an instance owner (superadmin)')
  .requiredOption('--email <email>', 'their email, used to sign in')
  .option('--password <password>', 'their password (or PERCH_ADMIN_PASSWORD)')
  .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)')
  .action(createAdmin);
registerAuditCommands(program, config);
registerRemoteCommands(program, fail, async (options) => (await import('./users/cli.js')).usersList(await config(options.config), options));
registerInstanceCommands(program, fail);
registerBackupCommands(program, config, version);
registerSecretCommands(program, config);

await program.parseAsync(process.argv);
