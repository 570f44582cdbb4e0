/** The Docker Compose CLI for tests that check compose files without a Docker daemon. */
import { execFileSync } from 'node:child_process';

export function isCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** `docker compose` (the plugin) or `docker-compose` (Debian's), as argv, or null when neither runs. */
export function composeCli(): string[] | null {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      execFileSync(candidate[0]!, [...candidate.slice(1), 'version'], { stdio: 'ignore', timeout: 10_000 });
      return candidate;
    } catch {
      /* the next one */
    }
  }
  return null;
}

/** Under CI a missing CLI fails the test; elsewhere one loud line says what was not run. */
export function composeCliOrExplain(what: string): string[] | null {
  const cli = composeCli();
  if (cli) return cli;
  if (isCI()) throw new Error('no Docker Compose CLI under CI: .ci/run installs Debian’s docker-compose');
  console.warn(`*** no docker compose / docker-compose here: ${what} not run ***`);
  return null;
}
