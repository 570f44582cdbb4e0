import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { readArchive } from '../../backend/backup/archive.js';
import { createBackup } from '../../backend/backup/create.js';
import { openStore } from '../../backend/store/database.js';
import type { Answer, RunningPerch } from '../support/perch.js';

/**
 * The grep-style check of issue 21: none of `values` appears — in clear or base64-encoded, as sync
 * writes it for Kestra — in any answer, log line, audit row, audit state or stored secret row.
 */
export async function expectNoPlainValues(perch: RunningPerch, values: string[], seen: { answers: Answer[]; logs: string[] }): Promise<void> {
  const db = perch.perch.ctx.db;
  const audit = JSON.stringify(await db.selectFrom('audit_log').selectAll().execute());
  const states = JSON.stringify(await db.selectFrom('audit_states').selectAll().execute());
  const stored = JSON.stringify(await db.selectFrom('namespace_secrets').selectAll().execute());
  const said = seen.answers.map((a) => `${JSON.stringify(a.headers)}\n${a.text}`).join('\n');
  expect(seen.logs.length).toBeGreaterThan(0);
  for (const value of values) {
    for (const [where, text] of [['answers', said], ['logs', seen.logs.join('')], ['audit_log', audit], ['audit_states', states], ['namespace_secrets', stored]] as const) {
      expect(text.includes(value), `${value} in ${where}`).toBe(false);
      expect(text.includes(Buffer.from(value).toString('base64')), `${value} (base64) in ${where}`).toBe(false);
    }
  }
}

/**
 * The same check on a `perch backup` archive of the running Perch, decrypted: its store rows, keys and
 * Kestra metadata (the Perch must have a Kestra, e.g. the double). Answers the archive's text.
 */
export async function expectNoPlainValuesInBackup(perch: RunningPerch, values: string[]): Promise<string> {
  const config = perch.perch.ctx.config;
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'perch-no-plain-backup-')), 'perch.backup');
  const secret = { passphrase: 'a backup passphrase for the grep' };
  const store = await openStore(config);
  try {
    await createBackup(config, store, { file, secret, perchVersion: 'test' });
  } finally {
    await store.close();
  }
  const entries: string[] = [];
  await readArchive(file, secret, async (name, data) => void entries.push(`${name}\n${data.toString('utf8')}`));
  const archive = entries.join('\n');
  for (const value of values) {
    expect(archive.includes(value), `${value} in the backup archive`).toBe(false);
    expect(archive.includes(Buffer.from(value).toString('base64')), `${value} (base64) in the backup archive`).toBe(false);
  }
  return archive;
}
