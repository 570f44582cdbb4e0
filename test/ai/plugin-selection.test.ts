import { describe, expect, it } from 'vitest';
import { MAX_DOCUMENTED_TYPES, typesToDocument } from '../../backend/ai/plugin-selection.js';
import { summarizeProperties } from '../../backend/ai/kestra-grounding.js';

const INSTALLED = ['io.kestra.plugin.core.log.Log', 'io.kestra.plugin.core.http.Request', 'io.kestra.plugin.scripts.python.Script', 'io.kestra.plugin.scripts.shell.Script', 'io.kestra.plugin.core.trigger.Schedule'];
const body = (userPrompt: string, yaml?: string) => ({ conversationId: 'c', userPrompt, yaml: yaml ?? null });

describe('the plugin types whose properties go into a prompt', () => {
  it('takes the installed types the flow uses at any depth, then those the request names', () => {
    const yaml = 'id: a\nnamespace: n\ntasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n      - id: l\n        type: io.kestra.plugin.core.log.Log\n        message: hi\ntriggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n';
    // Parallel is not installed here: left out. Request named by its simple name, Log not twice.
    expect(typesToDocument(body('Add a Request after the Log', yaml), INSTALLED)).toEqual(['io.kestra.plugin.core.log.Log', 'io.kestra.plugin.core.trigger.Schedule', 'io.kestra.plugin.core.http.Request']);
  });

  it('names a type by its full class name, or by a simple name only when one installed type has it', () => {
    expect(typesToDocument(body('Use a Script here'), INSTALLED)).toEqual([]);
    expect(typesToDocument(body('Use io.kestra.plugin.scripts.python.Script here'), INSTALLED)).toEqual(['io.kestra.plugin.scripts.python.Script']);
    // A flow that does not parse yet gives no types, and is no error.
    expect(typesToDocument(body('add a log', 'tasks: [\n'), INSTALLED)).toEqual([]);
  });

  it('is bounded', () => {
    const many = Array.from({ length: 40 }, (_, i) => `io.example.T${i}`);
    expect(typesToDocument(body(many.join(' ')), many)).toHaveLength(MAX_DOCUMENTED_TYPES);
  });

  it('summarizes a JSON schema one property a line', () => {
    const schema = { properties: { uri: { type: 'string', title: 'The URI' }, options: { $ref: '#/definitions/Options' }, level: { enum: ['INFO', 'WARN'], default: 'INFO' }, x: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }, required: ['uri'] };
    expect(summarizeProperties('a.B', schema)).toBe('a.B:\n  uri (string, required) — The URI\n  options (Options)\n  level (one of INFO, WARN, default "INFO")\n  x (string | integer)');
    expect(summarizeProperties('a.B', undefined)).toBe('a.B:');
  });
});
