#!/usr/bin/env node
// `npm run build:backend`: the backend as one minified ES module (dist/backend/cli.js) and chunks for
// what it imports only on use (dist/backend/chunks/). One file to parse at start instead of ~1,200
// keeps ~9 MB of module source and bytecode out of the idle heap (docs/benchmarks.md, Memory).
// Kept outside the bundle: native addons (loaded by path), and the libraries Perch imports only on
// use (SDKs, drivers, mail): they stay lazy and read their own files next to their code.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
export const EXTERNAL = [
  // Native addons.
  'better-sqlite3',
  '@node-rs/argon2',
  // Imported on first use only.
  '@1password/connect',
  '@anthropic-ai/sdk',
  '@aws-sdk/*',
  '@azure/*',
  '@google-cloud/*',
  '@google/genai',
  'age-encryption',
  'fflate',
  'nodemailer',
  'ollama',
  'openai',
  'openid-client',
  'pg',
];

/**
 * A package imported on use (`await import('undici')`) stays outside the bundle: bundled, a CommonJS
 * package's lazy chunk would export only `default`, and `const { request } = await import(…)` would
 * get undefined. Node's own loader gives it its named exports.
 */
const lazyPackagesOutside = {
  name: 'lazy-packages-outside',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};

// `node bin/build-backend.mjs [folder]`: into dist/ unless told (the tests build elsewhere).
const out = path.resolve(ROOT, process.argv[2] ?? 'dist');
rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: ROOT,
  entryPoints: ['backend/cli.ts'],
  outdir: path.join(out, 'backend'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Whitespace and syntax minified; identifiers kept as written, so stack traces and the error types in
  // logs keep their names (renaming them too saves ~1 MB more heap; esbuild's keepNames costs 3 MB).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  external: EXTERNAL,
  plugins: [lazyPackagesOutside],
  // The bundled CommonJS libraries (fastify, pino, …) call require() for Node's own modules.
  banner: { js: "import { createRequire as __perchRequire } from 'node:module'; const require = __perchRequire(import.meta.url);" },
  logLevel: 'warning',
});
