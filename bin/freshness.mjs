// Is a build output newer than every source it is made from? Compares modification times only
// (a few hundred stat calls): enough to skip a rebuild when nothing changed since the last one.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');

/** What the backend build (dist/) and the screens build (.output/) are made from. */
export const BUILDS = {
  backend: {
    output: 'dist/backend/cli.js',
    sources: ['backend', 'lib', 'tsconfig.json', 'tsconfig.build.json', 'package.json'],
    command: ['npm', ['run', '--silent', 'build:backend']],
  },
  screens: {
    output: '.output/chrome-mv3/content-scripts/perch.js',
    sources: ['components', 'entrypoints', 'lib', 'wxt.config.ts', 'package.json'],
    command: ['npm', ['run', '--silent', 'build:screens']],
  },
};

function newest(entry) {
  let stat;
  try {
    stat = statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return /\.test\.[cm]?[jt]sx?$/.test(entry) ? 0 : stat.mtimeMs;
  let latest = 0;
  for (const name of readdirSync(entry)) latest = Math.max(latest, newest(path.join(entry, name)));
  return latest;
}

/** True when `build`'s output exists and no source changed after it was written. */
export function isFresh(build) {
  let built;
  try {
    built = statSync(path.join(ROOT, build.output)).mtimeMs;
  } catch {
    return false;
  }
  return build.sources.every((source) => newest(path.join(ROOT, source)) <= built);
}
