/** Texts of the AI copilot panel. */
export const copilotTexts = {
  title: 'AI copilot',
  open: 'Ask the AI copilot',
  close: 'Close the AI copilot',
  prompt: 'What should change in this flow?',
  promptHint: 'Ctrl+Enter (⌘+Enter) sends. Perch checks the answer with Kestra’s validation and your rights before showing it.',
  generate: 'Suggest a change',
  generating: 'The copilot is writing and Perch is checking the answer…',
  retrying: (attempt: number) => `Perch’s checks refused that answer; the copilot is trying again (attempt ${attempt})…`,
  problems: 'What Perch’s checks refused in the previous answer:',
  streaming: 'The copilot’s answer so far',
  cut: 'The answer stopped before Perch had checked it: try again.',
  changes: 'Suggested changes',
  noChange: 'The suggestion is the same as the editor’s content.',
  apply: 'Apply to the editor',
  applied: 'Applied to the editor: save it as usual (Ctrl+S), or undo.',
  undo: 'Undo',
  undone: 'The editor has its previous text again.',
  copy: 'Copy YAML',
  noEditor: 'The flow editor is not on this page: copy the YAML instead.',
  loadFailed: (message: string) => `Could not read the flow’s source: ${message}`,
  handedOver: (executionId: string) => `The fix proposed for execution ${executionId}: review the changes, then apply them to the editor.`,
};

/** Texts of the AI actions on a failed execution's page. */
export const executionHelpTexts = {
  title: 'AI copilot on this failure',
  explain: 'Explain this failure',
  fix: 'Propose a fix',
  explaining: 'The copilot is reading the execution, its logs and its flow…',
  explanation: 'Why it failed',
  fixing: 'The copilot is writing a fix and Perch is checking it…',
  fixChanges: 'Proposed fix (against the flow’s current source)',
  apply: 'Open in the flow editor',
  applyHint: 'The flow editor opens with this fix ready to apply (undoable); nothing is saved until you save.',
  redacted: 'Perch sends the failed task runs and the last log lines, with the values of this tenant’s secrets replaced.',
};
