import preact from '@preact/preset-vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vitest/config';

const shared = {
  testTimeout: 30_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: false,
        resolve: {
          // deploy/easypanel templates import EasyPanel's helpers by this name.
          alias: { '~templates-utils': new URL('./test/deploy/easypanel-template-utils.ts', import.meta.url).pathname },
        },
        test: {
          name: 'backend',
          include: ['test/**/*.test.ts', 'backend/**/*.test.ts', 'lib/**/*.test.ts'],
          exclude: ['test/ext/**'],
          globalSetup: ['test/support/global-setup.ts'],
          pool: 'forks',
          ...shared,
        },
      },
      {
        // The extension's components and runtime, in happy-dom.
        extends: false,
        plugins: [preact(), tailwindcss()],
        test: {
          name: 'ext',
          include: ['test/ext/**/*.test.{ts,tsx}'],
          environment: 'happy-dom',
          setupFiles: ['test/ext/setup.ts'],
          ...shared,
        },
      },
    ],
  },
});
