import { Busboy } from '@fastify/busboy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FormPart, readFormParts } from '../../backend/authz/multipart-form.js';
import { matchPolicy } from '../../backend/authz/policy-map.js';

/**
 * One multipart form (issue 16 point 3). Whatever body Perch's strict reader accepts, a second,
 * independent reader (Busboy, the parser Perch used before) must see the very same parts: same names,
 * same file names, same bytes, same count. Bodies it could read differently are refused.
 */
const BOUNDARY = 'b0undary';

function readWithBusboy(contentType: string, body: Buffer): Promise<FormPart[]> {
  return new Promise((resolve, reject) => {
    const parts: FormPart[] = [];
    const parser = new Busboy({ headers: { 'content-type': contentType }, preservePath: true });
    parser.on('file', (name, stream, filename) => {
      // In body order: the file event comes with its part's headers, its bytes later.
      const found: FormPart = { name, filename, data: Buffer.alloc(0) };
      parts.push(found);
      stream.on('data', (c: Buffer) => (found.data = Buffer.concat([found.data, c])));
    });
    // Busboy hands fields over as text (UTF-8 decoded): compared as such below.
    parser.on('field', (name, value) => parts.push({ name, data: Buffer.from(value, 'utf8') }));
    const timer = setTimeout(() => reject(new Error('Busboy did not finish')), 1000);
    parser.on('error', (e: Error) => (clearTimeout(timer), reject(e)));
    parser.on('finish', () => (clearTimeout(timer), resolve(parts)));
    parser.end(body);
  });
}

const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
/** Data made of the pieces that confuse multipart readers. */
const trickyData = fc.array(fc.constantFrom('\r\n', '--', BOUNDARY, `--${BOUNDARY}`, 'x', '\r', '\n', ' ', '"'), { maxLength: 8 }).map((p) => Buffer.from(p.join(''), 'latin1'));
const part = fc.record({
  name: fc.oneof({ arbitrary: fc.constantFrom('fileContent', 'fileUpload', 'a', 'in_1', 'x.y'), weight: 4 }, { arbitrary: fc.constantFrom('bad name', 'n"q', ''), weight: 1 }),
  filename: fc.option(fc.constantFrom('a.yml', 'x.zip', 'dir/a.yml', '..\\a', 'a;b.yml', ''), { nil: undefined }),
  data: fc.oneof(bytes, trickyData),
  extraHeader: fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 3 },
    { arbitrary: fc.constantFrom('Content-Type: text/plain', 'Content-Transfer-Encoding: base64', 'X-Other: 1', 'content-disposition: form-data; name="twice"'), weight: 1 },
  ),
});

function build(parts: Array<{ name: string; filename?: string; data: Buffer; extraHeader?: string }>, tail: string, head: string): Buffer {
  return Buffer.concat([
    Buffer.from(head, 'latin1'),
    ...parts.flatMap((p) => [
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n${p.extraHeader ? `${p.extraHeader}\r\n` : ''}\r\n`, 'latin1'),
      p.data,
      Buffer.from('\r\n', 'latin1'),
    ]),
    Buffer.from(`--${BOUNDARY}--${tail}`, 'latin1'),
  ]);
}

describe('the strict multipart reader', () => {
  it('accepts only bodies a second reader sees part for part the same', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 4 }), fc.constantFrom('', '\r\n', '', '\r\n', '\r\nepilogue', 'x'), fc.constantFrom('', '', '', 'preamble\r\n', '\r\n'), async (parts, tail, head) => {
        const body = build(parts, tail, head);
        const contentType = `multipart/form-data; boundary=${BOUNDARY}`;
        let mine: FormPart[];
        try {
          mine = readFormParts(contentType, body);
        } catch {
          return;
        }
        accepted++;
        const theirs = await readWithBusboy(contentType, body);
        const seen = (p: FormPart) => [p.name, p.filename, p.filename === undefined ? p.data.toString('utf8') : p.data.toString('hex')];
        expect(theirs.map(seen)).toEqual(mine.map(seen));
      }),
      { numRuns: 800 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it.each([
    ['two boundary parameters', `multipart/form-data; boundary=${BOUNDARY}; boundary=other`],
    ['another parameter', `multipart/form-data; boundary=${BOUNDARY}; charset=utf-8`],
    ['another multipart type', `multipart/mixed; boundary=${BOUNDARY}`],
    ['no boundary', 'multipart/form-data'],
  ])('refuses a content type with %s', (_name, contentType) => {
    expect(() => readFormParts(contentType, build([], '', ''))).toThrow(/boundary/);
  });
});

describe('every multipart operation Perch forwards has its one form', () => {
  // The OSS operations whose request body the spec declares multipart/form-data (kestra-ee-openapi.yml).
  it.each([
    ['POST', '/api/v1/main/executions/e1/actions/replay-with-inputs', 'inputs'],
    ['POST', '/api/v1/main/executions/e1/actions/resume', 'inputs'],
    ['POST', '/api/v1/main/executions/e1/actions/resume/validate', 'inputs'],
    ['POST', '/api/v1/main/executions/company.team/hello', 'inputs'],
    ['POST', '/api/v1/main/executions/company.team/hello/validate', 'inputs'],
    ['POST', '/api/v1/main/flows/import', 'fileUpload'],
    ['POST', '/api/v1/main/flows/validate', 'fileUpload'],
    ['POST', '/api/v1/main/namespaces/company.team/files', 'fileContent'],
  ])('%s %s', (method, path, takes) => {
    const form = matchPolicy(method, path)?.row.form;
    expect(form).toBeDefined();
    expect('inputs' in form! ? 'inputs' : form!.parts.join()).toBe(takes);
  });
});
