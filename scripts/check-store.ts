/**
 * npm run check:store — after `npm run build:ext`, checks the three zips the stores get:
 * each package's manifest carries what its store requires and nothing it refuses, the packages stay
 * small, and the sources zip for Firefox review holds what builds the extension and no local data.
 * The rules are exported for test/ui/store-listing.test.ts, which applies them to the unpacked builds.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { unzipSync } from 'fflate';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Far under both stores' limits (Chrome 2 GB, Firefox 200 MB): a larger package means something leaked in. */
export const PACKAGE_BUDGET = 1024 * 1024;
export const SOURCES_BUDGET = 5 * 1024 * 1024;

type Manifest = Record<string, any>;

/** What each store takes in a manifest: problems found, empty when it is fine. */
export function manifestProblems(manifest: Manifest, store: 'chrome' | 'firefox'): string[] {
  const problems: string[] = [];
  const need = (ok: unknown, what: string) => { if (!ok) problems.push(what); };
  need(manifest.manifest_version === 3, 'manifest_version must be 3');
  need(typeof manifest.name === 'string' && manifest.name.length <= 45, 'name: at most 45 characters (Firefox Add-ons: 50, Chrome: 75)');
  need(typeof manifest.description === 'string' && manifest.description.length <= 132, 'description: at most 132 characters (Chrome Web Store)');
  need(/^\d+(\.\d+){0,3}$/.test(String(manifest.version)), 'version: one to four dot-separated integers');
  need(manifest.icons?.['128'] && manifest.icons?.['48'] && manifest.icons?.['16'], 'icons: 16, 48 and 128 px');
  need(manifest.key === undefined, 'key: the stores assign the id, a key must not be uploaded');
  need(manifest.update_url === undefined, 'update_url: store packages update from the store');
  need(manifest.host_permissions === undefined, 'host_permissions: the Perch origin is requested at runtime only');
  need(!(manifest.content_security_policy?.extension_pages ?? '').includes('unsafe-eval'), 'content_security_policy: no unsafe-eval');
  if (store === 'chrome') {
    need(manifest.browser_specific_settings === undefined, 'browser_specific_settings: Firefox only');
    need(manifest.storage?.managed_schema, 'storage.managed_schema: the policy schema (managed installs)');
  } else {
    const gecko = manifest.browser_specific_settings?.gecko ?? {};
    need(typeof gecko.id === 'string' && gecko.id.length > 0, 'browser_specific_settings.gecko.id: Firefox Add-ons needs a fixed id');
    need(gecko.data_collection_permissions?.required?.includes('none'), 'gecko.data_collection_permissions: required ["none"]');
    need(gecko.strict_min_version === '140.0', 'gecko.strict_min_version: 140.0 (Firefox ESR 140)');
  }
  return problems;
}

/** The sources zip (file names): what a reviewer needs to rebuild, and nothing local. */
export function sourcesProblems(names: string[]): string[] {
  const problems: string[] = [];
  for (const required of ['package.json', 'package-lock.json', 'wxt.config.ts', 'tsconfig.json', 'entrypoints/background.ts', 'entrypoints/perch.content.ts', 'public/managed-schema.json', 'store/README.md']) {
    if (!names.includes(required)) problems.push(`missing ${required}`);
  }
  for (const prefix of ['components/', 'lib/', 'public/icon/']) {
    if (!names.some((name) => name.startsWith(prefix))) problems.push(`missing ${prefix}`);
  }
  const forbidden = [/^node_modules\//, /^\.output\//, /^dist\//, /^data\//, /^test-output\//, /(^|\/)\.env(\.|$)/, /\.(sqlite|db|pem|key)$/, /^\.git\//];
  for (const name of names) {
    if (forbidden.some((rule) => rule.test(name))) problems.push(`must not ship ${name}`);
  }
  return problems;
}

async function main(): Promise<void> {
  const output = path.join(ROOT, '.output');
  const zips = (await readdir(output)).filter((name) => name.endsWith('.zip'));
  const version = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version as string;
  const problems: string[] = [];
  for (const store of ['chrome', 'firefox'] as const) {
    const name = `perch-${version}-${store}.zip`;
    if (!zips.includes(name)) { problems.push(`${name}: missing (npm run build:ext)`); continue; }
    const bytes = await readFile(path.join(output, name));
    if (bytes.byteLength > PACKAGE_BUDGET) problems.push(`${name}: ${bytes.byteLength} bytes, budget ${PACKAGE_BUDGET}`);
    const files = unzipSync(bytes);
    const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as Manifest;
    problems.push(...manifestProblems(manifest, store).map((p) => `${name}: ${p}`));
    for (const icon of Object.values(manifest.icons ?? {}) as string[]) if (!files[icon]) problems.push(`${name}: icon ${icon} not in the package`);
    console.log(`${name}: ${(bytes.byteLength / 1024).toFixed(0)} KB, ${Object.keys(files).length} files`);
  }
  const sources = `perch-${version}-sources.zip`;
  if (!zips.includes(sources)) problems.push(`${sources}: missing (npm run build:ext)`);
  else {
    const bytes = await readFile(path.join(output, sources));
    if (bytes.byteLength > SOURCES_BUDGET) problems.push(`${sources}: ${bytes.byteLength} bytes, budget ${SOURCES_BUDGET}`);
    const names = Object.keys(unzipSync(bytes));
    problems.push(...sourcesProblems(names).map((p) => `${sources}: ${p}`));
    console.log(`${sources}: ${(bytes.byteLength / 1024).toFixed(0)} KB, ${names.length} files`);
  }
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log('store packages: ok');
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) await main();
