/**
 * vitest for mutation runs: only the test files the module's config names (PERCH_MUTATION_TESTS),
 * SQLite only (no PostgreSQL cluster per run: the modules under test do not depend on the store).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const tests = (process.env.PERCH_MUTATION_TESTS ?? '').split(',').filter(Boolean);
if (tests.length === 0) throw new Error('PERCH_MUTATION_TESTS is empty: run a stryker/<module>.conf.mjs, not this file.');

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: tests,
    globalSetup: ['stryker/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
