#!/usr/bin/env node
// Runs the compiled CLI (dist/) when it is up to date with the sources: it starts in a fraction of a
// second. Otherwise tsx compiles the TypeScript sources on load (Perch ships its sources).
import { BUILDS, isFresh } from './freshness.mjs';

if (isFresh(BUILDS.backend)) {
  await import('../dist/backend/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../backend/cli.ts');
}
