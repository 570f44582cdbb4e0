/**
 * Rasterises docs/extension/icon.svg into public/icon/{16,32,48,96,128}.png (WXT puts them in the
 * manifest's icons and the toolbar action): `npm run icons`. Uses the project's Chromium (no image
 * library needed); the PNGs are committed, so builds do not depend on a browser.
 */
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '..');
export const ICON_SIZES = [16, 32, 48, 96, 128] as const;

const svg = await readFile(path.join(ROOT, 'docs/extension/icon.svg'), 'utf8');
const out = path.join(ROOT, 'public/icon');
await mkdir(out, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.PERCH_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  for (const size of ICON_SIZES) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`);
    await page.screenshot({ path: path.join(out, `${size}.png`), omitBackground: true });
  }
} finally {
  await browser.close();
}
