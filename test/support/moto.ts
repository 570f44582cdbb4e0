/**
 * moto's server (AWS's APIs, on loopback) for the AWS Secrets Manager backend's tests: a virtualenv
 * at `PERCH_MOTO_VENV` or `<repo>/.venv-moto`, made from test/secrets/moto-requirements.txt when it
 * is missing (`.ci/run` makes it first, as it does .venv-kestrapy). Without python3 or PyPI: under CI
 * the suite fails; locally it is skipped with one loud line.
 */
import { execFile as execFileCb, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { freePort } from './postgres.js';

const execFile = promisify(execFileCb);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MOTO_REQUIREMENTS = path.join(REPO, 'test/secrets/moto-requirements.txt');
const VENV = process.env.PERCH_MOTO_VENV ?? path.join(REPO, '.venv-moto');
const PYTHON = path.join(VENV, 'bin', 'python');

async function importsMoto(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  try {
    await execFile(PYTHON, ['-c', 'import moto.server'], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/** The virtualenv's python with moto's server, made if need be; or why there is none. */
export async function motoPython(): Promise<{ python: string } | { missing: string }> {
  if (await importsMoto()) return { python: PYTHON };
  try {
    await execFile('python3', ['-m', 'venv', VENV], { timeout: 60_000 });
    await execFile(PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', MOTO_REQUIREMENTS], { timeout: 400_000 });
  } catch (error) {
    return { missing: `could not make ${VENV} with moto: ${(error as Error).message.split('\n')[0]}` };
  }
  return (await importsMoto()) ? { python: PYTHON } : { missing: `${VENV} does not import moto.server` };
}

export interface RunningMoto {
  url: string;
  stop(): Promise<void>;
}

/** A moto server on a free loopback port, answering once it is up. */
export async function startMoto(python: string): Promise<RunningMoto> {
  const port = await freePort();
  const child: ChildProcess = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const answer = await request(`${url}/moto-api/`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await answer.body.dump();
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`moto's server did not start on ${url}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    url,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
