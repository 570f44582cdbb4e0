import { Fragment, type ComponentChildren } from 'preact';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import type { useEditableList } from './use-load';

type EditableList<T> = ReturnType<typeof useEditableList<T>>;

/**
 * Below an editable list: the "new" button or the open form, and the delete confirmation.
 * The form gets the item (undefined for a new one) and is keyed by it, so switching items starts afresh.
 */
export function ListEditor<T extends { id: string }>(props: {
  state: EditableList<T>;
  newLabel: string;
  form: (item: T | undefined, done: { onSaved: () => void; onCancel: () => void }) => ComponentChildren;
  deleteTitle: string;
  remove: (item: T) => Promise<unknown>;
  deleteBody: (item: T) => ComponentChildren;
}) {
  const { list, editing, setEditing, deleting, setDeleting, saved } = props.state;
  return (
    <>
      {editing === null ? (
        <div class="mt-3"><Button variant="primary" onClick={() => setEditing('new')}>{props.newLabel}</Button></div>
      ) : (
        <Fragment key={editing === 'new' ? 'new' : editing.id}>{props.form(editing === 'new' ? undefined : editing, { onSaved: saved, onCancel: () => setEditing(null) })}</Fragment>
      )}
      {deleting && (
        <ConfirmDialog title={props.deleteTitle} onConfirm={() => props.remove(deleting).then(list.reload)} onClose={() => setDeleting(null)}>
          {props.deleteBody(deleting)}
        </ConfirmDialog>
      )}
    </>
  );
}
