import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { flowsOfNamespaceFileWrite } from '../../backend/authz/flow-folder.js';
import { KestraHosts } from '../../backend/authz/kestra-hosts.js';
import { fileUpload as formWith, multipartForm } from '../support/multipart.js';
import { Browser, grantRole, logFlow, startBehindKestra } from '../support/perch.js';

/**
 * Kestra imports a namespace file written under `_flows/` as a flow (issue 16 point 1), so every way a
 * file lands there is a flow write: it needs FLOW CREATE and UPDATE and passes the reference checks of
 * a flow save, and any spelling, archive layout or YAML that Kestra could read otherwise is refused
 * before anything reaches Kestra. Multipart bodies have one form (point 3).
 */
/** A namespace-file upload: the one part `fileContent`, as Kestra's UI sends it. */
const fileUpload = (data: Uint8Array | string, filename: string) => formWith(data, filename, 'fileContent');
const upload = (ns: string, path: string, body: { body: Buffer; headers: Record<string, string> }) =>
  [`/api/v1/main/namespaces/${ns}/files?path=${encodeURIComponent(path)}`, body] as const;
const withNamespace = (namespace: string, rest = '') => `id: sneaky\nnamespace: ${namespace}\n${rest}tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

describe('namespace files under _flows/', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let kestra: KestraDouble;
  /** Developer on company.team: namespace files and flows there. */
  let dev: Browser;
  /** Namespace files on company.team, and no flow rights at all. */
  let filer: Browser;

  beforeAll(async () => {
    env = await startBehindKestra();
    kestra = env.kestra;
    const person = async (email: string) => {
      const created = await env.admin.fetch('POST', '/api/v1/users', { json: { email, password: 'a good long password' } });
      const browser = new Browser(env.perch);
      return { id: created.json.id as string, browser };
    };
    const d = await person('dev@example.com');
    await grantRole(env.perch.perch, d.id, 'developer', 'company.team');
    dev = d.browser;
    await dev.login('dev@example.com', 'a good long password');
    const f = await person('filer@example.com');
    const role = await env.admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Files only', permissions: { NAMESPACE: ['VIEW', 'LIST', 'MANAGE_FILES'] } } });
    expect(role.status).toBe(200);
    const bound = await env.admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: f.id, roleId: role.json.id, namespaceId: 'company.team' } });
    expect(bound.status).toBe(200);
    filer = f.browser;
    await filer.login('filer@example.com', 'a good long password');
  });
  afterAll(() => env?.close());

  const flowsIn = (ns: string) => [...kestra.store.flows.values()].filter((f) => f.namespace === ns && !f.deleted).map((f) => f.id);

  async function refused(who: Browser, method: string, url: string, init: { body?: Buffer; headers?: Record<string, string> } = {}) {
    kestra.clear();
    const before = kestra.store.flows.size;
    const res = await who.fetch(method, url, init);
    expect([400, 403], res.text).toContain(res.status);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(typeof res.json.message).toBe('string');
    expect(kestra.requests).toEqual([]);
    expect(kestra.store.flows.size).toBe(before);
    return res;
  }

  describe('uploads that would create a flow elsewhere or unchecked', () => {
    it.each([
      // The quoted key is not rewritten by Kestra: the flow would land in company.finance.
      ['a quoted namespace key', '/_flows/x.yml', `id: sneaky\n"namespace": company.finance\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`],
      ["a single-quoted namespace key", '/_flows/x.yml', `id: sneaky\n'namespace': company.finance\ntasks: []\n`],
      ['a flow-style map', '/_flows/x.yml', `{id: sneaky, namespace: company.finance, tasks: [{id: say, type: io.kestra.plugin.core.log.Log, message: hi}]}\n`],
      ['a flow-style map over several lines', '/_flows/x.yml', `{id: sneaky,\nnamespace: company.finance,\ntasks: [{id: say, type: io.kestra.plugin.core.log.Log, message: hi}]}\n`],
      ['an earlier "namespace: " line in a block scalar', '/_flows/x.yml', `description: |\n namespace: decoy\nid: sneaky\n"namespace": company.finance\ntasks: []\n`],
      ['an anchor and alias', '/_flows/x.yml', `id: &i sneaky\nnamespace: company.team\nlabels:\n  x: *i\ntasks: []\n`],
      ['several documents', '/_flows/x.yml', `${withNamespace('company.team')}---\n${withNamespace('company.finance')}`],
      ['a YAML tag', '/_flows/x.yml', `id: !shady sneaky\nnamespace: company.team\ntasks: []\n`],
      ['duplicate keys', '/_flows/x.yml', `id: sneaky\nnamespace: company.team\nid: other\ntasks: []\n`],
      ['a lone carriage return', '/_flows/x.yml', `id: sneaky\rnamespace: company.finance\nnamespace: company.team\ntasks: []\n`],
      ['a Unicode line separator', '/_flows/x.yml', `id: sneaky\u2028namespace: company.finance\nnamespace: company.team\ntasks: []\n`],
      ['a byte-order mark', '/_flows/x.yml', `\uFEFF${withNamespace('company.team')}`],
      ['unparseable YAML', '/_flows/x.yml', `id: [sneaky\nnamespace: company.team\n`],
      ['no namespace at all', '/_flows/x.yml', `id: sneaky\ntasks: []\n`],
    ])('refuses %s (400)', async (_name, path, source) => {
      const res = await refused(dev, 'POST', ...upload('company.team', path, fileUpload(source, 'x.yml')));
      expect(res.status).toBe(400);
      expect(res.json.message).toMatch(/_flows|flow|multipart/i);
    });

    it.each([
      ['no leading slash', '_flows/x.yml'],
      ['a dot segment', '/./_flows/x.yml'],
      ['a climb back', '/scripts/../_flows/x.yml'],
      ['a double slash', '//_flows/x.yml'],
      ['a trailing slash', '/_flows/x.yml/'],
      ['a sub-folder', '/_flows/deep/x.yml'],
      ['upper case', '/_FLOWS/x.yml'],
      ['a backslash', '\\_flows\\x.yml'],
      ['an encoded underscore', '/%5Fflows/x.yml'],
      ['an encoded underscore beside a malformed escape', '/%5Fflows/x%zz.yml'],
      ['a double-encoded slash', '/%252F_flows/x.yml'],
      ['a trailing dot', '/_flows./x.yml'],
      ['a zero-width space', '/_flo\u200Bws/x.yml'],
      ['a full-width letter', '/_ｆlows/x.yml'],
      ['a storage URI', 'kestra:///_flows/x.yml'],
      ['a file name with a space', '/_flows/x y.yml'],
    ])('refuses an upload to _flows/ spelled with %s (400)', async (_name, path) => {
      const res = await refused(dev, 'POST', ...upload('company.team', path, fileUpload(withNamespace('company.team'), 'x.yml')));
      expect(res.status).toBe(400);
      expect(res.json.message).toContain('_flows/');
    });

    it('refuses a flow for a namespace the uploader has no flow rights in, naming them (403)', async () => {
      const res = await refused(filer, 'POST', ...upload('company.team', '/_flows/x.yml', fileUpload(withNamespace('company.finance'), 'x.yml')));
      expect(res.status).toBe(403);
      expect(res.json.message).toContain('FLOW CREATE in company.team');
      expect(res.json.missing).toEqual(expect.arrayContaining(['FLOW CREATE in company.team', 'FLOW UPDATE in company.team']));
    });

    it('runs the reference checks of a flow save (403 naming the line)', async () => {
      const source = `id: sneaky\nnamespace: company.team\ntasks:\n  - id: run\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.finance\n    flowId: payroll\n`;
      const res = await refused(dev, 'POST', ...upload('company.team', '/_flows/x.yml', fileUpload(source, 'x.yml')));
      expect(res.status).toBe(403);
      expect(res.json.message).toMatch(/line 6: .*company\.finance/);
    });

    it('refuses an HTTP task aimed at Kestra’s own address (the upstream host, not only loopback), in a file and in a ZIP entry', async () => {
      const upstream = new URL(kestra.url);
      const source = `id: sneaky\nnamespace: company.team\ntasks:\n  - id: call\n    type: io.kestra.plugin.core.http.Request\n    uri: http://${upstream.hostname === '127.0.0.1' ? 'LOCALHOST.' : upstream.hostname}:${upstream.port}/api/v1/main/flows/search\n`;
      const res = await refused(dev, 'POST', ...upload('company.team', '/_flows/x.yml', fileUpload(source, 'x.yml')));
      expect(res.status).toBe(403);
      expect(res.json.message).toMatch(/line 6: calls Kestra's own address/);
      const zip = Buffer.from(zipSync({ '_flows/x.yml': strToU8(source) }));
      expect((await refused(dev, 'POST', ...upload('company.team', '/data.zip', fileUpload(zip, 'data.zip')))).status).toBe(403);
    });
  });

  describe('ZIP uploads: every entry', () => {
    const zip = (files: Record<string, string>) => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));

    it.each([
      ['a quoted namespace in a _flows/ entry', { 'scripts/a.py': 'print(1)', '_flows/x.yml': `id: sneaky\n"namespace": company.finance\ntasks: []\n` }],
      ['an entry spelled with a leading slash', { '/_flows/x.yml': withNamespace('company.team') }],
      ['an entry climbing into _flows/', { 'scripts/../_flows/x.yml': withNamespace('company.team') }],
      ['an entry in a _flows/ sub-folder', { '_flows/deep/x.yml': withNamespace('company.team') }],
      ['an upper-case _FLOWS/ entry', { '_FLOWS/x.yml': withNamespace('company.team') }],
    ])('refuses %s', async (_name, files) => {
      const res = await refused(dev, 'POST', ...upload('company.team', '/archive.zip', fileUpload(zip(files), 'archive.zip')));
      expect(res.status).toBe(400);
    });

    it('refuses a _flows/ entry for an uploader without flow rights (403)', async () => {
      const res = await refused(filer, 'POST', ...upload('company.team', '/archive.zip', fileUpload(zip({ '_flows/x.yml': withNamespace('company.team') }), 'ARCHIVE.ZIP')));
      expect(res.status).toBe(403);
    });

    it('refuses an archive with two entries of one name (unzipped by name, one would hide the other)', async () => {
      const one = Buffer.from(zipSync({ '_flows/x.yml': strToU8(withNamespace('company.team')) }));
      // Rename a second archive's entry to the same name length, then splice both local entries in.
      const two = Buffer.from(zipSync({ '_flows/y.yml': strToU8(withNamespace('company.team', 'description: other\n')) }));
      const dir = (z: Buffer) => z.readUInt32LE(z.length - 22 + 16);
      const renamed = Buffer.from(two.toString('latin1').replaceAll('_flows/y.yml', '_flows/x.yml'), 'latin1');
      const locals = Buffer.concat([one.subarray(0, dir(one)), renamed.subarray(0, dir(renamed))]);
      const central = Buffer.concat([one.subarray(dir(one), one.length - 22), renamed.subarray(dir(renamed), renamed.length - 22)]);
      central.writeUInt32LE(dir(one), central.length / 2 + 42);
      const end = Buffer.from(one.subarray(one.length - 22));
      end.writeUInt16LE(2, 8);
      end.writeUInt16LE(2, 10);
      end.writeUInt32LE(central.length, 12);
      end.writeUInt32LE(locals.length, 16);
      const res = await refused(dev, 'POST', ...upload('company.team', '/archive.zip', fileUpload(Buffer.concat([locals, central, end]), 'archive.zip')));
      expect(res.json.message).toMatch(/two entries named _flows\/x\.yml/);
    });

    it('unpacks only the _flows/ entries: a large archive of data passes, a _flows/ zip bomb does not', async () => {
      const big = zipSync({ 'data/zeros.bin': new Uint8Array(40 * 1024 * 1024) });
      kestra.clear();
      const data = await filer.fetch('POST', ...upload('company.team', '/data.zip', fileUpload(big, 'data.zip')));
      expect(data.status, data.text).toBe(200);
      const bomb = zipSync({ '_flows/x.yml': new Uint8Array(40 * 1024 * 1024) });
      const res = await refused(dev, 'POST', ...upload('company.team', '/bomb.zip', fileUpload(bomb, 'bomb.zip')));
      expect(res.json.message).toMatch(/unpacks to more than/);
    });

    it('imports a ZIP of scripts and a flow of the uploader’s own namespace', async () => {
      kestra.clear();
      const files = { 'scripts/a.py': 'print(1)', '_flows/zipped.yml': withNamespace('company.finance').replace('sneaky', 'zipped') };
      const res = await dev.fetch('POST', ...upload('company.team', '/archive.zip', fileUpload(zip(files), 'archive.zip')));
      expect(res.status, res.text).toBe(200);
      // Kestra moves the flow into the URL's namespace: company.team, whatever the YAML said.
      expect(flowsIn('company.team')).toContain('zipped');
      expect(flowsIn('company.finance')).not.toContain('zipped');
    });
  });

  describe('moves, folders and deletions in _flows/', () => {
    it.each([
      ['PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fscripts%2Fx.yml&to=%2F_flows%2Fx.yml'],
      ['PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fscripts%2Fx.yml&to=_flows%2Fx.yml'],
      ['PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fscripts%2Fx.yml&to=%2F%255Fflows%2Fx.yml'],
      ['PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fscripts&to=%2F_flows'],
      ['PUT', '/api/v1/main/namespaces/company.team/files?from=%2F_flows%2Fx.yml&to=%2Fscripts%2Fx.yml'],
      ['POST', '/api/v1/main/namespaces/company.team/files/directory?path=%2F_flows'],
      ['POST', '/api/v1/main/namespaces/company.team/files/directory?path=a%2F..%2F_flows%2Fsub'],
      ['DELETE', '/api/v1/main/namespaces/company.team/files?path=_flows%2Fx.yml'],
    ])('refuses %s %s (403)', async (method, url) => {
      const res = await refused(dev, method, url);
      expect(res.status).toBe(403);
      expect(res.json.message).toContain('_flows/');
    });
  });

  describe('allowed cases', () => {
    it('imports an upload to /_flows/<file> into the URL’s namespace for someone with flow rights there', async () => {
      kestra.clear();
      const res = await dev.fetch('POST', ...upload('company.team', '/_flows/mine.yml', fileUpload(withNamespace('company.finance').replace('sneaky', 'mine'), 'mine.yml')));
      expect(res.status, res.text).toBe(200);
      expect(flowsIn('company.team')).toContain('mine');
      expect(flowsIn('company.finance')).not.toContain('mine');
      // Overwriting it is a flow update, allowed too.
      const again = await dev.fetch('POST', ...upload('company.team', '/_flows/mine.yml', fileUpload(`${logFlow('company.team', 'mine')}description: v2\n`, 'mine.yml')));
      expect(again.status, again.text).toBe(200);
    });

    it('lets ordinary files, moves and folders through for files-only people', async () => {
      kestra.clear();
      expect((await filer.fetch('POST', ...upload('company.team', '/scripts/run.py', fileUpload('print(1)', 'run.py')))).status).toBe(200);
      expect((await filer.fetch('POST', '/api/v1/main/namespaces/company.team/files/directory?path=%2Fdocs')).status).toBe(200);
      expect((await filer.fetch('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fscripts%2Frun.py&to=%2Fscripts%2Fmain.py')).status).toBe(200);
      // A file merely named like the folder, deeper down, is an ordinary file.
      expect((await filer.fetch('POST', ...upload('company.team', '/docs/_flows.md', fileUpload('# notes', '_flows.md')))).status).toBe(200);
      expect(kestra.requests.some((r) => r.method === 'PUT')).toBe(true);
    });
  });

  describe('one multipart form', () => {
    const file = (name: string) => ({ name, filename: 'x.yml', data: withNamespace('company.team') });
    it.each([
      ['a repeated fileContent part', [{ name: 'fileContent', filename: 'a.txt', data: 'harmless' }, { name: 'fileContent', filename: 'b.yml', data: withNamespace('company.finance') }]],
      ['an unexpected part', [{ name: 'fileContent', filename: 'a.txt', data: 'harmless' }, file('fileUpload')]],
      ['a part repeating the query parameter', [{ name: 'fileContent', filename: 'a.txt', data: 'harmless' }, { name: 'path', data: '/_flows/x.yml' }]],
      ['the file sent as a plain field', [{ name: 'fileContent', data: 'harmless' }]],
    ])('refuses a namespace file upload with %s', async (_name, parts) => {
      const res = await refused(filer, 'POST', ...upload('company.team', '/scripts/a.txt', multipartForm(parts)));
      expect(res.status).toBe(400);
    });

    it.each([
      ['a second boundary parameter', (b: Buffer) => ({ body: b, headers: { 'content-type': 'multipart/form-data; boundary=perchtestboundary; boundary=other' } })],
      ['a preamble', (b: Buffer) => ({ body: Buffer.concat([Buffer.from('preamble\r\n'), b]), headers: { 'content-type': 'multipart/form-data; boundary=perchtestboundary' } })],
      ['an epilogue', (b: Buffer) => ({ body: Buffer.concat([b, Buffer.from('--perchtestboundary\r\nContent-Disposition: form-data; name="fileContent"; filename="y"\r\n\r\nx')]), headers: { 'content-type': 'multipart/form-data; boundary=perchtestboundary' } })],
      ['a filename* parameter', (b: Buffer) => ({ body: Buffer.from(b.toString('latin1').replace('filename="a.txt"', "filename*=UTF-8''x.zip"), 'latin1'), headers: { 'content-type': 'multipart/form-data; boundary=perchtestboundary' } })],
      ['a Content-Transfer-Encoding header', (b: Buffer) => ({ body: Buffer.from(b.toString('latin1').replace('Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64'), 'latin1'), headers: { 'content-type': 'multipart/form-data; boundary=perchtestboundary' } })],
      ['a part without Content-Disposition', (b: Buffer) => ({ body: Buffer.concat([Buffer.from('--perchtestboundary\r\nContent-Type: text/plain\r\n\r\nhidden\r\n'), b]), headers: { 'content-type': 'multipart/form-data; boundary=perchtestboundary' } })],
      ['no multipart at all', (b: Buffer) => ({ body: b, headers: { 'content-type': 'application/octet-stream' } })],
    ])('refuses a namespace file upload with %s', async (_name, shape) => {
      const { body } = multipartForm([{ name: 'fileContent', filename: 'a.txt', data: 'harmless' }]);
      const res = await refused(filer, 'POST', ...upload('company.team', '/scripts/a.txt', shape(body)));
      expect(res.status).toBe(400);
    });

    it('refuses a flow import with a second fileUpload part (only the first used to be checked)', async () => {
      const parts = [
        { name: 'fileUpload', filename: 'a.yml', data: logFlow('company.team', 'decoy') },
        { name: 'fileUpload', filename: 'b.yml', data: logFlow('company.finance', 'payroll') },
      ];
      const res = await refused(dev, 'POST', '/api/v1/main/flows/import', multipartForm(parts));
      expect(res.json.message).toContain('"fileUpload" is sent more than once');
    });

    it('refuses a flow import with an unexpected part or one repeating the query', async () => {
      const first = { name: 'fileUpload', filename: 'a.yml', data: logFlow('company.team', 'decoy') };
      expect((await refused(dev, 'POST', '/api/v1/main/flows/import', multipartForm([first, { name: 'other', filename: 'b.yml', data: 'x' }]))).json.message).toContain('Unexpected multipart part "other"');
      expect((await refused(dev, 'POST', '/api/v1/main/flows/import?failOnError=true', multipartForm([first, { name: 'failOnError', data: 'false' }]))).json.message).toContain('repeats the query');
    });

    it('refuses execution inputs sent twice or repeating the query, and lets distinct inputs through', async () => {
      await env.admin.fetch('POST', '/api/v1/main/flows', { body: logFlow('company.team', 'runme'), headers: { 'content-type': 'application/x-yaml' } });
      const twice = multipartForm([{ name: 'who', data: 'a' }, { name: 'who', data: 'b' }]);
      expect((await refused(dev, 'POST', '/api/v1/main/executions/company.team/runme', twice)).status).toBe(400);
      const labels = multipartForm([{ name: 'labels', data: 'team:finance' }]);
      expect((await refused(dev, 'POST', '/api/v1/main/executions/company.team/runme?labels=team:a', labels)).status).toBe(400);
      kestra.clear();
      const ok = await dev.fetch('POST', '/api/v1/main/executions/company.team/runme', multipartForm([{ name: 'who', data: 'a' }, { name: 'file', filename: 'in.csv', data: 'a,b' }]));
      expect(ok.status, ok.text).toBe(200);
      expect(kestra.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });
  });
});

describe('a _flows/ file is analysed against Kestra’s own addresses', () => {
  it('refuses the upstream host and the configured internal hosts, not only loopback', async () => {
    const hosts = KestraHosts.of(['http://kestra.internal:8080', 'workers.lan']);
    const file = (uri: string) => ({ name: 'fileContent', filename: 'x.yml', data: Buffer.from(`id: f\nnamespace: company.team\ntasks:\n  - id: call\n    type: io.kestra.plugin.core.http.Request\n    uri: ${uri}\n`) });
    const referencesOf = async (uri: string) => (await flowsOfNamespaceFileWrite('upload', 'company.team', (n) => (n === 'path' ? '/_flows/x.yml' : undefined), file(uri), hosts))[0]!.references;
    for (const uri of ['http://KESTRA.internal.:8080/api/v1/main/flows/search', 'https://workers.lan/x']) {
      expect((await referencesOf(uri)).map((r) => r.what).join(' '), uri).toMatch(/Kestra's own address/);
    }
    expect((await referencesOf('https://example.org/x')).map((r) => r.what).join(' ')).not.toMatch(/Kestra's own address/);
  });
});

