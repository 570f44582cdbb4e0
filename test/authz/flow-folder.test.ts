/**
 * backend/authz/flow-folder.ts on its own (issue 29): how a namespace-file path is read against Kestra's
 * `_flows/` folder, the flow Kestra would import from a file there, and which writes are refused with
 * which status. test/authz/namespace-file-flows.test.ts drives the same rules through a running Perch;
 * these call the functions directly, so mutation runs need no server.
 */
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { FlowFolderError, flowOfFolderFile, flowsOfNamespaceFileWrite, readFlowFolderPath } from '../../backend/authz/flow-folder.js';
import { KestraHosts, LOOPBACK_ONLY } from '../../backend/authz/kestra-hosts.js';
import type { FormPart } from '../../backend/authz/multipart-form.js';

const flowFile = (namespace: string, rest = '') => `id: sneaky\nnamespace: ${namespace}\n${rest}tasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;
const part = (data: string | Uint8Array, filename?: string): FormPart => ({ name: 'fileContent', filename, data: Buffer.from(data) });
const zip = (files: Record<string, string>) => zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])));
const queryOf = (values: Record<string, string>) => (name: string) => values[name];

/** The FlowFolderError a call throws (sync or async), or a failure when it throws nothing or something else. */
async function folderError(run: () => unknown): Promise<FlowFolderError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(FlowFolderError);
    return error as FlowFolderError;
  }
  throw new Error('expected a FlowFolderError');
}

describe('readFlowFolderPath', () => {
  it('reads /_flows/<plain name> as the canonical folder file', () => {
    for (const path of ['/_flows/x.yml', '/_flows/A0._-b', '/_flows/9']) expect(readFlowFolderPath(path)).toEqual({ inFolder: true, canonical: true });
  });

  it.each([
    ['no leading slash', '_flows/x.yml'],
    ['a dot segment', '/./_flows/x.yml'],
    ['a climb back', '/scripts/../_flows/x.yml'],
    ['a double slash', '//_flows/x.yml'],
    ['a trailing slash', '/_flows/x.yml/'],
    ['a sub-folder', '/_flows/deep/x.yml'],
    ['the folder itself', '/_flows'],
    ['a name starting with a dot', '/_flows/.x'],
    ['a name starting with a dash', '/_flows/-x'],
    ['a name with a space', '/_flows/x y.yml'],
    ['upper case', '/_FLOWS/x.yml'],
    ['back slashes', '\\_flows\\x.yml'],
    ['an encoded underscore', '/%5Fflows/x.yml'],
    ['an encoded underscore in lower-case hex', '/%5fflows/x.yml'],
    ['an encoded underscore beside a malformed escape', '/%5Fflows/x%zz.yml'],
    ['a malformed escape before an encoded underscore', '/%zz/../%5Fflows/x.yml'],
    ['a double-encoded slash', '/%252F_flows/x.yml'],
    ['an underscore encoded four times', '/%2525255Fflows/x.yml'],
    ['a multi-byte escape (full-width low line)', '/%EF%BC%BFflows/x.yml'],
    ['a trailing dot', '/_flows./x.yml'],
    ['trailing dots and spaces', '/_flows. .  /x.yml'],
    ['a leading space', '/ _flows/x.yml'],
    ['a zero-width space', '/_flo\u200Bws/x.yml'],
    ['a control character', '/_flo\u0007ws/x.yml'],
    ['a full-width letter', '/_ｆlows/x.yml'],
    ['a storage URI', 'kestra:///_flows/x.yml'],
    ['a scheme with digits, dots, dashes and pluses', 'a1+.-b:/_flows/x.yml'],
    // Kestra matches the folder on the path as given, before dot segments are resolved.
    ['a climb out of the folder', '/_flows/../x.yml'],
    ['an empty segment and a climb', '/_flows//..'],
  ])('reads %s as the folder, not canonical', (_name, path) => {
    expect(readFlowFolderPath(path)).toEqual({ inFolder: true, canonical: false });
  });

  it.each([
    ['an ordinary file', '/scripts/run.py', false],
    ['a file named like the folder, deeper down', '/docs/_flows.md', false],
    ['a folder whose name only starts like it', '/_flowsx/a.yml', false],
    ['a dot inside the name (only trailing dots and spaces go)', '/_fl.ows/a.yml', false],
    ['a colon that is no scheme at the start', '/docs:/_flows/x.yml', false],
    ['a scheme that starts with a digit', '1a:_flows/x.yml', false],
    ['an underscore encoded five times (decoding is bounded)', '/%252525255Fflows/x.yml', false],
    ['the root', '/', true],
    ['the empty path', '', true],
    ['dots and slashes only', '/././/', true],
    ['a climb back to the root', '/scripts/..', true],
    ['a climb above the root', '/../..', true],
    ['a folder of dots is a name, not a climb', '/.../x', false],
  ])('reads %s as outside the folder', (_name, path, root) => {
    expect(readFlowFolderPath(path)).toEqual({ inFolder: false, root });
  });
});

describe('flowOfFolderFile', () => {
  const where = 'The file /_flows/x.yml';
  const refusal = async (source: string, namespace = 'company.team') => {
    const error = await folderError(() => flowOfFolderFile(source, namespace, where));
    expect(error.status).toBe(400);
    expect(error.message.startsWith(`${where} would be imported by Kestra as a flow, and is refused: `)).toBe(true);
    return error.message.slice(`${where} would be imported by Kestra as a flow, and is refused: `.length);
  };

  it('rewrites the first top-level namespace line to the namespace of the URL and reads the flow', () => {
    const flow = flowOfFolderFile(flowFile('company.finance'), 'company.team', where);
    expect(flow).toMatchObject({ namespace: 'company.team', id: 'sneaky', line: 2, references: [] });
  });

  it('reads a file whose namespace line is its last, without a line break', () => {
    expect(flowOfFolderFile('id: sneaky\nnamespace: company.finance', 'company.team', where)).toMatchObject({ namespace: 'company.team', id: 'sneaky', line: 2 });
  });

  it('reads the file line by line after a comment line (a flow-style brace in a comment is no flow map)', () => {
    expect(flowOfFolderFile(`# {\n${flowFile('company.finance')}`, 'company.team', where)).toMatchObject({ namespace: 'company.team', id: 'sneaky', line: 3 });
  });

  it('keeps a CRLF line ending on the rewritten line', () => {
    const flow = flowOfFolderFile(flowFile('company.finance').replaceAll('\n', '\r\n'), 'company.team', where);
    expect(flow).toMatchObject({ namespace: 'company.team', id: 'sneaky', line: 2 });
  });

  it('lists what the imported flow reaches, against the Kestra hosts given (loopback by default)', () => {
    const source = flowFile('company.team', 'description: x\n').replace('tasks:\n', 'tasks:\n  - id: run\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.finance\n    flowId: payroll\n  - id: call\n    type: io.kestra.plugin.core.http.Request\n    uri: https://kestra.internal/api\n');
    expect(flowOfFolderFile(source, 'company.team', where).references.map((r) => [r.line, r.resource, r.action, r.namespace])).toEqual([[7, 'FLOW', 'EXECUTE', 'company.finance']]);
    const withHosts = flowOfFolderFile(source, 'company.team', where, KestraHosts.of(['kestra.internal']));
    expect(withHosts.references.map((r) => [r.line, r.resource, r.action, r.namespace])).toEqual([[7, 'FLOW', 'EXECUTE', 'company.finance'], [11, 'FLOW', 'UPDATE', null]]);
  });

  it('refuses a byte-order mark', async () => {
    expect(await refusal(`\uFEFF${flowFile('company.team')}`)).toBe('it starts with a byte-order mark');
  });

  it.each([['a lone carriage return', '\r'], ['a next-line character', '\u0085'], ['a line separator', '\u2028'], ['a paragraph separator', '\u2029']])('refuses %s', async (_name, brk) => {
    expect(await refusal(`id: sneaky${brk}namespace: company.finance\nnamespace: company.team\ntasks: []\n`)).toBe('it has line breaks other than LF or CRLF');
  });

  it.each([
    ['a quoted namespace key', 'id: sneaky\n"namespace": company.finance\ntasks: []\n'],
    ['an indented namespace line', 'id: sneaky\nlabels:\n  namespace: company.finance\ntasks: []\n'],
    ['no space after the colon', 'id: sneaky\nnamespace:company.finance\ntasks: []\n'],
    ['no namespace at all', 'id: sneaky\ntasks: []\n'],
  ])('refuses a file without a plain top-level namespace line: %s', async (_name, source) => {
    expect(await refusal(source)).toMatch(/^Kestra moves such a file into this namespace only through a plain, unquoted top-level `namespace: ` line, and it has none \(/);
  });

  it('refuses what the flow checks refuse, naming the line', async () => {
    expect(await refusal(`id: &i sneaky\nnamespace: company.team\nlabels:\n  x: *i\ntasks: []\n`)).toBe('YAML anchors (&name) are not accepted. (line 1)');
    expect(await refusal(`${flowFile('company.team')}---\n${flowFile('company.finance')}`)).toMatch(/^Several YAML documents \(---\) where one flow was expected\. \(line 7\)$/);
  });

  it('refuses what the flow checks refuse without a line as it is', async () => {
    // Kestra's rewrite leaves a flow whose id is no name: refused on the id node, whose line is known.
    expect(await refusal('namespace: company.team\n')).toBe('The flow needs a literal `id:` name. (line 1)');
    expect(await refusal('namespace: company.team\nid: "{{ x }}"\n')).toBe('The flow needs a literal `id:` name. (line 2)');
  });

  it('refuses a flow-style map, whose lines Kestra and a YAML parser read differently', async () => {
    expect(await refusal('{id: sneaky,\nnamespace: company.team\n}\n')).toBe('a flow file must be a block mapping (a flow-style `{…}` map reads differently line by line)');
  });

  it('refuses a URL namespace the rewritten line does not read back as', async () => {
    expect(await refusal(flowFile('company.team'), 'company.team #x'))
      .toBe("its first `namespace: ` line (line 2) is not the flow's own top-level namespace key, so Kestra and Perch would place the flow differently");
  });
});

