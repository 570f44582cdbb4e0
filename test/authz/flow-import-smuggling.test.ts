import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { fileUpload, multipartForm } from '../support/multipart.js';
import { Browser, grantRole, startBehindKestra } from '../support/perch.js';

/**
 * A flow import read two ways: Perch checks what it unpacks, Kestra imports what it unpacks. Kestra
 * cuts a YAML upload at every "---" in its text and reads a ZIP one local header after the other;
 * an upload that the two would read differently is refused, so no flow reaches Kestra unchecked.
 */
const flow = (namespace: string, id: string, indent = '') =>
  `${indent}id: ${id}\n${indent}namespace: ${namespace}\n${indent}tasks:\n${indent}  - id: say\n${indent}    type: io.kestra.plugin.core.log.Log\n${indent}    message: hi\n`;

const upload = fileUpload;

/** A ZIP whose directory lists only `listed`, with `hidden`'s local entry slipped in before the directory. */
function zipWithHiddenEntry(listed: Record<string, string>, hidden: Record<string, string>): Uint8Array {
  const a = zipSync(Object.fromEntries(Object.entries(listed).map(([k, v]) => [k, strToU8(v)])));
  const b = zipSync(Object.fromEntries(Object.entries(hidden).map(([k, v]) => [k, strToU8(v)])));
  const endOf = (z: Uint8Array) => z.length - 22;
  const directoryOf = (z: Uint8Array) => Buffer.from(z).readUInt32LE(endOf(z) + 16);
  const end = Buffer.from(a.slice(endOf(a)));
  end.writeUInt32LE(directoryOf(a) + directoryOf(b), 16);
  return Buffer.concat([a.slice(0, directoryOf(a)), b.slice(0, directoryOf(b)), a.slice(directoryOf(a), endOf(a)), end]);
}

/** A ZIP written as a stream (sizes after each entry's data, as Java's ZipOutputStream writes Kestra's exports). */
function streamedZip(files: Record<string, string>): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    const zip = new Zip((error, chunk, final) => {
      if (error) return reject(error);
      chunks.push(chunk);
      if (final) resolve(Buffer.concat(chunks));
    });
    for (const [name, text] of Object.entries(files)) {
      const entry = new ZipDeflate(name);
      zip.add(entry);
      entry.push(strToU8(text), true);
    }
    zip.end();
  });
}

describe('flow imports that Kestra would read otherwise', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let kestra: KestraDouble;
  let editor: Browser;

  beforeAll(async () => {
    env = await startBehindKestra();
    kestra = env.kestra;
    const created = await env.admin.fetch('POST', '/api/v1/users', { json: { email: 'importer@example.com', password: 'a good long password' } });
    await grantRole(env.perch.perch, created.json.id, 'editor', 'company.team');
    editor = new Browser(env.perch);
    await editor.login('importer@example.com', 'a good long password');
  });
  afterAll(() => env?.close());

  const imports = () => kestra.requests.filter((r) => r.url.includes('/flows/import')).length;

  it.each([
    // To a YAML parser, one flow in company.team; split at "---", a second one in company.finance.
    ['"---" inside a block scalar', () => upload(`${flow('company.team', 'decoy')}description: |\n  ---\n${flow('company.finance', 'payroll', '  ')}`, 'flows.yml')],
    ['"---" with more on its line', () => upload(`${flow('company.team', 'decoy')}--- # a comment\n${flow('company.team', 'other')}`, 'flows.yml')],
    ['a ZIP entry its directory does not list', () => upload(zipWithHiddenEntry({ 'a.yml': flow('company.team', 'decoy') }, { 'b.yml': flow('company.finance', 'payroll') }), 'flows.zip')],
    // Perch used to check the first fileUpload part only; Kestra's binder may take either.
    ['a second fileUpload part', () => multipartForm([{ name: 'fileUpload', filename: 'a.yml', data: flow('company.team', 'decoy') }, { name: 'fileUpload', filename: 'b.yml', data: flow('company.finance', 'payroll') }])],
    ['a part beside fileUpload', () => multipartForm([{ name: 'fileUpload', filename: 'a.yml', data: flow('company.team', 'decoy') }, { name: 'flows', filename: 'b.yml', data: flow('company.finance', 'payroll') }])],
  ])('refuses %s, and Kestra sees nothing', async (_name, body) => {
    kestra.clear();
    const res = await editor.fetch('POST', '/api/v1/main/flows/import', body());
    expect(res.status).toBe(400);
    expect(imports()).toBe(0);
  });

  it('refuses a hidden second document in a sync of a namespace too', async () => {
    kestra.clear();
    const body = `${flow('company.team', 'decoy')}description: |\n  ---\n${flow('company.finance', 'payroll', '  ')}`;
    const res = await editor.fetch('POST', '/api/v1/main/flows/company.team', { body, headers: { 'content-type': 'application/x-yaml' } });
    expect(res.status).toBe(400);
    expect(kestra.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it.each([
    ['a multi-flow YAML', async () => upload(`${flow('company.team', 'one')}---\n${flow('company.team.sub', 'two')}\n---  \n`, 'flows.yml')],
    ['a ZIP', async () => upload(zipSync({ 'one.yml': strToU8(flow('company.team', 'one')), 'two.yml': strToU8(flow('company.team', 'two')) }), 'flows.zip')],
    ['a ZIP written as a stream', async () => upload(await streamedZip({ 'one.yml': flow('company.team', 'one'), 'two.yml': flow('company.team', 'two') }), 'flows.zip')],
  ])('lets %s of its own flows through', async (_name, body) => {
    kestra.clear();
    const res = await editor.fetch('POST', '/api/v1/main/flows/import', await body());
    expect(res.status, res.text).not.toBe(400);
    expect(res.status).not.toBe(403);
    expect(imports()).toBe(1);
  });
});
