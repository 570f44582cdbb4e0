import { useState } from 'preact/hooks';
import { send } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import { apiGroupDetailSchema, apiGroupMemberSchema, type ApiGroupMember, type ApiGroupSummary, type Membership } from '../../lib/schemas/iam';
import { Button } from '../ui/button';
import { Combobox } from '../ui/combobox';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { groupsPath, loadGroups, loadMembers, suggestUsers } from './api';
import { ActionError, Badge, FormDialog, ResourceList, RowActions, useAction, SearchedList, SearchedToolbar, useSearchedList, useTabDialog } from './common';

const t = strings.iam.groups;

type Open =
  | { kind: 'create' }
  | { kind: 'edit'; group: ApiGroupSummary }
  | { kind: 'members'; group: ApiGroupSummary }
  | { kind: 'delete'; group: ApiGroupSummary };

export function GroupsTab({ tenant, me }: { tenant: string; me: Me }) {
  const searched = useSearchedList(`iam:groups:${tenant}`, (page, query) => loadGroups(tenant, page, query));
  const { open, setOpen, close, done } = useTabDialog<Open>(searched.list);
  return (
    <div id="perch-iam-groups">
      <SearchedToolbar searched={searched} texts={t} createTestId="group-create" onCreate={can(me, 'GROUP', 'CREATE') ? () => setOpen({ kind: 'create' }) : undefined} />
      <SearchedList
        searched={searched}
        texts={t}
        rowTestId="group-row"
        rowIdAttribute="data-group-id"
        columns={[
          { header: t.name, cell: (group) => group.name },
          { header: t.description, cell: (group) => group.description, cellClass: 'text-zinc-600 dark:text-zinc-400' },
        ]}
        actions={(group) => (
          <RowActions>
            <Button variant="ghost" aria-label={t.membersOf(group.name)} data-testid="group-members" onClick={() => setOpen({ kind: 'members', group })}>{t.members}</Button>
            {can(me, 'GROUP', 'UPDATE') && <Button variant="ghost" aria-label={t.editOf(group.name)} data-testid="group-edit" onClick={() => setOpen({ kind: 'edit', group })}>{strings.common.edit}</Button>}
            {can(me, 'GROUP', 'DELETE') && <Button variant="ghost" aria-label={t.deleteOf(group.name)} data-testid="group-delete" onClick={() => setOpen({ kind: 'delete', group })}>{strings.common.delete}</Button>}
          </RowActions>
        )}
      />
      {(open?.kind === 'create' || open?.kind === 'edit') && <GroupForm tenant={tenant} group={open.kind === 'edit' ? open.group : undefined} onClose={close} onDone={done} />}
      {open?.kind === 'members' && <GroupMembers tenant={tenant} group={open.group} me={me} onClose={close} />}
      {open?.kind === 'delete' && (
        <ConfirmDialog title={t.deleteTitle} onClose={close} onConfirm={() => send('delete', groupsPath(tenant, `/${encodeURIComponent(open.group.id)}`)).then(() => searched.list.reload())}>
          {t.deleteConfirm(open.group.name)}
        </ConfirmDialog>
      )}
    </div>
  );
}