describe('flowsOfNamespaceFileWrite', () => {
  const hosts = LOOPBACK_ONLY;
  const write = (kind: Parameters<typeof flowsOfNamespaceFileWrite>[0], query: Record<string, string>, file?: FormPart) =>
    flowsOfNamespaceFileWrite(kind, 'company.team', queryOf(query), file, hosts);

  it('imports an upload to /_flows/<file> as a flow of the URL namespace', async () => {
    const flows = await write('upload', { path: '/_flows/x.yml' }, part(flowFile('company.finance'), 'x.yml'));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ namespace: 'company.team', id: 'sneaky', line: 2 });
  });

  it('names the file in a refusal of its content', async () => {
    const error = await folderError(() => write('upload', { path: '/_flows/x.yml' }, part('id: sneaky\n', 'x.yml')));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/^The file \/_flows\/x\.yml would be imported by Kestra as a flow, and is refused: Kestra moves/);
  });

  it('finds no flow in an ordinary upload, an upload without a file, or without a path', async () => {
    expect(await write('upload', { path: '/scripts/a.yml' }, part(flowFile('company.finance'), 'a.yml'))).toEqual([]);
    expect(await write('upload', { path: '/_flows/x.yml' })).toEqual([]);
    expect(await write('upload', {}, part(flowFile('company.finance'), 'x.yml'))).toEqual([]);
    expect(await write('upload', { path: '/scripts/a.yml' }, part('not a flow at all: [', 'a.yml'))).toEqual([]);
  });

  it.each(['_flows/x.yml', '/%5Fflows/x.yml', '/_FLOWS/x.yml', '/_flows/deep/x.yml'])('refuses (400) an upload to _flows/ spelled %s, naming the path', async (path) => {
    const error = await folderError(() => write('upload', { path }, part(flowFile('company.team'), 'x.yml')));
    expect(error.status).toBe(400);
    expect(error.message).toBe(`The file ${path} reaches Kestra's _flows/ folder (where files become flows) by another spelling than /_flows/<file>: refused`);
  });

  it('imports every _flows/ entry of a ZIP and only those, whatever the case of .zip', async () => {
    const archive = zip({ 'scripts/a.py': 'print(1)', '_flows/a.yml': flowFile('company.finance').replace('sneaky', 'a'), '_flows/b.yml': flowFile('other').replace('sneaky', 'b') });
    for (const filename of ['archive.zip', 'ARCHIVE.ZIP']) {
      const flows = await write('upload', { path: '/archive.zip' }, part(archive, filename));
      expect(flows.map((f) => [f.namespace, f.id]).sort()).toEqual([['company.team', 'a'], ['company.team', 'b']]);
    }
    // Kestra unpacks by the file name: a ZIP stored under any path, or none, is read as one.
    expect(await write('upload', {}, part(archive, 'archive.zip'))).toHaveLength(2);
    // A file not named .zip is stored as it is.
    expect(await write('upload', { path: '/archive.bin' }, part(archive, 'archive.zip.bin'))).toEqual([]);
    expect(await write('upload', { path: '/archive.bin' }, part(archive))).toEqual([]);
  });

  it('reads both an upload to /_flows/ and the ZIP it is', async () => {
    const archive = zip({ '_flows/a.yml': flowFile('company.finance').replace('sneaky', 'a') });
    const error = await folderError(() => write('upload', { path: '/_flows/x.zip' }, part(archive, 'x.zip')));
    expect(error.message).toMatch(/^The file \/_flows\/x\.zip would be imported by Kestra as a flow, and is refused: /);
  });

  it('names the archive entry in a refusal', async () => {
    const bad = await folderError(() => write('upload', { path: '/a.zip' }, part(zip({ '_flows/x.yml': 'id: sneaky\n"namespace": company.finance\ntasks: []\n' }), 'a.zip')));
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/^The archive entry _flows\/x\.yml would be imported by Kestra as a flow, and is refused: Kestra moves/);
    const spelled = await folderError(() => write('upload', { path: '/a.zip' }, part(zip({ '_FLOWS/x.yml': flowFile('company.team') }), 'a.zip')));
    expect(spelled.status).toBe(400);
    expect(spelled.message).toBe("The archive entry _FLOWS/x.yml reaches Kestra's _flows/ folder (where files become flows) by another spelling than /_flows/<file>: refused");
  });

  it('reads an archive entry against the Kestra hosts given', async () => {
    const source = flowFile('company.team').replace('tasks:\n', 'tasks:\n  - id: call\n    type: io.kestra.plugin.core.http.Request\n    uri: https://kestra.internal/api\n');
    const archive = zip({ '_flows/x.yml': source });
    const refs = async (h: KestraHosts) => (await flowsOfNamespaceFileWrite('upload', 'company.team', queryOf({}), part(archive, 'a.zip'), h))[0]!.references;
    expect(await refs(LOOPBACK_ONLY)).toEqual([]);
    expect((await refs(KestraHosts.of(['kestra.internal']))).map((r) => r.what)).toEqual(["calls Kestra's own address (kestra.internal) directly, past Perch"]);
    const direct = await flowsOfNamespaceFileWrite('upload', 'company.team', queryOf({ path: '/_flows/x.yml' }), part(source, 'x.yml'), KestraHosts.of(['kestra.internal']));
    expect(direct[0]!.references.map((r) => r.resource)).toEqual(['FLOW']);
  });

  describe('moves, folders and deletions', () => {
    it.each([
      ['move', { from: '/_flows/x.yml', to: '/scripts/x.yml' }, 'The file moved "/_flows/x.yml"'],
      ['move', { from: '/scripts/x.yml', to: '/_flows/x.yml' }, 'The move target "/_flows/x.yml"'],
      ['move', { from: '/scripts', to: '_flows' }, 'The move target "_flows"'],
      ['directory', { path: '/_flows' }, 'The folder "/_flows"'],
      ['directory', { path: 'a/../_flows/sub' }, 'The folder "a/../_flows/sub"'],
      ['delete', { path: '_flows/x.yml' }, 'The path deleted "_flows/x.yml"'],
    ] as const)('refuses (403) a %s into or out of _flows/ (%j)', async (kind, query, what) => {
      const error = await folderError(() => write(kind, query));
      expect(error.status).toBe(403);
      expect(error.message).toBe(`${what} is in Kestra's _flows/ folder, where files become flows: Perch cannot check a flow it cannot read, so only an upload of the flow file itself (/_flows/<file>) is accepted there`);
    });

    it('refuses (403) a move onto the namespace root, which could bring a _flows/ folder', async () => {
      for (const to of ['/', '', '/scripts/..']) {
        const error = await folderError(() => write('move', { from: '/scripts', to }));
        expect(error.status).toBe(403);
        expect(error.message).toBe(`The move target ${JSON.stringify(to)} is the namespace's root: a folder moved there could bring a _flows/ folder, where files become flows`);
      }
    });

    it('lets ordinary moves, folders, deletions and the root as a source or folder through', async () => {
      expect(await write('move', { from: '/scripts/run.py', to: '/scripts/main.py' })).toEqual([]);
      expect(await write('move', { from: '/', to: '/scripts' })).toEqual([]);
      expect(await write('move', {})).toEqual([]);
      expect(await write('directory', { path: '/docs' })).toEqual([]);
      expect(await write('directory', { path: '/' })).toEqual([]);
      expect(await write('directory', {})).toEqual([]);
      expect(await write('delete', { path: '/docs/_flows.md' })).toEqual([]);
      expect(await write('delete', { path: '/' })).toEqual([]);
      expect(await write('delete', {})).toEqual([]);
    });
  });
});
