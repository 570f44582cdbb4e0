/// <reference path="./provided.d.ts" />
/**
 * vitest globalSetup: gives every test file a PostgreSQL server through `inject('postgresUrl')`.
 *
 * - PERCH_TEST_DATABASE_URL set: that server is used (it must accept connections and allow CREATE DATABASE).
 * - Otherwise a throwaway cluster is started (test/support/postgres.ts) and torn down after the run.
 * - PERCH_TEST_TMPDIR is set to a temp dir for the run (workers inherit it); it is removed afterwards.
 * - If that fails: under CI the run fails (CI must run the PostgreSQL suite); locally one loud line
 *   goes to stderr and `postgresUrl` is null, so the PostgreSQL half of the store suite is skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { buildScreens } from './build-screens.js';
import { startTestPostgres } from './postgres.js';

function isCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runTmp = mkdtempSync(join(tmpdir(), 'perch-test-'));
  process.env.PERCH_TEST_TMPDIR = runTmp;
  const removeRunTmp = (): void => rmSync(runTmp, { recursive: true, force: true });
  try {
    await buildScreens();
    const stopPostgres = await providePostgres(project);
    return async () => {
      try {
        await stopPostgres?.();
      } finally {
        removeRunTmp();
      }
    };
  } catch (err) {
    removeRunTmp();
    throw err;
  }
}

/** Provides `postgresUrl`; returns how to stop the server it started, if any. */
async function providePostgres(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.PERCH_TEST_DATABASE_URL;
  if (external) {
    const client = new pg.Client({ connectionString: external });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (err) {
      throw new Error(`PERCH_TEST_DATABASE_URL is set but PostgreSQL there is not reachable: ${message(err)}`);
    } finally {
      await client.end().catch(() => {});
    }
    project.provide('postgresUrl', external);
    return undefined;
  }

  try {
    const server = await startTestPostgres();
    project.provide('postgresUrl', server.url);
    return () => server.stop();
  } catch (err) {
    if (isCI()) {
      throw new Error(`PostgreSQL not available under CI (${message(err)}): CI must run the PostgreSQL store suite.`);
    }
    process.stderr.write(
      `\n*** PostgreSQL not available (${message(err)}): the PostgreSQL half of the store suite is SKIPPED. Install postgresql to run it. ***\n\n`,
    );
    project.provide('postgresUrl', null);
    return undefined;
  }
}
