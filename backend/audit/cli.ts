import type { Command } from 'commander';
import type { PerchConfig } from '../config/config.js';
import type { OpenStore } from '../store/database.js';
import type { AuditKey } from './audit-key.js';
import type { Checkpoint } from './checkpoint.js';

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** A long walk (millions of entries) says how far it got on stderr, at most this often. */
const PROGRESS_EVERY_MS = 2000;

/** How verify is run: which checkpoint file (default: the configured one), which environment (PERCH_AUDIT_KEY). */
export interface VerifyRun {
  checkpoint?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * `perch audit verify`: 0 when every chain verifies against the audit key and the newest checkpoint;
 * 1 at the first problem of any chain (named by seq and id), a chain the checkpoint has and the store
 * lost, a missing key, or a missing, unreadable or forged checkpoint.
 * `progressEveryMs`: how often a long walk reports its count on `err` (0: after every page).
 */
export async function auditVerify(settings: PerchConfig, io: Out = stdio, progressEveryMs = PROGRESS_EVERY_MS, run: VerifyRun = {}): Promise<number> {
  // Loaded when run, not when the CLI starts (see backend/cli.ts).
  const { migrateToLatest, openStore } = await import('../store/database.js');
  const { auditKeyFile, loadAuditKey } = await import('./audit-key.js');
  const { checkpointFile, readNewestCheckpoint } = await import('./checkpoint.js');
  const { verifyAllChains } = await import('./verify.js');
  // A read-only command: a store that does not exist is refused, not created empty.
  let store: OpenStore;
  try {
    store = await openStore({ ...settings, mustExist: true });
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    return 1;
  }
  io.err(`store: ${store.description}`);
  let problems = 0;
  let auditKey: AuditKey | null;
  try {
    auditKey = await loadAuditKey(settings, run.env);
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    await store.close();
    return 1;
  }
  // A log with entries cannot be proved without its key; an empty one (no Perch has served yet) has nothing to prove.
  const hasEntries = await migrateToLatest(store.db)
    .then(() => store.db.selectFrom('audit_log').select('id').limit(1).executeTakeFirst())
    .then((row) => row !== undefined)
    .catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
  if (!auditKey && hasEntries) {
    problems++;
    io.err(`no audit key: set PERCH_AUDIT_KEY or put the key in ${auditKeyFile(settings)} (Perch creates it at its first start); entries signed with it cannot be verified without it`);
  }
  const key = auditKey?.key ?? null;
  const file = run.checkpoint ?? checkpointFile(settings);
  const newest = await readNewestCheckpoint(file, key);
  let checkpoint: Checkpoint | null = null;
  if (newest.status === 'signed') {
    checkpoint = newest.checkpoint;
    io.out(`checkpoint of ${checkpoint.time}: ${checkpoint.chains.length} chains`);
  } else if (newest.status === 'forged') {
    problems++;
    io.err(`the newest checkpoint in ${file} (of ${newest.checkpoint.time}) is not signed by the audit key: forged, or signed with another key; chains are verified without it`);
  } else if (newest.status === 'unreadable') {
    problems++;
    io.err(`the checkpoint file ${file} cannot be read (${newest.reason}); chains are verified without it`);
  }
  try {
    let reported = performance.now();
    const reports = await verifyAllChains(store.db, {
      key,
      checkpoint,
      onProgress: (tenantId, verified) => {
        if (performance.now() - reported < progressEveryMs) return;
        reported = performance.now();
        io.err(`chain ${tenantId}: ${verified.toLocaleString('en')} entries verified so far…`);
      },
    });
    if (newest.status === 'missing' && reports.length) {
      problems++;
      io.err(`no checkpoint in ${file}: a cut tail or a deleted chain cannot be detected (Perch writes one at start and every audit.checkpointInterval; give another with --checkpoint)`);
    }
    for (const r of reports) {
      if (r.broken) {
        problems++;
        io.err(`chain ${r.tenantId}: BROKEN at seq ${r.broken.seq}${r.broken.id ? ` (id ${r.broken.id})` : ''}: ${r.broken.reason}`);
      } else {
        const legacy = r.legacy ? `; ${r.legacy} written before the audit key, with plain SHA-256 links` : '';
        io.out(`chain ${r.tenantId}: ok, ${r.entries} entries (seq ${r.firstSeq}…${r.lastSeq})${legacy}`);
      }
    }
    if (reports.length === 0) io.out('the audit log is empty');
    return problems ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** `perch audit purge --older-than P90D`: deletes older entries and records the purge in each chain. */
export async function auditPurge(settings: PerchConfig, olderThan: string, io: Out = stdio): Promise<number> {
  const { parseIsoDuration } = await import('../config/config.js');
  const { migrateToLatest, openStore } = await import('../store/database.js');
  const { AuditLog } = await import('./audit-log.js');
  const { auditKeyFile, loadAuditKey } = await import('./audit-key.js');
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
  let auditKey: AuditKey | null;
  try {
    auditKey = await loadAuditKey(settings);
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    await store.close();
    return 1;
  }
  // The purge entry is signed like every other: without the key it would read as a forgery.
  if (!auditKey) {
    io.err(`perch: no audit key: set PERCH_AUDIT_KEY or put the key in ${auditKeyFile(settings)} (Perch creates it at its first start)`);
    await store.close();
    return 1;
  }
  const audit = new AuditLog(store, { key: auditKey.key });
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
    .description('walk every chain with the audit key, check it against the newest checkpoint, and report the first problem')
    .option('-c, --config <file>', 'YAML configuration file (or PERCH_CONFIG)')
    .option('--checkpoint <file>', 'checkpoint file to check against (default: audit.checkpointFile), e.g. one kept by a sink')
    .action(async (options: { config?: string; checkpoint?: string }) => {
      process.exitCode = await auditVerify(await config(options.config), stdio, PROGRESS_EVERY_MS, { checkpoint: options.checkpoint });
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
