/**
 * The Python that runs Kestra's EE SDK (kestrapy) for test/kestrapy: a virtualenv at
 * `PERCH_KESTRAPY_VENV` or `<repo>/.venv-kestrapy`, made from test/kestrapy/requirements.txt when it is
 * missing (`.ci/run` makes it first, showing pip's progress). Without python3 or PyPI: under CI the
 * suite fails; locally it is skipped with one loud line, as the PostgreSQL half is.
 */
import { execFile as execFileCb } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KESTRAPY_REQUIREMENTS = path.join(REPO, 'test/kestrapy/requirements.txt');
const VENV = process.env.PERCH_KESTRAPY_VENV ?? path.join(REPO, '.venv-kestrapy');
const PYTHON = path.join(VENV, 'bin', 'python');

async function importsKestrapy(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  try {
    const { stdout } = await execFile(PYTHON, ['-c', 'import importlib.metadata as m; print(m.version("kestrapy"))'], { timeout: 30_000 });
    return stdout.trim() === '2.0.3';
  } catch {
    return false;
  }
}

/** The virtualenv's python with kestrapy 2.0.3, made if need be; or why there is none. */
export async function kestrapyPython(): Promise<{ python: string } | { missing: string }> {
  if (await importsKestrapy()) return { python: PYTHON };
  try {
    await execFile('python3', ['-m', 'venv', VENV], { timeout: 60_000 });
    await execFile(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', KESTRAPY_REQUIREMENTS], { timeout: 240_000 });
  } catch (error) {
    return { missing: `could not make ${VENV} with kestrapy: ${(error as Error).message.split('\n')[0]}` };
  }
  return (await importsKestrapy()) ? { python: PYTHON } : { missing: `${VENV} does not import kestrapy 2.0.3` };
}

/** Runs `test/kestrapy/drive.py <scenario>` and returns the JSON it printed (its stderr in the error otherwise). */
export async function driveKestrapy(python: string, scenario: string, env: Record<string, string>): Promise<any> {
  try {
    const { stdout } = await execFile(python, [path.join(REPO, 'test/kestrapy/drive.py'), scenario], { env: { ...process.env, ...env }, timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`kestrapy scenario ${scenario} failed:\n${stderr ?? ''}${stdout ?? ''}`);
  }
}
