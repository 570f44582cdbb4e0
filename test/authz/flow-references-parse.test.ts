/**
 * How analyseFlowSource reads a source before it looks for references (issue 29): exactly which `---`
 * a multi-flow source may hold, which empty documents a stream may carry, the YAML a flow may use
 * (default tags, plain keys) and the exact refusal — message and line — for what it may not.
 */
import { describe, expect, it } from 'vitest';
import { analyseFlowSource } from '../../backend/authz/flow-references.js';

const STRAY = '"---" may only stand on a line of its own, between flows (Kestra splits a multi-flow source at every "---").';
const refused = (line: number | undefined, message: string) => ({ ok: false, line, message });
const accepted = (...flows: Array<[namespace: string, id: string, line: number]>) =>
  ({ ok: true, documents: flows.map(([namespace, id, line]) => ({ namespace, id, line, references: [], placement: { scripts: [] } })) });

describe('analyseFlowSource: document markers of a multi-flow source', () => {
  it.each([
    ['a marker followed by text, at the start', '---x\nid: a\nnamespace: x\n', 1],
    ['four dashes', 'id: a\nnamespace: x\n----\n', 3],
    ['a marker followed by a comment', 'id: a\nnamespace: x\n--- # c\n', 3],
    ['an indented marker', 'id: a\nnamespace: x\n  ---\n', 3],
    ['a marker inside a value', 'id: a\nnamespace: x\nd: a---\n', 3],
    ['a marker followed by text at the very end', 'id: a\nnamespace: x\n---x', 3],
    ['a second marker inside a later value', 'id: a\nnamespace: x\n---\nid: b\nnamespace: z\nd: "a---"\n', 6],
  ])('refuses %s', (_name, source, line) => {
    expect(analyseFlowSource(source, { multiDocument: true })).toEqual(refused(line, STRAY));
  });

  it('accepts a marker at the very end, or ending in CR LF, spaces or tabs', () => {
    expect(analyseFlowSource('id: a\nnamespace: x\n---', { multiDocument: true })).toEqual(accepted(['x', 'a', 2]));
    expect(analyseFlowSource('id: a\r\nnamespace: x\r\n---\r\nid: b\r\nnamespace: z\r\n', { multiDocument: true })).toEqual(accepted(['x', 'a', 2], ['z', 'b', 5]));
    expect(analyseFlowSource('---\nid: a\nnamespace: x\n--- \t\nid: b\nnamespace: z\n', { multiDocument: true })).toEqual(accepted(['x', 'a', 3], ['z', 'b', 6]));
  });

  it('does not look for stray markers in a single flow (YAML reads the value as it is)', () => {
    expect(analyseFlowSource('id: a\nnamespace: x\nd: a---\n')).toEqual(accepted(['x', 'a', 2]));
  });
});

describe('analyseFlowSource: empty documents', () => {
  it('refuses a source of empty documents only, with or without a stream', () => {
    for (const multiDocument of [false, true]) {
      expect(analyseFlowSource('---\n---\n', { multiDocument })).toEqual({ ok: false, message: 'The flow source is empty.' });
      expect(analyseFlowSource('# only a comment\n', { multiDocument })).toEqual({ ok: false, message: 'The flow source is empty.' });
    }
  });

  it('refuses a single empty document as no mapping', () => {
    expect(analyseFlowSource('')).toEqual({ ok: false, message: 'The flow source is empty.' });
    expect(analyseFlowSource('---\n')).toEqual(refused(1, 'A flow must be a YAML mapping.'));
    // A trailing empty document is dropped, even from a single flow.
    expect(analyseFlowSource('---\nx\n---\n\n')).toEqual(refused(2, 'A flow must be a YAML mapping.'));
  });

  it('drops the empty documents of a stream, wherever they stand', () => {
    expect(analyseFlowSource('---\n---\nid: a\nnamespace: x\n---\n---\nid: b\nnamespace: z\n---\n', { multiDocument: true })).toEqual(accepted(['x', 'a', 4], ['z', 'b', 8]));
  });

  it('names the line where the second document starts', () => {
    expect(analyseFlowSource('\n\nid: a\nnamespace: x\n---\n\nid: b\nnamespace: z\n')).toEqual(refused(5, 'Several YAML documents (---) where one flow was expected.'));
  });
});

