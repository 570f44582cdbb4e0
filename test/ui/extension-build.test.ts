/**
 * The built extension (global setup builds .output/chrome-mv3 and .output/firefox-mv3): Mozilla's
 * linter finds no error, the screens bundle stays small, and the production manifest asks for no
 * host access up front (the options page requests the one Perch origin at runtime).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CHROME_BUILD, FIREFOX_BUILD, ROOT, SCREENS_BUNDLE, prepareTestExtension } from '../support/ext-e2e.js';

const run = promisify(execFile);
/** Budget for the content script Perch injects into every Kestra UI page (issue 5). */
export const BUNDLE_GZIP_BUDGET = 120 * 1024;

interface LintMessage { code: string; message: string; file?: string }
interface LintReport { summary: { errors: number; warnings: number; notices: number }; errors: LintMessage[]; warnings: LintMessage[] }

async function lint(dir: string): Promise<LintReport> {
  // web-ext exits non-zero when it finds errors: the JSON report is on stdout either way.
  const out = await run(path.join(ROOT, 'node_modules/.bin/web-ext'), ['lint', '--source-dir', dir, '--output', 'json', '--no-config-discovery'], { cwd: ROOT, timeout: 60_000 })
    .then((r) => r.stdout)
    .catch((error: { stdout?: string }) => error.stdout ?? '');
  return JSON.parse(out.slice(out.indexOf('{'))) as LintReport;
}

const manifestOf = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Record<string, any>;

describe('the built extension', () => {
  it('passes web-ext lint on the Firefox build with 0 errors and 0 warnings', async () => {
    const report = await lint(FIREFOX_BUILD);
    // Warnings too: Add-ons reviewers read them (innerHTML sinks, the Function constructor, manifest keys newer than strict_min_version).
    expect([...report.errors, ...report.warnings], JSON.stringify([...report.errors, ...report.warnings], null, 2)).toEqual([]);
    expect(report.summary).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('installs on Firefox ESR 140 (desktop) and on Firefox for Android 142', async () => {
    const { browser_specific_settings: settings } = await manifestOf(FIREFOX_BUILD);
    expect(settings.gecko).toMatchObject({ strict_min_version: '140.0', data_collection_permissions: { required: ['none'] } });
    expect(settings.gecko_android).toEqual({ strict_min_version: '142.0' });
  });

  it('carries icons of 16 to 128 px for the manifest and the toolbar action, in both builds', async () => {
    const sizes = ['16', '32', '48', '96', '128'];
    for (const dir of [CHROME_BUILD, FIREFOX_BUILD]) {
      const manifest = await manifestOf(dir);
      expect(Object.keys(manifest.icons)).toEqual(sizes);
      expect(manifest.action.default_icon).toEqual(manifest.icons);
      for (const size of sizes) {
        const png = await readFile(path.join(dir, manifest.icons[size]));
        // PNG signature, then the IHDR chunk's width and height.
        expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
        expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([Number(size), Number(size)]);
      }
    }
  });

  it('keeps the screens bundle within 120 KB gzip', async () => {
    const code = await readFile(SCREENS_BUNDLE);
    const gzipped = gzipSync(code, { level: 9 }).byteLength;
    expect(gzipped).toBeGreaterThan(1024);
    expect(gzipped, `perch.js is ${(gzipped / 1024).toFixed(1)} KB gzip`).toBeLessThanOrEqual(BUNDLE_GZIP_BUDGET);
  });

  it('asks for no host access in the production manifests; only the e2e copy pre-grants 127.0.0.1', async () => {
    for (const dir of [CHROME_BUILD, FIREFOX_BUILD]) {
      const manifest = await manifestOf(dir);
      expect(manifest.manifest_version).toBe(3);
      expect(manifest.host_permissions).toBeUndefined();
      expect(manifest.permissions).toEqual(['storage', 'scripting']);
      expect(manifest.optional_host_permissions).toEqual(['http://*/*', 'https://*/*']);
      expect(manifest.content_scripts ?? []).toEqual([]);
    }
    expect((await manifestOf(FIREFOX_BUILD)).browser_specific_settings.gecko).toMatchObject({ id: expect.any(String), strict_min_version: expect.any(String) });

    const { dir, manifest } = await prepareTestExtension();
    const { host_permissions: granted, ...rest } = manifest;
    expect(granted).toEqual(['http://127.0.0.1/*']);
    expect(rest).toEqual(await manifestOf(CHROME_BUILD));
    expect(await readFile(path.join(dir, 'content-scripts/perch.js'))).toEqual(await readFile(SCREENS_BUNDLE));
  });

  it('declares the managed storage schema an organisation’s policy fills (Chrome), naming the key the extension reads', async () => {
    const manifest = await manifestOf(CHROME_BUILD);
    expect(manifest.storage).toEqual({ managed_schema: 'managed-schema.json' });
    const schema = JSON.parse(await readFile(path.join(CHROME_BUILD, manifest.storage.managed_schema), 'utf8')) as Record<string, any>;
    expect(schema).toMatchObject({ type: 'object', properties: { perchOrigin: { type: 'string' } } });
    // Firefox takes managed values from policies.json's 3rdparty section, without a schema key in the manifest.
    expect((await manifestOf(FIREFOX_BUILD)).storage).toBeUndefined();
  });
});
