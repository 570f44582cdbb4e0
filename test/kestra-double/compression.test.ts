import { gunzipSync, inflateSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from './kestra-double.js';
import { negotiatedEncoding } from './http.js';

/**
 * Kestra's Micronaut server compresses a text answer of 1 KiB or more for a caller that accepts it
 * (docs/compatibility.md, "Compressed answers"): the double does the same, so that Perch meets compressed
 * answers wherever a browser or an SDK would make Kestra send them.
 */
describe('the Kestra double compresses as Kestra does', () => {
  let kestra: KestraDouble;
  beforeAll(async () => {
    kestra = await startKestraDouble();
    // Enough flows for a search page well above 1 KiB.
    for (let i = 0; i < 6; i++) {
      const yaml = `id: compressed-${i}\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: "${'x'.repeat(80)}"\n`;
      const res = await request(`${kestra.url}/api/v1/main/flows`, { method: 'POST', headers: { authorization: kestra.authorization, 'content-type': 'application/x-yaml' }, body: yaml });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
  });
  afterAll(async () => {
    await kestra?.close();
  });

  const search = async (method: 'GET' | 'HEAD', acceptEncoding?: string) => {
    const headers: Record<string, string> = { authorization: kestra.authorization };
    if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
    const res = await request(`${kestra.url}/api/v1/main/flows/search?page=1&size=25`, { method, headers });
    const raw = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, encoding: res.headers['content-encoding'], length: Number(res.headers['content-length']), raw };
  };

  it('sends a large JSON answer gzip-compressed when the caller accepts gzip, with the compressed length', async () => {
    const plain = await search('GET');
    expect(plain.encoding).toBeUndefined();
    expect(plain.raw.length).toBeGreaterThan(1024);
    const page = JSON.parse(plain.raw.toString('utf8'));
    expect(page.total).toBe(6);

    const gzipped = await search('GET', 'gzip, deflate, br, zstd');
    expect(gzipped.status).toBe(200);
    expect(gzipped.encoding).toBe('gzip');
    expect(gzipped.length).toBe(gzipped.raw.length);
    expect(gzipped.raw.length).toBeLessThan(plain.raw.length);
    expect(JSON.parse(gunzipSync(gzipped.raw).toString('utf8'))).toEqual(page);

    const deflated = await search('GET', 'deflate');
    expect(deflated.encoding).toBe('deflate');
    expect(JSON.parse(inflateSync(deflated.raw).toString('utf8'))).toEqual(page);
  });

  it('leaves small answers, HEAD, and callers that refuse compression uncompressed', async () => {
    const small = await request(`${kestra.url}/api/v1/main/flows/company.team/compressed-0`, { headers: { authorization: kestra.authorization, 'accept-encoding': 'gzip' } });
    const smallBody = await small.body.text();
    expect(smallBody.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(smallBody).id).toBe('compressed-0');

    const head = await search('HEAD', 'gzip');
    expect(head.encoding).toBeUndefined();
    expect((await search('GET', 'gzip;q=0')).encoding).toBeUndefined();
    expect((await search('GET', 'identity')).encoding).toBeUndefined();
  });

  it('ranks encodings as Micronaut does', () => {
    expect(negotiatedEncoding(undefined)).toBeNull();
    expect(negotiatedEncoding('gzip, deflate')).toBe('gzip');
    expect(negotiatedEncoding('deflate;q=1, gzip;q=0.5')).toBe('deflate');
    expect(negotiatedEncoding('gzip;q=0.5, deflate;q=0.5')).toBe('gzip');
    expect(negotiatedEncoding('*')).toBe('gzip');
    expect(negotiatedEncoding('gzip;q=0, *')).toBe('deflate');
    expect(negotiatedEncoding('br')).toBeNull();
    expect(negotiatedEncoding('gzip;q=0')).toBeNull();
  });
});
