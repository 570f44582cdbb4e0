import { anchorSelector } from '../app/anchors';

/**
 * The stock flow editor as a person uses it, from outside Kestra's app (the extension's isolated world
 * cannot reach Monaco's objects): its text input is the textarea inside the `flowEditor` landmark
 * (Monaco's textarea.inputarea).
 */
export function editorInput(root: ParentNode = document): HTMLTextAreaElement | null {
  return root.querySelector<HTMLTextAreaElement>(`${anchorSelector('flowEditor')} textarea`);
}

/**
 * Replaces the editor's whole text as typing would: select all, then the browser's insertText editing
 * command, which the editor records on its own undo stack (Ctrl/Cmd+Z in the editor takes it back).
 * The synthetic Ctrl/Cmd+A is what Monaco binds to "select all"; a plain textarea is selected by select().
 * False when the editor is not on the page or refused the text.
 */
export function replaceEditorText(text: string, root: ParentNode = document): boolean {
  const input = editorInput(root);
  if (!input) return false;
  input.focus();
  input.select();
  const mac = /mac/i.test(navigator.platform);
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'a', code: 'KeyA', ctrlKey: !mac, metaKey: mac, bubbles: true, cancelable: true }));
  // execCommand is deprecated but remains the one way to edit through the browser's undoable editing path.
  return document.execCommand('insertText', false, text);
}
