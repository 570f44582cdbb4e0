/// <reference path="./provided.d.ts" />
/**
 * Store targets for test files that run the same suite against SQLite and PostgreSQL:
 *
 *   for (const target of storeTargets()) {
 *     describe.skipIf(!target.available)(`store (${target.name})`, () => {
 *       let url: string;
 *       beforeAll(async () => { url = await target.url(); });
 *       ...
 *     });
 *   }
 *
 * Each `url()` call gives a fresh, empty database: a new temp file for SQLite, a new database on the
 * run's PostgreSQL server for PostgreSQL.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createTestDatabase } from './postgres.js';

export type StoreTargetName = 'sqlite' | 'postgres';

export interface StoreTarget {
  name: StoreTargetName;
  /** False for postgres when no PostgreSQL server is available (local runs only): use `describe.skipIf(!available)`. */
  available: boolean;
  /** A fresh, empty database URL (`sqlite:/abs/path/perch.db` or `postgres://…`). */
  url: () => Promise<string>;
}

/** True when the run has a PostgreSQL server (always true under CI). */
export function postgresAvailable(): boolean {
  return inject('postgresUrl') != null;
}

export function storeTargets(): StoreTarget[] {
  const postgresUrl = inject('postgresUrl');
  return [
    {
      name: 'sqlite',
      available: true,
      url: async () => {
        // Under PERCH_TEST_TMPDIR (made by global-setup.ts, removed after the run) when set.
        const dir = mkdtempSync(join(process.env.PERCH_TEST_TMPDIR ?? tmpdir(), 'perch-sqlite-'));
        return `sqlite:${join(dir, 'perch.db')}`;
      },
    },
    {
      name: 'postgres',
      available: postgresUrl != null,
      url: async () => {
        if (postgresUrl == null) throw new Error('PostgreSQL is not available in this run (see the warning at the start of the run)');
        return createTestDatabase(postgresUrl);
      },
    },
  ];
}
