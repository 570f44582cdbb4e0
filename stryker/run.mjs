#!/usr/bin/env node
/**
 * `npm run test:mutation [-- <module> …]`: runs each module's Stryker config in turn (one at a time:
 * Stryker is CPU-bound) and prints every score, raw and over the non-equivalent mutants
 * (stryker/<module>.equivalent.md lists the equivalent ones). Exits non-zero when a run fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { MODULES } from './modules.mjs';
import { scoreOf } from './score.mjs';

// Module names pick the configs to run (all by default); `--…` options go to every `stryker run`
// (e.g. `--force`: test every mutant again, ignoring the incremental file).
const names = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const strykerOptions = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
for (const name of names) if (!(name in MODULES)) throw new Error(`Unknown module "${name}"; one of ${Object.keys(MODULES).join(', ')}.`);
const rows = [];
let failed = false;
const survivorLines = [];
for (const name of names.length ? names : Object.keys(MODULES)) {
  const started = Date.now();
  const run = spawnSync(process.execPath, ['node_modules/@stryker-mutator/core/bin/stryker.js', 'run', `stryker/${name}.conf.mjs`, ...strykerOptions], { stdio: 'inherit' });
  if (run.status !== 0) failed = true;
  const report = `reports/mutation/${name}.json`;
  const equivalents = `stryker/${name}.equivalent.md`;
  const score = run.status === 0 && existsSync(report)
    ? scoreOf(JSON.parse(readFileSync(report, 'utf8')), existsSync(equivalents) ? readFileSync(equivalents, 'utf8') : '')
    : undefined;
  const { survivors = [], ...counts } = score ?? {};
  rows.push({ module: name, ...counts, minutes: ((Date.now() - started) / 60_000).toFixed(1) });
  survivorLines.push(...survivors.map((s) => `${name}: ${s}`));
}
console.table(rows);
if (survivorLines.length) console.log(`Surviving non-equivalent mutants:\n${survivorLines.join('\n')}`);
process.exit(failed ? 1 : 0);
