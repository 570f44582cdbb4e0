import { useState } from 'preact/hooks';
import { send } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import { apiInvitationDetailSchema, type ApiInvitationDetail, type InvitationRole, type InvitationStatus } from '../../lib/schemas/onboarding';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { CopyButton } from '../ui/copy-button';
import { Dialog } from '../ui/dialog';
import { CheckboxField, TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { invitationsPath, loadAllGroups, loadInvitations } from './api';
import { namespaceProblem, NamespacePicker, RolePicker } from './bindings-tab';
import { Badge, FormDialog, ResourceList, RowActions, Toolbar, useSearchedList } from './common';

const t = strings.iam.invitations;

const TONE: Record<InvitationStatus, 'warning' | 'accent' | 'danger'> = { PENDING: 'warning', ACCEPTED: 'accent', EXPIRED: 'danger' };

/** What an invitation grants, as a person reads it: `Editor on prod, Viewer (tenant-wide)`. */
function grantsOf(invitation: ApiInvitationDetail): string {
  const names = new Map(invitation.roles.map((r) => [r.id, r.name]));
  return invitation.bindings.map((b) => `${names.get(b.roleId) ?? b.roleId} ${b.namespace ? t.onNamespace(b.namespace) : t.tenantWide}`).join(', ');
}

export function InvitationsTab({ tenant, me }: { tenant: string; me: Me }) {
  const { search, setSearch, q: email, list, paging } = useSearchedList(`iam:invitations:${tenant}`, (page, query) => loadInvitations(tenant, page, query));
  const [open, setOpen] = useState<{ kind: 'create' } | { kind: 'delete'; invitation: ApiInvitationDetail } | null>(null);
  // Only while its dialog is open: the acceptance link holds a secret.
  const [sent, setSent] = useState<ApiInvitationDetail | null>(null);
  const close = () => setOpen(null);
  return (
    <div id="perch-iam-invitations">
      <Toolbar search={search} onSearch={setSearch} searchLabel={t.search}>
        {can(me, 'INVITATION', 'CREATE') && <Button variant="primary" data-testid="invitation-create" onClick={() => setOpen({ kind: 'create' })}>{t.create}</Button>}
      </Toolbar>
      <ResourceList
        list={list}
        empty={email ? t.noMatch : t.empty}
        paging={paging}
        label={t.table}
        rowTestId="invitation-row"
        rowIdAttribute="data-invitation-id"
        columns={[
          { header: t.email, cell: (invitation) => invitation.email },
          { header: t.status, cell: (invitation) => <Badge tone={TONE[invitation.status]}>{t.statuses[invitation.status]}</Badge> },
          {
            header: t.grants,
            cell: (invitation) => (
              <>
                <div>{grantsOf(invitation)}</div>
                {invitation.groups.length > 0 && <div class="text-xs text-zinc-500 dark:text-zinc-400">{t.groupsList(invitation.groups.map((g) => g.name).join(', '))}</div>}
              </>
            ),
          },
          { header: t.expires, cell: (invitation) => new Date(invitation.expiredAt).toLocaleString() },
        ]}
        actions={(invitation) =>
          can(me, 'INVITATION', 'DELETE') && (
            <RowActions>
              <Button variant="ghost" aria-label={(invitation.status === 'PENDING' ? t.revokeOf : t.deleteOf)(invitation.email)} data-testid="invitation-delete" onClick={() => setOpen({ kind: 'delete', invitation })}>
                {invitation.status === 'PENDING' ? t.revoke : strings.common.delete}
              </Button>
            </RowActions>
          )
        }
      />
      {open?.kind === 'create' && (
        <InvitationForm
          tenant={tenant}
          me={me}
          onClose={close}
          onSent={(invitation) => {
            close();
            setSent(invitation);
            list.reload();
          }}
        />
      )}
      {open?.kind === 'delete' && (
        <ConfirmDialog
          title={open.invitation.status === 'PENDING' ? t.revokeTitle : t.deleteTitle}
          confirmLabel={open.invitation.status === 'PENDING' ? t.revoke : strings.common.delete}
          onClose={close}
          onConfirm={() => send('delete', invitationsPath(tenant, `/${encodeURIComponent(open.invitation.id)}`)).then(() => list.reload())}
        >
          {t.deleteConfirm(open.invitation.email)}
        </ConfirmDialog>
      )}
      {sent && <InvitationSent invitation={sent} onClose={() => setSent(null)} />}
    </div>
  );
}

interface RoleRow {
  key: number;
  roleId: string;
  namespace: string;
}

/** Rows of (role, namespace or tenant-wide) → the request's roles, one entry per role. */
export function rolesOf(rows: RoleRow[]): InvitationRole[] {
  const byRole = new Map<string, { tenantWide: boolean; namespaces: string[] }>();
  for (const row of rows) {
    if (!row.roleId.trim()) continue;
    const entry = byRole.get(row.roleId) ?? { tenantWide: false, namespaces: [] };
    if (row.namespace.trim()) entry.namespaces.push(row.namespace.trim());
    else entry.tenantWide = true;
    byRole.set(row.roleId, entry);
  }
  return [...byRole].map(([id, e]) => ({ id, namespaces: e.tenantWide ? [] : [...new Set(e.namespaces)] }));
}

function InvitationForm({ tenant, me, onClose, onSent }: { tenant: string; me: Me; onClose: () => void; onSent: (invitation: ApiInvitationDetail) => void }) {
  const [email, setEmail] = useState('');
  const [rows, setRows] = useState<RoleRow[]>([{ key: 0, roleId: '', namespace: '' }]);
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const [touched, setTouched] = useState(false);
  const groups = useCached(`iam:all-groups:${tenant}`, () => (can(me, 'GROUP', 'LIST') ? loadAllGroups(tenant) : Promise.resolve({ results: [], total: 0 })));
  const update = (key: number, change: Partial<RoleRow>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <FormDialog
      title={t.createTitle}
      side
      submitLabel={t.send}
      testId="invitation-form"
      onClose={onClose}
      onSubmit={async () => {
        setTouched(true);
        const problem = rows.map((r) => namespaceProblem(r.namespace)).find(Boolean);
        if (problem) throw new Error(problem);
        const invitation = await send('post', invitationsPath(tenant), { email: email.trim(), roles: rolesOf(rows), groups: groupIds }, apiInvitationDetailSchema);
        onSent(invitation);
      }}
    >
      <TextField label={t.email} type="email" required autoFocus value={email} onInput={(event) => setEmail(event.currentTarget.value)} />
      <fieldset class="flex flex-col gap-3 rounded-md border border-zinc-200 p-3 dark:border-zinc-700">
        <legend class="px-1 text-sm font-medium">{t.roles}</legend>
        {rows.map((row, index) => (
          <div key={row.key} class="grid grid-cols-[1fr_1fr_auto] items-start gap-2" data-testid="invitation-role">
            <RolePicker tenant={tenant} me={me} label={t.roleN(index + 1)} value={row.roleId} onChange={(roleId) => update(row.key, { roleId })} />
            <NamespacePicker
              tenant={tenant}
              label={t.namespaceN(index + 1)}
              value={row.namespace}
              onChange={(namespace) => update(row.key, { namespace })}
              error={touched ? namespaceProblem(row.namespace) : undefined}
            />
            <Button variant="ghost" class="mt-6" aria-label={t.removeRoleN(index + 1)} onClick={() => setRows(rows.filter((r) => r.key !== row.key))}>✕</Button>
          </div>
        ))}
        <div>
          <Button onClick={() => setRows([...rows, { key: Math.max(0, ...rows.map((r) => r.key)) + 1, roleId: '', namespace: '' }])}>{t.addRole}</Button>
        </div>
      </fieldset>
      {(groups.data?.results.length ?? 0) > 0 && (
        <fieldset class="flex flex-col gap-2 rounded-md border border-zinc-200 p-3 dark:border-zinc-700">
          <legend class="px-1 text-sm font-medium">{t.groups}</legend>
          {groups.data!.results.map((group) => (
            <CheckboxField
              key={group.id}
              label={group.name}
              checked={groupIds.includes(group.id)}
              onChange={(on) => setGroupIds(on ? [...groupIds, group.id] : groupIds.filter((id) => id !== group.id))}
            />
          ))}
        </fieldset>
      )}
    </FormDialog>
  );
}

/** Sent: mailed, or (no mail server) the acceptance link to pass on, shown this once. */
function InvitationSent({ invitation, onClose }: { invitation: ApiInvitationDetail; onClose: () => void }) {
  return (
    <Dialog title={t.sentTitle} onClose={onClose} footer={<Button variant="primary" onClick={onClose}>{strings.common.close}</Button>}>
      <div class="flex flex-col gap-3" data-testid="invitation-sent">
        {invitation.mailed || !invitation.link ? (
          <p class="text-sm">{t.mailed(invitation.email)}</p>
        ) : (
          <>
            <p role="note" class="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">{t.linkOnce(invitation.email)}</p>
            <div class="flex items-center gap-2">
              <code data-testid="invitation-link" class="flex-1 overflow-x-auto rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs break-all select-all dark:bg-zinc-800">{invitation.link}</code>
              <CopyButton text={invitation.link} label={t.copyLink} />
            </div>
          </>
        )}
      </div>
    </Dialog>
  );
}