describe('analyseFlowSource: YAML a flow may and may not use', () => {
  it('accepts the default tags !!str, !!map and !!seq, and %TAG lines that only restate ! and !!', () => {
    expect(analyseFlowSource('id: !!str a\nnamespace: !!str x\nm: !!map {a: 1}\ns: !!seq [1]\n')).toEqual(accepted(['x', 'a', 2]));
    expect(analyseFlowSource('%TAG ! tag:example.com,2000:\n---\nid: a\nnamespace: x\n')).toEqual(accepted(['x', 'a', 4]));
    expect(analyseFlowSource('%TAG !! tag:example.com,2000:\n---\nid: a\nnamespace: x\n')).toEqual(accepted(['x', 'a', 4]));
  });

  it('accepts map entries without a value, in a flow map and as an explicit key', () => {
    expect(analyseFlowSource('id: a\nnamespace: x\nlabels: {a, b: 1}\n? c\nm: !!map\n  a: 1\n')).toEqual(accepted(['x', 'a', 2]));
  });

  it.each([
    ['an unclosed flow sequence', 'id: [a\nnamespace: x\n', 2, 'Flow sequence in block collection must be sufficiently indented and end with a ].'],
    ['an unclosed quote', 'id: a\nnamespace: x\nb: "unterminated\n', 4, 'Missing closing "quote.'],
    // Positions of ten and more (the parser's own " at line L, column C:" suffix is cut whole).
    ['an unclosed quote past line 10', `${'\n'.repeat(11)}id: a\nnamespace: x\nb: "unterminated\n`, 15, 'Missing closing "quote.'],
    ['a nested mapping past column 10', 'id: a\nnamespace: x\nkeyyyyyyyyy: a: b\n', 3, 'Nested mappings are not allowed in compact mappings.'],
    ['a bad indentation', 'id: a\n  bad: indent\nnamespace: x\n', 1, 'Nested mappings are not allowed in compact mappings.'],
    ['complex keys, even when they differ', '? [a]\n: 1\n? [b]\n: 2\nid: a\nnamespace: x\n', 1, 'Only plain keys are accepted.'],
    ['an unknown directive (a parser warning)', '%FOO bar\n---\nid: a\nnamespace: x\n', 1, 'Unknown directive %FOO.'],
    ['an explicit %YAML 1.2', '%YAML 1.2\n---\nid: a\nnamespace: x\n', 3, 'YAML directives (%YAML, %TAG) are not accepted.'],
    ['keys 1 and "1"', 'id: a\nnamespace: x\n1: a\n"1": b\n', 4, 'Map keys must be unique.'],
    ['an anchor deep in a list', 'id: a\nnamespace: x\nt:\n  - &a x\n', 4, 'YAML anchors (&name) are not accepted.'],
    ['an alias', 'id: a\nnamespace: x\nt: *a\n', 3, 'YAML aliases (*name) are not accepted.'],
    ['a !!int tag', 'id: a\nnamespace: x\nt: !!int 1\n', 3, 'YAML tag tag:yaml.org,2002:int is not accepted.'],
    ['a merge key', 'id: a\nnamespace: x\n<<: {b: 1}\n', 3, 'YAML merge keys (<<) are not accepted.'],
    ['a sequence', '- a\n', 1, 'A flow must be a YAML mapping.'],
    // A `Map` visitor used to take the place of the node checks for mappings: anchors and tags on maps passed.
    ['an anchor on a mapping', 'id: a\nnamespace: x\nm: &anc {b: 1}\n', 3, 'YAML anchors (&name) are not accepted.'],
    ['an anchor on the root mapping', '&r\nid: a\nnamespace: x\n', 2, 'YAML anchors (&name) are not accepted.'],
    ['a !!set tag (a YAML 1.1 set, not a map upstream)', 'id: a\nnamespace: x\nm: !!set\n  ? a\n', 4, 'YAML tag tag:yaml.org,2002:set is not accepted.'],
  ])('refuses %s', (_name, source, line, message) => {
    expect(analyseFlowSource(source)).toEqual(refused(line, message));
  });
});

describe('analyseFlowSource: flow names', () => {
  const NS = 'The flow needs a literal `namespace:` name.';
  const ID = 'The flow needs a literal `id:` name.';
  it.each([
    ['a number id', 'id: 12\nnamespace: x\n', 1, ID],
    ['an id with a space', 'id: "a b"\nnamespace: x\n', 1, ID],
    ['an empty id', 'namespace: x\nid: \n', 2, ID],
    ['a namespace with a space', 'id: a\nnamespace: "x y"\n', 2, NS],
    ['a quoted "<<" namespace', 'id: a\nnamespace: "<<"\n', 2, NS],
    ['a YAML 1.1 boolean in any case', 'id: a\nnamespace: Yes\n', 2, NS],
    ['a YAML 1.1 null in capitals', 'id: a\nnamespace: NULL\n', 2, NS],
    ['the YAML 1.1 boolean y', 'id: a\nnamespace: y\n', 2, NS],
    ['the YAML 1.1 boolean n', 'id: a\nnamespace: N\n', 2, NS],
    ['the YAML 1.1 boolean off', 'id: a\nnamespace: off\n', 2, NS],
    ['a hexadecimal number', 'id: a\nnamespace: 0x1F\n', 2, NS],
    ['a sexagesimal number', 'id: a\nnamespace: 1:20\n', 2, NS],
    ['a float without a leading digit', 'id: a\nnamespace: .5\n', 2, NS],
    ['a leading underscore', 'id: a\nnamespace: _x\n', 2, NS],
    ['infinity (a YAML number)', 'id: a\nnamespace: .inf\n', 2, NS],
    ['not a number (a YAML number)', 'id: a\nnamespace: .NaN\n', 2, NS],
    ['a leading dash', 'id: a\nnamespace: -a\n', 2, NS],
    ['no namespace', 'id: a\n', 1, NS],
    ['no id, after the namespace', 'namespace: x\n', 1, ID],
  ])('refuses %s', (_name, source, line, message) => {
    expect(analyseFlowSource(source)).toEqual(refused(line, message));
  });

  it.each([['x.1'], ['1.x'], ['a-b'], ['a_b'], ['yes.no'], ['Ab9'], ['"on"'], ["'1e3'"], ['n0'], ['nullable']])('accepts the namespace %s', (ns) => {
    expect(analyseFlowSource(`id: a\nnamespace: ${ns}\n`)).toEqual(accepted([ns.replace(/^["']|["']$/g, ''), 'a', 2]));
  });
});
