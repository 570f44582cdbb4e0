/**
 * The security modules under mutation test, each with the test files that cover it.
 * `mutate`: source files whose mutants are scored (a listed file that does not exist yet is skipped,
 * so files other branches add can be listed ahead). `tests`: vitest globs; only these run, so a run
 * stays fast. Timing-sensitive tests live in files not listed here: a slow mutant must be killed by
 * an assertion, never by a stopwatch.
 */
export const MODULES = {
  'canonical-request': {
    mutate: ['backend/proxy/canonical-request.ts'],
    tests: ['test/proxy/canonical-request.test.ts'],
  },
  'decision-index': {
    mutate: ['backend/authz/decision-index.ts'],
    tests: ['test/authz/decision-index*.test.ts'],
  },
  'flow-references': {
    // The files that read flows: the YAML walk, Pebble file functions, Kestra's own hosts, and `_flows/` namespace
    // files (flow-folder.ts). Unit tests only: test/authz/namespace-file-flows.test.ts drives the same rules
    // through a Perch started per test file, which made every flow-folder mutant cost a server start.
    mutate: ['backend/authz/flow-references.ts', 'backend/authz/pebble-file-functions.ts', 'backend/authz/kestra-hosts.ts', 'backend/authz/flow-folder.ts'],
    tests: [
      'test/authz/flow-references*.test.ts', 'test/authz/pebble-file-functions*.test.ts', 'test/authz/kestra-hosts*.test.ts',
      'test/authz/flow-folder*.test.ts',
    ],
  },
  'audit-chain': {
    mutate: ['backend/audit/chain.ts'],
    tests: ['test/audit/audit-log.test.ts', 'test/audit/audit-proof.test.ts'],
  },
  'audit-verify': {
    mutate: ['backend/audit/verify.ts'],
    tests: ['test/audit/audit-log.test.ts', 'test/audit/audit-proof.test.ts', 'test/audit/verify-mutants.test.ts'],
  },
};
