/// <reference path="../test/support/provided.d.ts" />
/** Mutation runs: one temp dir for SQLite files, removed at the end; no PostgreSQL (`postgresUrl` null). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject): () => void {
  const runTmp = mkdtempSync(join(tmpdir(), 'perch-mutation-'));
  process.env.PERCH_TEST_TMPDIR = runTmp;
  project.provide('postgresUrl', null);
  return () => rmSync(runTmp, { recursive: true, force: true });
}
