import { expect } from 'vitest';
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
