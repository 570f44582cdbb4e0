import type { SerializedError } from '@vitest/utils';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain `N passed, N failed, N skipped` line that any CI can read. A test file
 * that could not even be loaded (a missing fixture, a syntax error), or an error outside any test,
 * counts as a failure: the line must never read "0 failed" on a run that failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const unloaded: string[] = [];
    for (const module of modules) {
      if (module.errors().length > 0) unloaded.push(module.moduleId);
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    counts.failed += unloaded.length + unhandledErrors.length;
    const notes = [
      ...(unloaded.length ? [`${unloaded.length} test file(s) failed outside their tests: ${unloaded.map((id) => id.replace(`${process.cwd()}/`, '')).join(', ')}`] : []),
      ...(unhandledErrors.length ? [`${unhandledErrors.length} error(s) outside any test`] : []),
    ];
    process.stdout.write(`\n${notes.map((n) => `${n}\n`).join('')}${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
