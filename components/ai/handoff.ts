/**
 * A proposed flow carried from one Kestra page to the flow editor (the execution page's "Apply" of a
 * fix): kept in the tab's sessionStorage for that one flow and taken once by the editor's copilot.
 */
const KEY = 'perch.copilot.proposal';

export interface Proposal {
  namespace: string;
  flowId: string;
  yaml: string;
  /** Where it comes from, for the status line (an execution id). */
  from: string;
}

export function handOver(proposal: Proposal): void {
  sessionStorage.setItem(KEY, JSON.stringify(proposal));
}

/** The proposal for this flow, removed from storage; undefined when there is none (or another flow's). */
export function takeProposal(namespace: string, flowId: string): Proposal | undefined {
  let proposal: Partial<Proposal> | undefined;
  try {
    proposal = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') ?? undefined;
  } catch {
    proposal = undefined;
  }
  if (proposal?.namespace !== namespace || proposal.flowId !== flowId || typeof proposal.yaml !== 'string') return undefined;
  sessionStorage.removeItem(KEY);
  return { namespace, flowId, yaml: proposal.yaml, from: String(proposal.from ?? '') };
}
