#!/usr/bin/env node
// `npm start`'s first step: rebuilds the backend and the screens only when their sources changed.
import { spawnSync } from 'node:child_process';
import { BUILDS, isFresh, ROOT } from './freshness.mjs';

for (const [name, build] of Object.entries(BUILDS)) {
  if (isFresh(build)) continue;
  process.stderr.write(`perch: ${name} sources changed, building…\n`);
  const [command, args] = build.command;
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