function GroupForm({ tenant, group, onClose, onDone }: { tenant: string; group?: ApiGroupSummary; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  return (
    <FormDialog
      title={group ? t.editTitle : t.createTitle}
      submitLabel={group ? strings.common.save : strings.common.create}
      testId="group-form"
      onClose={onClose}
      onSubmit={async () => {
        const body = { name: name.trim(), description: description.trim() || null };
        if (group) await send('put', groupsPath(tenant, `/${encodeURIComponent(group.id)}`), body, apiGroupDetailSchema);
        else await send('post', groupsPath(tenant), body, apiGroupDetailSchema);
        onDone();
      }}
    >
      <TextField label={t.name} required autoFocus value={name} onInput={(event) => setName(event.currentTarget.value)} />
      <TextField label={t.description} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
    </FormDialog>
  );
}

const membershipOf = (member: ApiGroupMember, groupId: string): Membership => member.groups.find((g) => g.id === groupId)?.membership ?? 'MEMBER';

/** The members of one group in a side drawer: add (user picker), OWNER/MEMBER, remove. */
function GroupMembers({ tenant, group, me, onClose }: { tenant: string; group: ApiGroupSummary; me: Me; onClose: () => void }) {
  const [page, setPage] = useState(1);
  const list = useCached(`iam:members:${tenant}:${group.id}:${page}`, () => loadMembers(tenant, group.id, page));
  const action = useAction();
  const base = `/${encodeURIComponent(group.id)}/members`;
  const ownsGroup = list.data?.results.some((m) => m.id === me.id && membershipOf(m, group.id) === 'OWNER') ?? false;
  const manage = can(me, 'GROUP', 'MANAGE_MEMBERS') || ownsGroup;
  const [text, setText] = useState('');
  const [picked, setPicked] = useState<{ id: string; label: string } | null>(null);
  const [adding, setAdding] = useState(false);
  return (
    <Dialog title={t.membersTitle(group.name)} side onClose={onClose}>
      <div class="flex flex-col gap-4" data-testid="group-members-panel">
        {manage && (
          <form
            class="flex items-end gap-2"
            onSubmit={(event) => {
              event.preventDefault();
              const userId = picked && picked.label === text ? picked.id : text.trim();
              if (!userId) return;
              setAdding(true);
              action.run(
                () => send('put', groupsPath(tenant, `${base}/${encodeURIComponent(userId)}`), undefined, apiGroupMemberSchema).finally(() => setAdding(false)),
                () => {
                  setText('');
                  setPicked(null);
                  list.reload();
                },
              );
            }}
          >
            <div class="flex-1">
              <Combobox
                label={t.addMemberLabel}
                hint={me.superAdmin ? undefined : t.addMemberHint}
                value={text}
                onInput={(value) => {
                  setText(value);
                  setPicked(null);
                }}
                onPick={(option) => {
                  setText(option.label);
                  setPicked(option);
                }}
                suggest={(value) => (me.superAdmin ? suggestUsers(value) : Promise.resolve([]))}
              />
            </div>
            <Button type="submit" variant="primary" disabled={adding || !text.trim()} data-testid="member-add">{t.addMember}</Button>
          </form>
        )}
        <ActionError error={action.error} onDismiss={action.clear} />
        <ResourceList
          list={list}
          empty={t.noMembers}
          paging={{ page, onPage: setPage }}
          label={t.membersTable}
          rowTestId="member-row"
          rowIdAttribute="data-user-id"
          columns={[
            {
              header: t.member,
              cell: (member) => (
                <>
                  <div>{member.displayName}</div>
                  {member.displayName !== member.username && <div class="text-xs text-zinc-500 dark:text-zinc-400">{member.username}</div>}
                </>
              ),
            },
            {
              header: t.membership,
              cell: (member) => {
                const membership = membershipOf(member, group.id);
                return manage ? (
                  <select
                    aria-label={t.membershipOf(member.username)}
                    class="rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-600 dark:bg-zinc-800"
                    value={membership}
                    onChange={(event) => {
                      const next = event.currentTarget.value as Membership;
                      action.run(
                        () => send('put', groupsPath(tenant, `${base}/membership/${encodeURIComponent(member.id)}?membership=${next}`), undefined, apiGroupMemberSchema),
                        list.reload,
                      );
                    }}
                  >
                    <option value="MEMBER">{t.memberRole}</option>
                    <option value="OWNER">{t.ownerRole}</option>
                  </select>
                ) : (
                  <Badge tone={membership === 'OWNER' ? 'accent' : 'neutral'}>{membership === 'OWNER' ? t.ownerRole : t.memberRole}</Badge>
                );
              },
            },
          ]}
          actions={(member) =>
            manage && (
              <RowActions>
                <Button
                  variant="ghost"
                  aria-label={t.removeOf(member.username)}
                  data-testid="member-remove"
                  onClick={() => action.run(() => send('delete', groupsPath(tenant, `${base}/${encodeURIComponent(member.id)}`), undefined, apiGroupMemberSchema), list.reload)}
                >
                  {t.remove}
                </Button>
              </RowActions>
            )
          }
        />
      </div>
    </Dialog>
  );
}
