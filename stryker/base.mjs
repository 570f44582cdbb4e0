// @ts-check
/**
 * One Stryker config per module (stryker/<module>.conf.mjs calls this). Incremental: the result of the
 * last run sits in reports/mutation/<module>.incremental.json (gitignored); a fresh clone has none
 * and simply tests every mutant.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MODULES } from './modules.mjs';

/** @param {keyof typeof MODULES} name @returns {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export function mutationConfig(name) {
  const mod = MODULES[name];
  // Read by stryker/vitest.config.ts in the test-runner processes, which inherit this environment.
  process.env.PERCH_MUTATION_TESTS = mod.tests.join(',');
  return {
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    vitest: { configFile: 'stryker/vitest.config.ts', related: false },
    mutate: mod.mutate.filter((file) => existsSync(file)),
    coverageAnalysis: 'perTest',
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    // One test runner per core, at most two (the 2-core machine the run is sized for); set
    // PERCH_MUTATION_CONCURRENCY=1 when the cores are shared with other work.
    concurrency: Number(process.env.PERCH_MUTATION_CONCURRENCY ?? Math.min(2, availableParallelism())),
    timeoutMS: 10_000,
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true, reportMutants: true },
    // The sandbox copy needs sources and tests only (reports and a killed run's leftovers stay out).
    ignorePatterns: ['/reports', '/docs', '/dist', '/data', '/.output', '/.wxt', '/.venv-*', '/test-output', '/test/kestra/.jars'],
    cleanTempDir: true,
    thresholds: { high: 95, low: 85, break: null },
  };
}
