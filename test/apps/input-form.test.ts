/**
 * An app's form for every Kestra input type (issue 23, point 2): the control each type gets, its
 * default and whether it is required, and what a submission of it becomes for Kestra (or the error
 * shown at its field).
 */
import { describe, expect, it } from 'vitest';
import { readInputs, renderInputFields, type InputDef } from '../../backend/apps/input-form.js';
import type { FormPart } from '../../backend/authz/multipart-form.js';

const field = (name: string, data: string): FormPart => ({ name, data: Buffer.from(data) });
const sent = (defs: InputDef[], parts: FormPart[]) => {
  const read = readInputs(defs, parts);
  return { values: Object.fromEntries(read.parts.map((p) => [p.name, p.filename ?? p.data.toString()])), errors: read.errors };
};

describe('the form of a flow’s inputs', () => {
  it('gives each Kestra input type its control, with defaults and required marks', () => {
    const html = renderInputFields([
      { id: 's', type: 'STRING', defaults: 'hello', validator: '^[a-z]+$', maxLength: 10 },
      { id: 'i', type: 'INT', min: 1, max: 5 },
      { id: 'f', type: 'FLOAT', required: false },
      { id: 'b', type: 'BOOLEAN', defaults: true },
      { id: 'sel', type: 'SELECT', values: ['a', 'b'], defaults: 'b' },
      { id: 'multi', type: 'MULTISELECT', values: ['x', 'y', 'z'], defaults: ['x', 'z'] },
      { id: 'dt', type: 'DATETIME' },
      { id: 'd', type: 'DATE' },
      { id: 't', type: 'TIME' },
      { id: 'dur', type: 'DURATION', defaults: 'PT1H' },
      { id: 'j', type: 'JSON', defaults: { a: 1 } },
      { id: 'y', type: 'YAML' },
      { id: 'arr', type: 'ARRAY', itemType: 'STRING', defaults: ['one', 'two'] },
      { id: 'u', type: 'URI' },
      { id: 'e', type: 'EMAIL' },
      { id: 'secret', type: 'SECRET', defaults: 'never shown' },
      { id: 'file', type: 'FILE' },
      { id: 'expr', type: 'STRING', defaults: '{{ now() }}' },
    ]);
    expect(html).toContain('<input type="text" name="s" id="input-s" value="hello" pattern="^[a-z]+$" maxlength="10">');
    expect(html).toContain('<input type="number" name="i" id="input-i" required step="1" min="1" max="5">');
    expect(html).toContain('<input type="number" name="f" id="input-f" step="any">');
    expect(html).toContain('<option value="true" selected>true</option>');
    expect(html).toContain('<option value="b" selected>b</option>');
    expect(html).toMatch(/<select name="multi" id="input-multi" multiple><option value="x" selected>x<\/option><option value="y">y<\/option><option value="z" selected>z<\/option><\/select>/);
    expect(html).toContain('<input type="datetime-local" name="dt" id="input-dt" required step="1">');
    expect(html).toContain('<input type="date" name="d" id="input-d" required>');
    expect(html).toContain('<input type="time" name="t" id="input-t" required step="1">');
    expect(html).toContain('<input type="text" name="dur" id="input-dur" value="PT1H" pattern="P.*" placeholder="PT30M">');
    expect(html).toContain('<textarea name="j" id="input-j" rows="5">{\n  &quot;a&quot;: 1\n}</textarea>');
    expect(html).toContain('<textarea name="y" id="input-y" rows="5" required></textarea>');
    expect(html).toContain('<textarea name="arr" id="input-arr" rows="5" placeholder="one item per line">one\ntwo</textarea>');
    expect(html).toContain('<input type="url" name="u" id="input-u" required>');
    expect(html).toContain('<input type="email" name="e" id="input-e" required>');
    expect(html).toContain('<input type="password" name="secret" id="input-secret" autocomplete="off">');
    expect(html).not.toContain('never shown');
    expect(html).toContain('<input type="file" name="file" id="input-file" required>');
    // A default Kestra computes is left to Kestra.
    expect(html).toContain('<input type="text" name="expr" id="input-expr">');
    expect(html.match(/class="req"/g)).toHaveLength(8);
  });

  it('reads each type back into the text Kestra takes', () => {
    const defs: InputDef[] = [
      { id: 'i', type: 'INT' }, { id: 'f', type: 'FLOAT' }, { id: 'b', type: 'BOOL' }, { id: 'sel', type: 'SELECT', values: ['a', 'b'] },
      { id: 'multi', type: 'MULTISELECT', values: ['x', 'y'] }, { id: 'dt', type: 'DATETIME' }, { id: 'd', type: 'DATE' }, { id: 't', type: 'TIME' },
      { id: 'dur', type: 'DURATION' }, { id: 'j', type: 'JSON' }, { id: 'y', type: 'YAML' }, { id: 'arr', type: 'ARRAY' }, { id: 'u', type: 'URI' },
      { id: 'e', type: 'EMAIL' }, { id: 'secret', type: 'SECRET' }, { id: 'file', type: 'FILE' },
    ];
    const result = sent(defs, [
      field('i', '42'), field('f', '2.5'), field('b', 'false'), field('sel', 'b'), field('multi', 'x'), field('multi', 'y'),
      field('dt', '2026-03-01T10:30'), field('d', '2026-03-01'), field('t', '10:30'), field('dur', 'PT15M'), field('j', '{"k":[1]}'),
      field('y', 'a: 1'), field('arr', 'one\ntwo\n'), field('u', 'https://example.com/x'), field('e', 'ada@example.com'), field('secret', 's3cr3t'),
      { name: 'file', filename: 'data.csv', data: Buffer.from('a,b') }, field('undeclared', 'dropped'),
    ]);
    expect(result.errors).toEqual({});
    expect(result.values).toEqual({
      i: '42', f: '2.5', b: 'false', sel: 'b', multi: '["x","y"]', dt: '2026-03-01T10:30:00.000Z', d: '2026-03-01', t: '10:30:00',
      dur: 'PT15M', j: '{"k":[1]}', y: 'a: 1', arr: '["one","two"]', u: 'https://example.com/x', e: 'ada@example.com', secret: 's3cr3t', file: 'data.csv',
    });
  });

  it('names what is wrong at each field, and what is missing', () => {
    const defs: InputDef[] = [
      { id: 'i', type: 'INT', max: 5 }, { id: 'f', type: 'FLOAT' }, { id: 'b', type: 'BOOLEAN' }, { id: 'sel', type: 'SELECT', values: ['a'] },
      { id: 'multi', type: 'MULTISELECT', values: ['x'] }, { id: 'd', type: 'DATE' }, { id: 't', type: 'TIME' }, { id: 'dur', type: 'DURATION' },
      { id: 'j', type: 'JSON' }, { id: 'u', type: 'URI' }, { id: 'e', type: 'EMAIL' }, { id: 's', type: 'STRING', minLength: 3 },
      { id: 'file', type: 'FILE' }, { id: 'twice', type: 'STRING' }, { id: 'opt', type: 'STRING', required: false }, { id: 'dflt', type: 'INT', defaults: 1 },
    ];
    const { errors, values } = sent(defs, [
      field('i', '9'), field('f', 'abc'), field('b', 'yes'), field('sel', 'z'), field('multi', 'q'), field('d', '03/01/2026'), field('t', 'noon'),
      field('dur', '15 minutes'), field('j', '{oops'), field('u', 'not a uri'), field('e', 'ada'), field('s', 'ab'),
      field('file', 'not a file'), field('twice', 'a'), field('twice', 'b'),
    ]);
    expect(errors).toEqual({
      i: 'must be at most 5', f: 'must be a number', b: 'must be true or false', sel: 'must be one of the listed values',
      multi: 'must be among the listed values', d: 'must be a date (YYYY-MM-DD)', t: 'must be a time (HH:MM:SS)',
      dur: 'must be an ISO-8601 duration such as PT30M', j: 'must be valid JSON', u: 'must be an address (URI)', e: 'must be an email address',
      s: 'must hold at least 3 characters', file: 'is required', twice: 'was sent more than once',
    });
    // Optional inputs and those with a default may be left out: Kestra applies the default.
    expect(values).toEqual({});
    expect(sent([{ id: 'need', type: 'STRING' }], []).errors).toEqual({ need: 'is required' });
  });

  it('takes no text that Kestra would read as a file: a stored file’s URI anywhere, or a list of FILE items', () => {
    const defs: InputDef[] = [{ id: 's', type: 'STRING' }, { id: 'j', type: 'JSON' }, { id: 'files', type: 'ARRAY', itemType: 'FILE' }, { id: 'words', type: 'ARRAY', itemType: 'STRING' }];
    const { values, errors } = sent(defs, [
      field('s', 'kestra:///company/finance/payroll/executions/x/a.csv'),
      field('j', '{"f": "NSFILE://company.finance/keys.txt"}'),
      field('files', '/proc/self/environ'),
      field('words', 'alpha\nbeta'),
    ]);
    expect(errors).toEqual({ s: 'must not name a stored file (kestra:// or nsfile://)', j: 'must not name a stored file (kestra:// or nsfile://)', files: 'is a list of files, which this form cannot take' });
    expect(values).toEqual({ words: '["alpha","beta"]' });
  });
});
