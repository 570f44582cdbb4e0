import { useState } from 'preact/hooks';
import { send } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import { namespaceSchema } from '../../lib/authz/namespaces';
import { apiBindingDetailSchema, type ApiBindingDetail, type BindingType } from '../../lib/schemas/iam';
import { Button } from '../ui/button';
import { Combobox } from '../ui/combobox';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { SelectField, TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { bindingsPath, loadAllRoles, loadBindings, suggestNamespaces } from './api';
import { Badge, FormDialog, RowActions, SearchedList, SearchedToolbar, useSearchedList, useTabDialog } from './common';
import { resolveSubject, subjectOf, suggestSubjects, type Subject } from './subject-picker';

const t = strings.iam.bindings;

/** A binding's subject as a person reads it. */
export function whoOf(binding: ApiBindingDetail): string {
  if (binding.type === 'GROUP') return binding.group?.name ?? '';
  return binding.user ? binding.user.username : '';
}

/** Validates a namespace typed by hand; empty means tenant-wide. */
export function namespaceProblem(value: string): string | undefined {
  if (!value.trim()) return undefined;
  const parsed = namespaceSchema.safeParse(value.trim());
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}

export function BindingsTab({ tenant, me }: { tenant: string; me: Me }) {
  const searched = useSearchedList(`iam:bindings:${tenant}`, (page, query) => loadBindings(tenant, page, query));
  const { open, setOpen, close } = useTabDialog<{ kind: 'create' } | { kind: 'delete'; binding: ApiBindingDetail }>(searched.list);
  return (
    <div id="perch-iam-bindings">
      <SearchedToolbar searched={searched} texts={t} createTestId="binding-create" onCreate={can(me, 'BINDING', 'CREATE') ? () => setOpen({ kind: 'create' }) : undefined} />
      <SearchedList
        searched={searched}
        texts={t}
        rowTestId="binding-row"
        rowIdAttribute="data-binding-id"
        columns={[
          {
            header: t.who,
            cell: (binding) => (
              <>
                <span class="mr-2">{whoOf(binding)}</span>
                <Badge tone={binding.type === 'GROUP' ? 'accent' : 'neutral'}>
                  {binding.type === 'GROUP' ? t.group : binding.user?.type === 'SERVICE_ACCOUNT' ? t.serviceAccount : t.user}
                </Badge>
              </>
            ),
          },
          { header: t.role, cell: (binding) => binding.role.name },
          { header: t.scope, cell: (binding) => binding.namespace ?? <span class="text-zinc-500 dark:text-zinc-400">{t.tenantWide}</span> },
        ]}
        actions={(binding) =>
          can(me, 'BINDING', 'DELETE') && (
            <RowActions>
              <Button variant="ghost" aria-label={t.deleteOf(whoOf(binding), binding.role.name)} data-testid="binding-delete" onClick={() => setOpen({ kind: 'delete', binding })}>{strings.common.delete}</Button>
            </RowActions>
          )
        }
      />
      {open?.kind === 'create' && (
        <BindingForm
          tenant={tenant}
          me={me}
          onClose={close}
          onDone={() => {
            close();
            searched.list.reload();
          }}
        />
      )}
      {open?.kind === 'delete' && (
        <ConfirmDialog title={t.deleteTitle} onClose={close} onConfirm={() => send('delete', bindingsPath(tenant, `/${encodeURIComponent(open.binding.id)}`)).then(() => searched.list.reload())}>
          {t.deleteConfirm(whoOf(open.binding), open.binding.role.name, open.binding.namespace)}
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The role picker: every role of the tenant when the person may list them, else a role id by hand. */
export function RolePicker({ tenant, me, value, onChange, label = t.role }: { tenant: string; me: Me; value: string; onChange: (id: string) => void; label?: string }) {
  const mayList = can(me, 'ROLE', 'LIST');
  const roles = useCached(`iam:all-roles:${tenant}`, () => (mayList ? loadAllRoles(tenant) : Promise.reject(new Error('not allowed'))));
  if (!mayList || (roles.error !== undefined && !roles.data)) {
    return <TextField label={label} required hint={t.roleIdHint} value={value} onInput={(event) => onChange(event.currentTarget.value)} />;
  }
  return (
    <SelectField label={label} required value={value} onChange={(event) => onChange(event.currentTarget.value)}>
      <option value="">{roles.data ? t.chooseRole : strings.common.loading}</option>
      {roles.data?.results.map((role) => (
        <option key={role.id} value={role.id}>{role.name}</option>
      ))}
    </SelectField>
  );
}

/** A namespace: free text with suggestions from Kestra (what the person may see), checked for syntax. */
export function NamespacePicker({ tenant, value, onChange, error, hint = t.namespaceHint, label = t.namespace }: { tenant: string; value: string; onChange: (ns: string) => void; error?: string; hint?: string; label?: string }) {
  return <Combobox label={label} value={value} onInput={onChange} onPick={(o) => onChange(o.id)} suggest={(q) => suggestNamespaces(tenant, q)} hint={hint} error={error} placeholder={t.namespacePlaceholder} />;
}

function BindingForm({ tenant, me, onClose, onDone }: { tenant: string; me: Me; onClose: () => void; onDone: () => void }) {
  const [text, setText] = useState('');
  const [picked, setPicked] = useState<Subject | null>(null);
  const [kind, setKind] = useState<BindingType>('USER');
  const [roleId, setRoleId] = useState('');
  const [namespace, setNamespace] = useState('');
  const [touched, setTouched] = useState(false);
  const nsError = touched ? namespaceProblem(namespace) : undefined;
  return (
    <FormDialog
      title={t.createTitle}
      submitLabel={strings.common.create}
      testId="binding-form"
      onClose={onClose}
      onSubmit={async () => {
        setTouched(true);
        const problem = namespaceProblem(namespace);
        if (problem) throw new Error(problem);
        if (!text.trim()) throw new Error(t.subjectRequired);
        if (!roleId.trim()) throw new Error(t.roleRequired);
        const subject = picked && picked.label === text ? picked : await resolveSubject(me, tenant, text, kind);
        await send('post', bindingsPath(tenant), { type: subject.type, externalId: subject.id, roleId: roleId.trim(), namespaceId: namespace.trim() || null }, apiBindingDetailSchema);
        onDone();
      }}
    >
      <Combobox
        label={t.subject}
        required
        autoFocus
        value={text}
        hint={t.subjectHint}
        onInput={(value) => {
          setText(value);
          setPicked(null);
        }}
        onPick={(option) => {
          const subject = subjectOf(option);
          setText(option.label);
          setPicked(subject);
          setKind(subject.type);
        }}
        suggest={(q) => suggestSubjects(me, tenant, q)}
      />
      <SelectField label={t.kind} value={kind} onChange={(event) => setKind(event.currentTarget.value as BindingType)}>
        <option value="USER">{t.user}</option>
        <option value="GROUP">{t.group}</option>
      </SelectField>
      <RolePicker tenant={tenant} me={me} value={roleId} onChange={setRoleId} />
      <NamespacePicker tenant={tenant} value={namespace} onChange={setNamespace} error={nsError} />
    </FormDialog>
  );
}
