import preact from '@preact/preset-vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'wxt';

/**
 * One source, two browsers: `npm run build:ext` builds Chrome and Firefox (MV3) and zips both.
 * The content script (entrypoints/perch.content.ts) is the same file Perch serves at
 * /perch/ext/perch.js: it runs in the page's own world and uses no extension API, so the server
 * can inject it for teams that install nothing.
 */
export default defineConfig({
  manifestVersion: 3,
  // Explicit imports everywhere: the same modules are compiled by tsc and vitest without WXT's globals.
  imports: false,
  // The sources zip (for Firefox Add-ons review) holds the code, not local data, build output or pictures.
  zip: { excludeSources: ['data/**', 'dist/**', 'test-output/**', 'docs/screenshots/**', '.ci/**'] },
  vite: () => ({ plugins: [preact(), tailwindcss()] }),
  manifest: ({ browser }) => ({
    name: 'Perch for Kestra',
    description: 'Enterprise screens (IAM, audit log, tenants) inside the Kestra UI, backed by a Perch server.',
    // The Perch address is set on the options page; only that origin is then requested, at runtime.
    permissions: ['storage', 'scripting'],
    optional_host_permissions: ['http://*/*', 'https://*/*'],
    ...(browser === 'firefox'
      ? {
          browser_specific_settings: {
            gecko: { id: 'perch@perch.dev', strict_min_version: '142.0', data_collection_permissions: { required: ['none'] } },
          },
        }
      : {}),
  }),
});
