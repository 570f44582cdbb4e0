import type { Principal } from '../auth/sessions.js';
import { analyseFlowSource } from '../authz/flow-references.js';
import type { KestraAuthorizer } from '../authz/kestra-authorizer.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import type { AiKestraClient } from './kestra-grounding.js';

/**
 * Whether a suggested flow could be saved by the person who asked: the proxy's own decision for the
 * save it would be (PUT of the flow in the editor when the suggestion keeps its namespace and id,
 * POST of a new flow otherwise: rights in the namespace, ambiguous YAML, references beyond the
 * person's rights), then Kestra's flow validation. Returns the problems, for the model to fix.
 */
export interface FlowCheckInput {
  suggestion: string;
  principal: Principal;
  /** The flow in the editor, if any. */
  current?: string | null;
  /** The namespace the person asked for, if any: the suggestion must stay in it. */
  namespace?: string | null;
}

const seg = encodeURIComponent;

/** namespace and id of a flow source, when Perch can read them. */
function flowName(source: string | null | undefined): { namespace: string; id: string } | null {
  if (!source) return null;
  const parsed = analyseFlowSource(source);
  return parsed.ok ? parsed.documents[0]! : null;
}

export async function checkSuggestion(authorizer: KestraAuthorizer, kestra: AiKestraClient, input: FlowCheckInput): Promise<string[]> {
  const parsed = analyseFlowSource(input.suggestion);
  if (!parsed.ok) return [`Perch cannot read this flow${parsed.line ? ` (line ${parsed.line})` : ''}: ${parsed.message}`];
  const flow = parsed.documents[0]!;
  if (input.namespace && flow.namespace !== input.namespace) {
    return [`The flow must stay in namespace ${input.namespace}, not ${flow.namespace}.`];
  }
  const current = flowName(input.current);
  const updates = current !== null && current.namespace === flow.namespace && current.id === flow.id;
  const verdict = await authorizer.authorize({
    method: updates ? 'PUT' : 'POST',
    path: updates ? `/api/v1/${KESTRA_TENANT}/flows/${seg(flow.namespace)}/${seg(flow.id)}` : `/api/v1/${KESTRA_TENANT}/flows`,
    query: '',
    contentType: 'application/x-yaml',
    principal: input.principal,
    readBody: async () => Buffer.from(input.suggestion, 'utf8'),
  });
  if (!verdict.ok) return [`The person asking could not save this flow (${verdict.status}): ${verdict.message}`];
  return (await kestra.validate(input.suggestion)).map((c) => `Kestra's validation: ${c}`);
}
