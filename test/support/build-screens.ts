import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Builds the extension for Chrome and Firefox once per test run: the browser suites load
 * .output/chrome-mv3 unpacked, lint .output/firefox-mv3, and Perch injects the Chrome build's
 * content script into the UI pages it serves.
 */
export async function buildScreens(): Promise<void> {
  const wxt = path.join(ROOT, 'node_modules/.bin/wxt');
  for (const browser of ['chrome', 'firefox']) {
    const started = Date.now();
    await run(wxt, ['build', '-b', browser], { cwd: ROOT, timeout: 120_000 });
    process.stdout.write(`[global-setup] built the extension for ${browser} in ${Date.now() - started} ms\n`);
  }
}
