import type { Command } from 'commander';
import type { PerchConfig } from '../config/config.js';
import type { OpenStore } from '../store/database.js';

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** A long walk (millions of entries) says how far it got on stderr, at most this often. */
const PROGRESS_EVERY_MS = 2000;

/**
 * `perch audit verify`: 0 when every chain verifies, 1 at the first broken link (named by seq and id).
 * `progressEveryMs`: how often a long walk reports its count on `err` (0: after every page).
 */
export async function auditVerify(settings: PerchConfig, io: Out = stdio, progressEveryMs = PROGRESS_EVERY_MS): Promise<number> {
  // Loaded when run, not when the CLI starts (see backend/cli.ts).
  const { migrateToLatest, openStore } = await import('../store/database.js');
  const { verifyAllChains } = await import('./verify.js');
  let store: OpenStore;
  try {
    store = await openStore({ ...settings, mustExist: true });
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    return 1;
  }
  io.err(`store: ${store.description}`);
  try {
    await migrateToLatest(store.db);
    let reported = performance.now();
    const reports = await verifyAllChains(store.db, (tenantId, verified) => {
      if (performance.now() - reported < progressEveryMs) return;
      reported = performance.now();
      io.err(`chain ${tenantId}: ${verified.toLocaleString('en')} entries verified so far…`);
    });
    let broken = 0;
    for (const r of reports) {
      if (r.broken) {
        broken++;
        io.err(`chain ${r.tenantId}: BROKEN at seq ${r.broken.seq} (id ${r.broken.id}): ${r.broken.reason}`);
      } else {
        io.out(`chain ${r.tenantId}: ok, ${r.entries} entries (seq ${r.firstSeq}…${r.lastSeq})`);
      }
    }
    if (reports.length === 0) io.out('the audit log is empty');
    return broken ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** `perch audit purge --older-than P90D`: deletes older entries and records the purge in each chain. */
export async function auditPurge(settings: PerchConfig, olderThan: string, io: Out = stdio): Promise<number> {
  const { parseIsoDuration } = await import('../config/config.js');
  const { migrateToLatest, openStore } = await import('../store/database.js');
  const { AuditLog } = await import('./audit-log.js');
  const ms = parseIsoDuration(olderThan);
  if (ms === null) {
    io.err(`perch: --older-than "${olderThan}" is not an ISO-8601 duration such as P90D`);
    return 1;
  }
  const store = await openStore({ ...settings, mustExist: true }).catch((error: Error) => error);
  if (store instanceof Error) {
    io.err(`perch: ${store.message}`);
    return 1;
  }
  io.err(`store: ${store.description}`);
  const audit = new AuditLog(store);
  try {
    await migrateToLatest(store.db);
    const results = await audit.purge(Date.now() - ms, { type: 'SYSTEM', id: 'perch-cli' }, olderThan);
    if (results.length === 0) io.out(`nothing older than ${olderThan}`);
    for (const r of results) io.out(`chain ${r.tenantId}: purged ${r.count} entries; the chain now starts at seq ${r.firstKeptSeq}`);
    return 0;
  } finally {
    await audit.close();
    await store.close();
  }
}

export function registerAuditCommands(program: Command, config: (file: string | undefined) => Promise<PerchConfig>): void {
  const audit = program.command('audit').description('the audit log');
  audit
    .command('verify')
    .description('walk every hash chain and report the first broken link')
    .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)')
    .action(async (options: { config?: string }) => {
      process.exitCode = await auditVerify(await config(options.config));
    });
  audit
    .command('purge')
    .description('delete entries older than a duration, keeping every chain verifiable')
    .requiredOption('--older-than <duration>', 'ISO-8601 duration, e.g. P90D')
    .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)')
    .action(async (options: { config?: string; olderThan: string }) => {
      process.exitCode = await auditPurge(await config(options.config), options.olderThan);
    });
}
