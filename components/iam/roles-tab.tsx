import { useEffect, useState } from 'preact/hooks';
import { send } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import type { Permissions } from '../../lib/authz/catalogue';
import { apiRoleDetailSchema, type ApiRoleDetail, type ApiRoleSummary } from '../../lib/schemas/iam';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { Dialog } from '../ui/dialog';
import { CheckboxField, TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { useCached } from '../ui/use-cached';
import { loadCatalogue, loadRole, loadRoles, rolesPath } from './api';
import { Badge, FormDialog, RowActions, SearchedList, SearchedToolbar, useSearchedList, useTabDialog } from './common';
import { PermissionEditor } from './permission-editor';

const t = strings.iam.roles;

type Open = { kind: 'create' } | { kind: 'edit'; role: ApiRoleSummary } | { kind: 'delete'; role: ApiRoleSummary };

/** Managed roles (read-only) and custom roles (created, edited and deleted here). */
export function RolesTab({ tenant, me }: { tenant: string; me: Me }) {
  const searched = useSearchedList(`iam:roles:${tenant}`, (page, query) => loadRoles(tenant, page, query));
  const { open, setOpen, close, done } = useTabDialog<Open>(searched.list);
  return (
    <div id="perch-iam-roles">
      <SearchedToolbar searched={searched} texts={t} createTestId="role-create" onCreate={can(me, 'ROLE', 'CREATE') ? () => setOpen({ kind: 'create' }) : undefined} />
      <SearchedList
        searched={searched}
        texts={t}
        rowTestId="role-row"
        rowIdAttribute="data-role-id"
        columns={[
          {
            header: t.name,
            cell: (role) => (
              <>
                {role.name} {role.isDefault && <Badge tone="warning">{t.default}</Badge>}
              </>
            ),
          },
          { header: t.kind, cell: (role) => <Badge tone={role.isManaged ? 'accent' : 'neutral'}>{role.isManaged ? t.managed : t.custom}</Badge> },
          { header: t.permissionCount, cell: (role) => role.permissionCount },
        ]}
        actions={(role) => (
          <RowActions>
            {role.isManaged || !can(me, 'ROLE', 'UPDATE') ? (
              <Button variant="ghost" aria-label={t.viewOf(role.name)} data-testid="role-view" onClick={() => setOpen({ kind: 'edit', role })}>{t.view}</Button>
            ) : (
              <Button variant="ghost" aria-label={t.editOf(role.name)} data-testid="role-edit" onClick={() => setOpen({ kind: 'edit', role })}>{strings.common.edit}</Button>
            )}
            {!role.isManaged && can(me, 'ROLE', 'DELETE') && (
              <Button variant="ghost" aria-label={t.deleteOf(role.name)} data-testid="role-delete" onClick={() => setOpen({ kind: 'delete', role })}>{strings.common.delete}</Button>
            )}
          </RowActions>
        )}
      />
      {open?.kind === 'create' && <RoleEditor tenant={tenant} onClose={close} onDone={done} />}
      {open?.kind === 'edit' && <RoleEditor tenant={tenant} id={open.role.id} readOnly={open.role.isManaged || !can(me, 'ROLE', 'UPDATE')} onClose={close} onDone={done} />}
      {open?.kind === 'delete' && (
        <ConfirmDialog title={t.deleteTitle} onClose={close} onConfirm={() => send('delete', rolesPath(tenant, `/${encodeURIComponent(open.role.id)}`)).then(() => searched.list.reload())}>
          {t.deleteConfirm(open.role.name)}
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Create or edit a custom role, or look at a managed one (read-only), in a side drawer. */
function RoleEditor({ tenant, id, readOnly = false, onClose, onDone }: { tenant: string; id?: string; readOnly?: boolean; onClose: () => void; onDone: () => void }) {
  const catalogue = useCached(`iam:catalogue:${tenant}`, () => loadCatalogue(tenant));
  const [role, setRole] = useState<{ detail?: ApiRoleDetail; error?: unknown }>({});
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [isDefault, setIsDefault] = useState(false);
  const [permissions, setPermissions] = useState<Permissions>({});
  useEffect(() => {
    if (!id) return;
    loadRole(tenant, id).then(
      (detail) => {
        setRole({ detail });
        setName(detail.name);
        setDescription(detail.description ?? '');
        setIsDefault(detail.isDefault);
        setPermissions(detail.permissions);
      },
      (error: unknown) => setRole({ error }),
    );
  }, [tenant, id]);
  const title = !id ? t.createTitle : readOnly ? t.viewTitle(role.detail?.name ?? '') : t.editTitle(role.detail?.name ?? '');
  const loading = (id && !role.detail) || !catalogue.data;
  const body = loading ? (
    <>
      {role.error !== undefined && <ErrorNotice error={role.error} />}
      {catalogue.error !== undefined && <ErrorNotice error={catalogue.error} onRetry={catalogue.reload} />}
      {role.error === undefined && catalogue.error === undefined && <Loading />}
    </>
  ) : (
    <>
      <TextField label={t.name} required autoFocus={!readOnly} readOnly={readOnly} value={name} onInput={(event) => setName(event.currentTarget.value)} />
      <TextField label={t.description} readOnly={readOnly} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
      {!readOnly && <CheckboxField label={t.isDefault} checked={isDefault} onChange={setIsDefault} />}
      {readOnly && role.detail?.isManaged && <p class="text-sm text-zinc-600 dark:text-zinc-400">{t.managedNote}</p>}
      <PermissionEditor catalogue={catalogue.data!} value={permissions} onChange={setPermissions} readOnly={readOnly} />
    </>
  );
  if (readOnly) {
    return (
      <Dialog title={title} side onClose={onClose}>
        <div class="flex flex-col gap-3" data-testid="role-form">{body}</div>
      </Dialog>
    );
  }
  return (
    <FormDialog
      title={title}
      side
      submitLabel={id ? strings.common.save : strings.common.create}
      testId="role-form"
      onClose={onClose}
      onSubmit={async () => {
        if (loading) return;
        const request = { name: name.trim(), description: description.trim() || null, permissions, isDefault };
        if (id) await send('put', rolesPath(tenant, `/${encodeURIComponent(id)}`), request, apiRoleDetailSchema);
        else await send('post', rolesPath(tenant), request, apiRoleDetailSchema);
        onDone();
      }}
    >
      {body}
    </FormDialog>
  );
}
