import preact from '@preact/preset-vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'wxt';
import { reviewCleanPlugin } from './components/extension/review-clean';

/**
 * One source, two browsers: `npm run build:ext` builds Chrome and Firefox (MV3) and zips both.
 * The content script (entrypoints/perch.content.ts) is the same file Perch serves at
 * /perch/ext/perch.js: it runs in the page's own world and uses no extension API, so the server
 * can inject it for teams that install nothing.
 */
const ICONS = Object.fromEntries([16, 32, 48, 96, 128].map((size) => [String(size), `icon/${size}.png`]));

export default defineConfig({
  manifestVersion: 3,
  // Explicit imports everywhere: the same modules are compiled by tsc and vitest without WXT's globals.
  imports: false,
  // The sources zip (for Firefox Add-ons review) holds the code, not local data, build output or pictures.
  zip: { excludeSources: ['data/**', 'dist/**', 'test-output/**', 'docs/screenshots/**', '.ci/**'] },
  vite: () => ({ plugins: [reviewCleanPlugin(), preact(), tailwindcss()] }),
  manifest: ({ browser }) => ({
    name: 'Perch for Kestra',
    description: 'Enterprise screens (IAM, audit log, tenants) inside the Kestra UI, backed by a Perch server.',
    // The Perch address is set on the options page; only that origin is then requested, at runtime.
    permissions: ['storage', 'scripting'],
    // public/icon/*.png, drawn from docs/extension/icon.svg (npm run icons).
    icons: ICONS,
    action: { default_icon: ICONS, default_title: 'Perch for Kestra' },
    optional_host_permissions: ['http://*/*', 'https://*/*'],
    // Chrome's managed storage: an organisation pre-sets the Perch address by policy (docs/extension-store.md).
    // Firefox reads the same key from policies.json's 3rdparty section without a schema.
    ...(browser === 'firefox' ? {} : { storage: { managed_schema: 'managed-schema.json' } }),
    ...(browser === 'firefox'
      ? {
          // Firefox ESR 140 is the oldest desktop release that knows data_collection_permissions (which
          // Add-ons requires of new extensions); Firefox for Android learnt it in 142. Nothing else the
          // extension uses (MV3 scripting with world MAIN, optional_host_permissions) needs more than 128.
          browser_specific_settings: {
            gecko: { id: 'perch@perch.dev', strict_min_version: '140.0', data_collection_permissions: { required: ['none'] } },
            gecko_android: { strict_min_version: '142.0' },
          },
        }
      : {}),
  }),
});
