/**
 * How the benchmarks start Perch: as `npm start` does once built, with the environment and Node flags
 * its start script gives (package.json is their one place; deploy/Dockerfile repeats them, checked by a test).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Space-separated words (`--flag …`, `NAME=value …`), as a start script or a command-line option gives them. */
const words = (text: string): string[] => text.split(' ').filter(Boolean);

/** `NAME=value …` as an environment (a value may hold `=`). */
const envOf = (text: string): Record<string, string> =>
  Object.fromEntries(words(text).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));

/** `npm start`'s serve command: `[NAME=value …] node [--flag …] dist/backend/cli.js serve`. */
function startCommand(): { env: Record<string, string>; flags: string[] } {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const serve = /(?:^|&& )((?:[A-Z_]+=\S+ )*)node ((?:--\S+ )*)dist\/backend\/cli\.js serve\b/.exec(scripts.start ?? '');
  if (!serve) throw new Error(`package.json's start script does not run dist/backend/cli.js serve: ${scripts.start}`);
  return { env: envOf(serve[1]!), flags: words(serve[2]!) };
}

/** The Node flags of `npm start`, e.g. `--max-semi-space-size=1`, read from package.json's start script; `given` (a bench's --node-flags) replaces them, '' for none. */
export function startFlags(given?: string): string[] {
  return given === undefined ? startCommand().flags : words(given);
}

/** The environment `npm start` sets for Perch, e.g. `MALLOC_TRIM_THRESHOLD_` (glibc's malloc reads it at start); `given` (a bench's --start-env) replaces it, '' for none. */
export function startEnv(given?: string): Record<string, string> {
  return given === undefined ? startCommand().env : envOf(given);
}

/**
 * `node <flags> dist/backend/cli.js serve` (the arguments after `node`); `flags` replaces the start
 * script's (to measure without them, or with others).
 */
export function perchServeArgs(flags: string[] = startFlags()): string[] {
  return [...flags, path.join(ROOT, 'dist/backend/cli.js'), 'serve'];
}

/**
 * The environment the benchmarks start Perch with: `npm start`'s (or `startEnv`, to measure without it
 * or with another), a throwaway store, the upstream as Kestra (Basic), the first admin, a metrics token.
 */
export function perchBenchEnv(o: { port: number; dataDir: string; kestraUrl: string; kestraUser: string; kestraPassword: string; admin: { username: string; password: string }; metricsToken: string; startEnv?: Record<string, string> }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(o.startEnv ?? startEnv()),
    PERCH_PORT: String(o.port),
    PERCH_DATA_DIR: o.dataDir,
    PERCH_LOG_LEVEL: 'warn',
    PERCH_KESTRA_URL: o.kestraUrl,
    PERCH_KESTRA_USERNAME: o.kestraUser,
    PERCH_KESTRA_PASSWORD: o.kestraPassword,
    PERCH_ADMIN_EMAIL: o.admin.username,
    PERCH_ADMIN_PASSWORD: o.admin.password,
    // The memory breakdown is read from Perch's own /perch/metrics (prom-client's process metrics).
    PERCH_METRICS_TOKEN: o.metricsToken,
  };
}
