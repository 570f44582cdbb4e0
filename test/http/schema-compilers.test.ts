import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../backend/config/config.js';
import { buildPerch, type Perch } from '../../backend/server.js';

/** Files of `pkg` that Node's CommonJS loader has loaded in this test file's process (vitest forks one per file). */
const loadedFrom = (pkg: string) => Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes(`${path.sep}node_modules${path.sep}${pkg}${path.sep}`));

describe("Fastify's schema compilers (idle memory)", () => {
  let perch: Perch;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'perch-schema-'));
    perch = await buildPerch(parseConfig({ port: 0, dataDir, logLevel: 'silent', kestra: { url: 'http://127.0.0.1:9' } }), { logger: false });
  });
  afterAll(async () => {
    await perch?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a built Perch has not loaded ajv nor fast-json-stringify: it validates with zod', () => {
    expect(loadedFrom('fastify')).not.toEqual([]);
    expect(loadedFrom('ajv')).toEqual([]);
    expect(loadedFrom('@fastify/ajv-compiler')).toEqual([]);
    expect(loadedFrom('@fastify/fast-json-stringify-compiler')).toEqual([]);
  });

  it('a route that declares a Fastify schema is refused at start, saying why', async () => {
    perch.app.get('/schema-route', { schema: { querystring: { type: 'object', properties: { q: { type: 'string' } } } } }, async () => ({}));
    await expect(perch.app.ready()).rejects.toThrow(/Perch validates with zod/);
  });
});
