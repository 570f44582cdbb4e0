/**
 * Kestra 2.0's Flow trigger `dependsOn` (core/.../plugin/core/trigger/Flow.java @ c94e7743, the 2.0 line): each
 * entry is its own condition, matching executions of `namespace` exactly (no namespace: any), and the trigger
 * hands the matched executions' outputs on. The flow check reads each entry as the namespace heard; an entry
 * without one, as every namespace. A text `when` is a Pebble gate that only narrows.
 */
import { describe, expect, it } from 'vitest';
import { analyseFlowSource } from '../../backend/authz/flow-references.js';

/** The executions a flow's Flow trigger listens to: `ACTION namespace` (null: every namespace). */
const heard = (triggerBody: string): string[] => {
  const r = analyseFlowSource(`id: demo\nnamespace: company.team\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Flow\n${triggerBody}`);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.documents[0]!.references.filter((x) => x.resource === 'EXECUTION').map((x) => `${x.action} ${x.namespace}`).sort();
};

describe('a 2.0 Flow trigger with dependsOn', () => {
  it('hears the namespace each dependency names, nothing wider', () => {
    expect(heard(`    dependsOn:
      - namespace: company.a
        flowId: extract
        states: [SUCCESS]
      - namespace: company.b
        flowId: load
`)).toEqual(['ACCESS_OUTPUTS company.a', 'ACCESS_OUTPUTS company.b', 'VIEW company.a', 'VIEW company.b']);
  });

  it('hears every namespace when one dependency names none (Kestra then matches any namespace)', () => {
    expect(heard(`    dependsOn:
      - namespace: company.a
        flowId: extract
      - flowId: load
`)).toContain('VIEW null');
  });

  it('keeps a dependency bounded under a text when, and stays bounded with mode ANY', () => {
    expect(heard(`    mode: ANY
    when: "{{ trigger.namespace == 'company.a' }}"
    dependsOn:
      - namespace: company.a
        flowId: extract
`)).toEqual(['ACCESS_OUTPUTS company.a', 'VIEW company.a']);
  });

  it('still hears every namespace with only a text when', () => {
    expect(heard(`    when: "{{ flow.namespace | startsWith('company') }}"
`)).toEqual(['ACCESS_OUTPUTS null', 'VIEW null']);
  });

  it('reads a namespace written as an expression as every namespace', () => {
    expect(heard(`    dependsOn:
      - namespace: "{{ vars.ns }}"
        flowId: extract
`)).toContain('VIEW null');
  });
});
