/** Texts of the AI copilot panel. */
export const copilotTexts = {
  title: 'AI copilot',
  open: 'Ask the AI copilot',
  close: 'Close the AI copilot',
  prompt: 'What should change in this flow?',
  promptHint: 'Ctrl+Enter (⌘+Enter) sends. Perch checks the answer with Kestra’s validation and your rights before showing it.',
  generate: 'Suggest a change',
  generating: 'The copilot is writing and Perch is checking the answer…',
  changes: 'Suggested changes',
  noChange: 'The suggestion is the same as the editor’s content.',
  apply: 'Apply to the editor',
  applied: 'Applied to the editor: save it as usual (Ctrl+S), or undo.',
  undo: 'Undo',
  undone: 'The editor has its previous text again.',
  copy: 'Copy YAML',
  noEditor: 'The flow editor is not on this page: copy the YAML instead.',
  loadFailed: (message: string) => `Could not read the flow’s source: ${message}`,
};
