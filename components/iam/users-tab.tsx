import { useEffect, useState } from 'preact/hooks';
import { send } from '../app/api';
import { strings } from '../app/strings';
import { apiUserSchema, type ApiUserSummary } from '../../lib/schemas/users';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { loadUser, loadUsers, usersPath } from './api';
import { ActionError, Badge, FormDialog, RowActions, useAction, SearchedList, SearchedToolbar, useSearchedList, useTabDialog } from './common';

const t = strings.iam.users;

type Open =
  | { kind: 'create' }
  | { kind: 'edit'; user: ApiUserSummary }
  | { kind: 'password'; user: ApiUserSummary }
  | { kind: 'delete'; user: ApiUserSummary };

/** Users of the instance (instance owners only: the routes are /api/v1/users…). */
export function UsersTab() {
  const searched = useSearchedList('iam:users', loadUsers);
  const { open, setOpen, close, done } = useTabDialog<Open>(searched.list);
  const action = useAction();
  return (
    <div id="perch-iam-users">
      <SearchedToolbar searched={searched} texts={t} createTestId="user-create" onCreate={() => setOpen({ kind: 'create' })} />
      <ActionError error={action.error} onDismiss={action.clear} />
      <SearchedList
        searched={searched}
        texts={t}
        rowTestId="user-row"
        rowIdAttribute="data-user-id"
        columns={[
          { header: t.email, cell: (user) => user.username },
          { header: t.name, cell: (user) => (user.displayName !== user.username ? user.displayName : '') },
          {
            header: t.status,
            cell: (user) => (
              <div class="flex gap-1">
                {user.disabled ? <Badge tone="danger">{t.disabled}</Badge> : <Badge>{t.enabled}</Badge>}
                {user.superAdmin && <Badge tone="accent">{t.owner}</Badge>}
              </div>
            ),
          },
        ]}
        actions={(user) => (
          <RowActions>
            <Button variant="ghost" aria-label={t.editOf(user.username)} data-testid="user-edit" onClick={() => setOpen({ kind: 'edit', user })}>{strings.common.edit}</Button>
            <Button
              variant="ghost"
              aria-label={(user.disabled ? t.enableOf : t.disableOf)(user.username)}
              data-testid="user-toggle"
              onClick={() => action.run(() => send('patch', usersPath(user.id), { disabled: !user.disabled }, apiUserSchema), searched.list.reload)}
            >
              {user.disabled ? t.enable : t.disable}
            </Button>
            <Button variant="ghost" aria-label={t.resetPasswordOf(user.username)} data-testid="user-password" onClick={() => setOpen({ kind: 'password', user })}>{t.resetPassword}</Button>
            <Button variant="ghost" aria-label={t.deleteOf(user.username)} data-testid="user-delete" onClick={() => setOpen({ kind: 'delete', user })}>{strings.common.delete}</Button>
          </RowActions>
        )}
      />
      {open?.kind === 'create' && <UserForm onClose={close} onDone={done} />}
      {open?.kind === 'edit' && <EditUser id={open.user.id} onClose={close} onDone={done} />}
      {open?.kind === 'password' && <ResetPassword user={open.user} onClose={close} onDone={done} />}
      {open?.kind === 'delete' && (
        <ConfirmDialog title={t.deleteTitle} onClose={close} onConfirm={() => send('delete', usersPath(open.user.id)).then(() => searched.list.reload())}>
          {t.deleteConfirm(open.user.username)}
        </ConfirmDialog>
      )}
    </div>
  );
}

interface UserValues {
  email: string;
  firstName: string;
  lastName: string;
  password: string;
}

/** Create (with an optional password) or edit (name and email) a user. */
function UserForm({ initial, id, onClose, onDone }: { initial?: UserValues; id?: string; onClose: () => void; onDone: () => void }) {
  const [values, setValues] = useState<UserValues>(initial ?? { email: '', firstName: '', lastName: '', password: '' });
  const set = (key: keyof UserValues) => (event: { currentTarget: HTMLInputElement }) => setValues({ ...values, [key]: event.currentTarget.value });
  const names = { firstName: values.firstName.trim() || undefined, lastName: values.lastName.trim() || undefined };
  return (
    <FormDialog
      title={id ? t.editTitle : t.createTitle}
      submitLabel={id ? strings.common.save : strings.common.create}
      testId="user-form"
      onClose={onClose}
      onSubmit={async () => {
        if (id) await send('patch', usersPath(id), { email: values.email.trim(), ...names }, apiUserSchema);
        else await send('post', usersPath(), { email: values.email.trim(), ...names, ...(values.password ? { password: values.password } : {}) }, apiUserSchema);
        onDone();
      }}
    >
      <TextField label={t.email} type="email" name="email" required autoFocus value={values.email} onInput={set('email')} />
      <div class="grid grid-cols-2 gap-3">
        <TextField label={t.firstName} name="firstName" value={values.firstName} onInput={set('firstName')} />
        <TextField label={t.lastName} name="lastName" value={values.lastName} onInput={set('lastName')} />
      </div>
      {!id && <TextField label={t.password} type="password" name="password" autoComplete="new-password" hint={t.passwordHint} value={values.password} onInput={set('password')} />}
    </FormDialog>
  );
}

/** Loads the full user (first and last name are not in the list rows) before editing. */
function EditUser({ id, onClose, onDone }: { id: string; onClose: () => void; onDone: () => void }) {
  const [state, setState] = useState<{ values?: UserValues; error?: unknown }>({});
  useEffect(() => {
    loadUser(id).then(
      (u) => setState({ values: { email: u.email, firstName: u.firstName ?? '', lastName: u.lastName ?? '', password: '' } }),
      (error: unknown) => setState({ error }),
    );
  }, [id]);
  if (state.values) return <UserForm id={id} initial={state.values} onClose={onClose} onDone={onDone} />;
  return (
    <Dialog title={t.editTitle} onClose={onClose}>
      {state.error !== undefined ? <ErrorNotice error={state.error} /> : <Loading />}
    </Dialog>
  );
}

function ResetPassword({ user, onClose, onDone }: { user: ApiUserSummary; onClose: () => void; onDone: () => void }) {
  const [password, setPassword] = useState('');
  return (
    <FormDialog
      title={t.resetPasswordTitle(user.username)}
      submitLabel={t.setPassword}
      onClose={onClose}
      onSubmit={async () => {
        await send('patch', usersPath(user.id, '/password'), { password }, apiUserSchema);
        onDone();
      }}
    >
      <TextField label={t.newPassword} type="password" autoComplete="new-password" required autoFocus hint={t.resetPasswordHint} value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
    </FormDialog>
  );
}
