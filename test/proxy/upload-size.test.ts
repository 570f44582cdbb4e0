/**
 * Multipart uploads are read whole to check their one form (issue 16 point 3), up to
 * kestra.maxUploadSize: larger ones get a 413 and reach nothing; by default the limit is 100 MiB, so
 * uploads above the 16 MiB kept for documents Perch reads still go through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUpload } from '../support/multipart.js';
import { startBehindKestra } from '../support/perch.js';

const upload = (ns: string, path: string) => `/api/v1/main/namespaces/${ns}/files?path=${encodeURIComponent(path)}`;

describe('upload size', () => {
  describe('with kestra.maxUploadSize at 64 KiB', () => {
    let env: Awaited<ReturnType<typeof startBehindKestra>>;
    beforeAll(async () => (env = await startBehindKestra('PT5S', {}, { maxUploadSize: 64 * 1024 })));
    afterAll(() => env?.close());

    it('takes an upload under the limit and refuses one over it (413), forwarding nothing', async () => {
      const small = fileUpload(Buffer.alloc(32 * 1024, 1), 'small.bin', 'fileContent');
      expect((await env.admin.fetch('POST', upload('company.team', '/small.bin'), small)).status).toBe(200);
      env.kestra.clear();
      const large = fileUpload(Buffer.alloc(100 * 1024, 1), 'large.bin', 'fileContent');
      const refused = await env.admin.fetch('POST', upload('company.team', '/large.bin'), large);
      expect(refused.status).toBe(413);
      expect(refused.json.message).toMatch(/kestra\.maxUploadSize/);
      expect(env.kestra.requests).toEqual([]);
    });
  });

  describe('by default', () => {
    let env: Awaited<ReturnType<typeof startBehindKestra>>;
    beforeAll(async () => (env = await startBehindKestra()));
    afterAll(() => env?.close());

    it('passes a 20 MiB upload (over the 16 MiB kept for documents) whole to Kestra', async () => {
      const data = Buffer.alloc(20 * 1024 * 1024, 7);
      const res = await env.admin.fetch('POST', upload('company.team', '/big.bin'), fileUpload(data, 'big.bin', 'fileContent'));
      expect(res.status).toBe(200);
      expect(env.kestra.store.files.get('company.team')?.get('/big.bin')?.data.equals(data)).toBe(true);
    });
  });
});
