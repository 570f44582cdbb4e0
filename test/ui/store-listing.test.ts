/**
 * The store listing (store/) and the packages both stores get: texts within the stores' limits,
 * screenshots that exist at a size both take (1280×800), every permission explained, and the
 * built manifests (global setup builds .output/chrome-mv3 and firefox-mv3) passing the rules
 * `npm run check:store` applies to the zips. The rules themselves are checked on bad inputs too.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { manifestProblems, sourcesProblems } from '../../scripts/check-store.js';
import { CHROME_BUILD, FIREFOX_BUILD, ROOT } from '../support/ext-e2e.js';

const json = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;

describe('the store listing', () => {
  it('fits the stores’ limits and explains every permission the manifest asks for', async () => {
    const listing = await json(path.join(ROOT, 'store/listing.json'));
    const manifest = await json(path.join(CHROME_BUILD, 'manifest.json'));
    expect(listing.name).toBe(manifest.name);
    expect(listing.summary.length).toBeLessThanOrEqual(132);
    const description = await readFile(path.join(ROOT, listing.description), 'utf8');
    expect(description.length).toBeGreaterThan(200);
    expect(description.length).toBeLessThanOrEqual(16_000);
    expect(Object.keys(listing.permissions).sort()).toEqual([...manifest.permissions, 'optional_host_permissions'].sort());
    const privacy = await readFile(path.join(ROOT, listing.privacy), 'utf8');
    expect(privacy).toMatch(/What the extension sends/);
    expect(privacy).toMatch(/Only to the Perch address in use/);
  });

  it('uses screenshots that exist, as 1280×800 PNG', async () => {
    const { screenshots } = await json(path.join(ROOT, 'store/listing.json'));
    expect(screenshots.length).toBeGreaterThanOrEqual(1);
    expect(screenshots.length).toBeLessThanOrEqual(5);
    for (const { file, caption } of screenshots as { file: string; caption: string }[]) {
      const png = await readFile(path.join(ROOT, file));
      expect(png.subarray(1, 4).toString('latin1'), file).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)], file).toEqual([1280, 800]);
      expect(caption.length).toBeGreaterThan(0);
    }
  });
});

describe('the packages for the stores', () => {
  it('the built manifests pass both stores’ rules', async () => {
    expect(manifestProblems(await json(path.join(CHROME_BUILD, 'manifest.json')), 'chrome')).toEqual([]);
    expect(manifestProblems(await json(path.join(FIREFOX_BUILD, 'manifest.json')), 'firefox')).toEqual([]);
  });

  it('the rules catch what a store refuses', async () => {
    const chrome = await json(path.join(CHROME_BUILD, 'manifest.json'));
    expect(manifestProblems({ ...chrome, key: 'MIIB…', host_permissions: ['<all_urls>'] }, 'chrome')).toEqual([
      'key: the stores assign the id, a key must not be uploaded',
      'host_permissions: the Perch origin is requested at runtime only',
    ]);
    const firefox = await json(path.join(FIREFOX_BUILD, 'manifest.json'));
    expect(manifestProblems({ ...firefox, browser_specific_settings: { gecko: { strict_min_version: '142.0' } } }, 'firefox')).toEqual([
      'browser_specific_settings.gecko.id: Firefox Add-ons needs a fixed id',
      'gecko.data_collection_permissions: required ["none"]',
      'gecko.strict_min_version: 140.0 (Firefox ESR 140)',
    ]);
  });

  it('the sources zip rule wants what builds the extension and refuses local data', () => {
    const good = ['package.json', 'package-lock.json', 'wxt.config.ts', 'tsconfig.json', 'entrypoints/background.ts', 'entrypoints/perch.content.ts', 'public/managed-schema.json', 'public/icon/16.png', 'store/README.md', 'components/app/start.ts', 'lib/permissions.ts'];
    expect(sourcesProblems(good)).toEqual([]);
    expect(sourcesProblems([...good.filter((n) => n !== 'package-lock.json'), 'node_modules/preact/index.js', 'data/perch.sqlite', '.env'])).toEqual([
      'missing package-lock.json',
      'must not ship node_modules/preact/index.js',
      'must not ship data/perch.sqlite',
      'must not ship .env',
    ]);
  });
});
