import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditLog } from '../../backend/audit/audit-log.js';
import { csvCell, csvLine } from '../../backend/audit/csv.js';
import { parseAuditFilter, streamAudit } from '../../backend/audit/query.js';
import { HttpError } from '../../backend/http/errors.js';
import type { OpenStore } from '../../backend/store/database.js';
import type { AuditLogTable } from '../../backend/store/schema.js';
import { flowUpdate, tempAuditLog } from './entries.js';

const statusOf = (f: () => unknown) => {
  try {
    f();
    return 'no error';
  } catch (error) {
    return error instanceof HttpError ? error.status : String(error);
  }
};

describe('audit search filters', () => {
  it("reads Kestra's date filters instead of refusing them as unknown", () => {
    expect(parseAuditFilter({ 'filters[date][GREATER_THAN_OR_EQUAL_TO]': '2024-01-01T00:00:00Z', 'filters[date][LESS_THAN_OR_EQUAL_TO]': '2024-02-01' })).toEqual({
      startDate: Date.parse('2024-01-01T00:00:00Z'),
      endDate: Date.parse('2024-02-01'),
    });
    const before = Date.now();
    const { startDate } = parseAuditFilter({ 'filters[timeRange][EQUALS]': 'PT24H' });
    expect(startDate).toBeGreaterThanOrEqual(before - 86_400_000);
    expect(startDate).toBeLessThanOrEqual(Date.now() - 86_400_000);
    expect(statusOf(() => parseAuditFilter({ 'filters[timeRange][EQUALS]': 'yesterday' }))).toBe(422);
  });

  it('refuses an operator it does not apply rather than answering with its opposite', () => {
    // NOT_EQUALS read as EQUALS: "everything but namespace prod" answered with only prod.
    expect(statusOf(() => parseAuditFilter({ 'filters[namespace][NOT_EQUALS]': 'prod' }))).toBe(422);
    expect(statusOf(() => parseAuditFilter({ 'filters[userId][NOT_IN]': 'u1' }))).toBe(422);
    expect(statusOf(() => parseAuditFilter({ 'filters[startDate][LESS_THAN]': '2024-01-01' }))).toBe(422);
    // What Kestra's UI sends still works.
    expect(parseAuditFilter({ 'filters[namespace][PREFIX]': 'company', 'filters[type][EQUALS]': 'DELETE', 'filters[q][EQUALS]': 'x' })).toEqual({ namespace: 'company', type: 'DELETE', q: 'x' });
    expect(parseAuditFilter({ 'filters[startDate][GREATER_THAN_OR_EQUAL_TO]': '2024-01-01' })).toEqual({ startDate: Date.parse('2024-01-01') });
  });
});

describe('audit CSV export cells', () => {
  const row = (extra: Partial<AuditLogTable>): AuditLogTable => ({
    tenant_id: 'main', seq: 1, id: 'id', date: 0, actor_type: 'ANONYMOUS', actor_id: null, actor_email: null, impersonated_by: null, action: 'LOGIN_FAILURE',
    resource_type: 'USER', resource_id: null, namespace: null, request_id: null, ip: null, user_agent: null, outcome: 'FAILURE', upstream_status: null,
    details: '{}', prev_hash: '0', hash: '1', ...extra,
  });
  /** How a spreadsheet whose list separator is `;` (most of continental Europe) splits a line. */
  const semicolonCells = (line: string) => {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') (cell += '"'), i++;
        else if (c === '"') quoted = false;
        else cell += c;
      } else if (c === '"' && cell === '') quoted = true;
      else if (c === ';') cells.push(cell), (cell = '');
      else cell += c;
    }
    cells.push(cell);
    return cells;
  };

  it('no cell starts a formula where `;` separates cells (an anonymous caller sets the user agent of a failed sign-in)', () => {
    const line = csvLine(row({ user_agent: "Mozilla/5.0;=cmd|' /C calc'!A0", actor_email: 'x;@SUM(1+1)' })).replace(/\r\n$/, '');
    const formulas = semicolonCells(line).filter((cell) => /^[=+\-@\t\r]/.test(cell));
    expect(formulas).toEqual([]);
    expect(csvCell('a;b')).toBe('"a;b"');
  });
});

describe('audit export stream', () => {
  let store: OpenStore;
  let log: AuditLog;
  let close: () => Promise<void>;
  beforeEach(async () => ({ store, log, close } = await tempAuditLog('perch-audit-export-')));
  afterEach(() => close?.());

  it('a retention purge during an export does not make the export skip entries it had not reached', async () => {
    const start = Date.now() - 3_600_000;
    for (let n = 1; n <= 30; n++) await log.record(flowUpdate(n, 'main', { date: start + n * 1000 }));
    const seen: number[] = [];
    for await (const row of streamAudit(store.db, { tenants: ['main'] }, 'asc', 10)) {
      seen.push(Number(row.seq));
      // The daily purge runs while the export is on its first page: entries 1–5 go.
      if (seen.length === 10) await log.purge(start + 5500);
    }
    expect(seen.filter((s) => s <= 30)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
