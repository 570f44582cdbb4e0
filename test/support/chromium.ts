import { access } from 'node:fs/promises';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.PERCH_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots and other artefacts a person may want to look at after a run. */
export const TEST_OUTPUT = path.resolve(import.meta.dirname, '../../test-output');

export async function chromiumAvailable(): Promise<boolean> {
  try {
    await access(CHROMIUM);
    return true;
  } catch {
    if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}: CI must install the chromium package`);
    process.stderr.write(`*** Chromium not found at ${CHROMIUM}: browser tests are SKIPPED. apt-get install chromium to run them. ***\n`);
    return false;
  }
}

/** Debian's Chromium, headless, with the flags this closed network needs (see shared/reference/extension-e2e.md). */
export async function launchChromium(extraArgs: string[] = [], headed?: { display: string }): Promise<BrowserContext> {
  const profile = await mkdtemp(path.join(tmpdir(), 'perch-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    // Headed on a given X display (Xvfb) only for what headless Chromium never shows, such as permission prompts.
    headless: headed === undefined,
    ...(headed ? { env: { ...process.env, DISPLAY: headed.display } } : {}),
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

export async function screenshotPath(name: string): Promise<string> {
  const dir = path.join(TEST_OUTPUT, 'screenshots');
  await mkdir(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}
