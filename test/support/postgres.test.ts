import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { postgresAvailable, storeTargets } from './databases.js';
import { createTestDatabase } from './postgres.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('store targets', () => {
  it('lists sqlite and postgres; sqlite gets a fresh absolute temp file each call', async () => {
    const targets = storeTargets();
    expect(targets.map((t) => t.name)).toEqual(['sqlite', 'postgres']);
    expect(targets[1]?.available).toBe(postgresAvailable());
    const a = await targets[0]!.url();
    const b = await targets[0]!.url();
    expect(a).toMatch(/^sqlite:\/.+\/perch\.db$/);
    expect(a).not.toBe(b);
    const runTmp = process.env.PERCH_TEST_TMPDIR;
    expect(runTmp, "PERCH_TEST_TMPDIR from global-setup").toBeTruthy();
    expect(a.startsWith(`sqlite:${runTmp}/`)).toBe(true);
  });
});

describe.skipIf(!postgresAvailable())('test PostgreSQL', () => {
  it('gives each caller a fresh database that answers select 1', async () => {
    const base = inject('postgresUrl')!;
    const one = await createTestDatabase(base);
    const two = await createTestDatabase(base);
    expect(one).not.toBe(two);
    expect(await query(one, 'select 1 as x')).toEqual([{ x: 1 }]);
    const [row] = await query<{ db: string }>(two, 'select current_database() as db');
    expect(two.endsWith(`/${row?.db}`)).toBe(true);
  });

  it.skipIf(!!process.env.PERCH_TEST_DATABASE_URL)('the throwaway cluster listens on 127.0.0.1 only', async () => {
    const url = inject('postgresUrl')!;
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const [row] = await query<{ listen_addresses: string }>(url, 'show listen_addresses');
    expect(row?.listen_addresses).toBe('127.0.0.1');
  });
});
