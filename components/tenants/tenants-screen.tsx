import { useState } from 'preact/hooks';
import type { ApiTenant } from '../../lib/schemas/tenants';
import { ApiError } from '../app/api';
import { strings } from '../app/strings';
import { Badge, FormDialog, ResourceList, RowActions, Toolbar } from '../iam/common';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { SelectField, TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { deleteTenant, holdingsSchema, loadHealth, loadMemberCount, loadTenants, saveTenant } from './api';

const t = strings.tenants;

type Open = { kind: 'create' } | { kind: 'edit'; tenant: ApiTenant } | { kind: 'delete'; tenant: ApiTenant };

/**
 * The tenants of this Perch (instance owners): each one's isolation mode, its Kestra's health and
 * how many people may enter it; create, edit, delete (a tenant that still holds members or IAM is
 * deleted only once its id is typed again).
 */
export function TenantsScreen({ current }: { current: string }) {
  const list = useCached('tenants:list', loadTenants);
  const [open, setOpen] = useState<Open | null>(null);
  const close = () => setOpen(null);
  const done = () => {
    setOpen(null);
    list.reload();
  };
  return (
    <div class="flex flex-col gap-3">
      <Toolbar>
        <Button variant="primary" data-testid="tenant-create" onClick={() => setOpen({ kind: 'create' })}>{t.create}</Button>
      </Toolbar>
      <ResourceList
        list={list}
        empty={t.empty}
        label={t.table}
        rowTestId="tenant-row"
        rowIdAttribute="data-tenant-id"
        columns={[
          { header: t.id, cell: (tenant) => <span class="font-mono">{tenant.id}</span> },
          { header: t.name, cell: (tenant) => <>{tenant.name}{tenant.id === current && <> <Badge tone="accent">{t.current}</Badge></>}</> },
          { header: t.mode, cell: (tenant) => <ModeCell tenant={tenant} /> },
          { header: t.health, cell: (tenant) => <HealthCell id={tenant.id} /> },
          { header: t.members, cell: (tenant) => <MembersCell id={tenant.id} /> },
        ]}
        actions={(tenant) => (
          <RowActions>
            <Button variant="ghost" aria-label={t.editOf(tenant.name)} data-testid="tenant-edit" onClick={() => setOpen({ kind: 'edit', tenant })}>{strings.common.edit}</Button>
            {tenant.id !== 'main' && <Button variant="ghost" aria-label={t.deleteOf(tenant.name)} data-testid="tenant-delete" onClick={() => setOpen({ kind: 'delete', tenant })}>{strings.common.delete}</Button>}
          </RowActions>
        )}
      />
      {(open?.kind === 'create' || open?.kind === 'edit') && <TenantFormDialog tenant={open.kind === 'edit' ? open.tenant : undefined} onClose={close} onDone={done} />}
      {open?.kind === 'delete' && <DeleteTenant tenant={open.tenant} onClose={close} onDone={done} />}
    </div>
  );
}

function ModeCell({ tenant }: { tenant: ApiTenant }) {
  const isolation = tenant.isolation;
  if (isolation.mode === 'NAMESPACE') return <><Badge>{t.namespaceMode}</Badge> <span class="text-xs text-zinc-500">{isolation.namespaces.join(', ')}</span></>;
  return <><Badge>{t.instanceMode}</Badge> <span class="text-xs text-zinc-500">{isolation.kestraUrl ?? t.configuredKestra}</span></>;
}

function HealthCell({ id }: { id: string }) {
  const health = useCached(`tenants:health:${id}`, () => loadHealth(id));
  if (health.error) return <Badge tone="danger">{t.unknown}</Badge>;
  if (!health.data) return <span class="text-xs text-zinc-500">…</span>;
  return health.data.ready ? <Badge tone="accent">{t.up}</Badge> : <span title={health.data.reason}><Badge tone="danger">{t.down}</Badge></span>;
}

function MembersCell({ id }: { id: string }) {
  const count = useCached(`tenants:members:${id}`, () => loadMemberCount(id));
  return <span data-testid="tenant-members">{count.data ?? '…'}</span>;
}

function TenantFormDialog({ tenant, onClose, onDone }: { tenant?: ApiTenant; onClose: () => void; onDone: () => void }) {
  const isolation = tenant?.isolation;
  const [id, setId] = useState(tenant?.id ?? '');
  const [name, setName] = useState(tenant?.name ?? '');
  const [mode, setMode] = useState<'INSTANCE' | 'NAMESPACE'>(isolation?.mode ?? 'INSTANCE');
  const [kestraUrl, setKestraUrl] = useState(isolation?.mode === 'INSTANCE' ? (isolation.kestraUrl ?? '') : '');
  const [username, setUsername] = useState(isolation?.mode === 'INSTANCE' ? (isolation.username ?? '') : '');
  const [password, setPassword] = useState('');
  const [roots, setRoots] = useState(isolation?.mode === 'NAMESPACE' ? isolation.namespaces.join(', ') : '');
  // `main` is Perch's configured Kestra: only its name changes.
  const fixed = tenant?.id === 'main';
  return (
    <FormDialog
      title={tenant ? t.editTitle : t.createTitle}
      submitLabel={tenant ? strings.common.save : strings.common.create}
      testId="tenant-form"
      onClose={onClose}
      onSubmit={async () => {
        const chosen = fixed
          ? undefined
          : mode === 'INSTANCE'
            ? { mode, kestraUrl: kestraUrl.trim(), username: username.trim(), ...(password ? { password } : {}) }
            : { mode, namespaces: roots.split(',').map((r) => r.trim()).filter(Boolean) };
        await saveTenant({ id: id.trim(), name: name.trim(), ...(chosen ? { isolation: chosen } : {}) }, tenant !== undefined);
        onDone();
      }}
    >
      <TextField label={t.id} required disabled={tenant !== undefined} value={id} onInput={(event) => setId(event.currentTarget.value)} hint={t.idHint} />
      <TextField label={t.name} required value={name} onInput={(event) => setName(event.currentTarget.value)} />
      {!fixed && (
        <SelectField label={t.mode} value={mode} onChange={(event) => setMode(event.currentTarget.value as 'INSTANCE' | 'NAMESPACE')}>
          <option value="INSTANCE">{t.instanceMode}</option>
          <option value="NAMESPACE">{t.namespaceMode}</option>
        </SelectField>
      )}
      {!fixed && mode === 'INSTANCE' && (
        <>
          <TextField label={t.kestraUrl} required type="url" value={kestraUrl} onInput={(event) => setKestraUrl(event.currentTarget.value)} />
          <TextField label={t.username} required value={username} onInput={(event) => setUsername(event.currentTarget.value)} />
          <TextField label={t.password} type="password" autoComplete="new-password" required={!tenant} value={password} onInput={(event) => setPassword(event.currentTarget.value)} hint={tenant ? t.passwordKept : t.passwordChecked} />
        </>
      )}
      {!fixed && mode === 'NAMESPACE' && <TextField label={t.roots} required value={roots} onInput={(event) => setRoots(event.currentTarget.value)} hint={t.rootsHint} />}
    </FormDialog>
  );
}

/** Deletes at once when the tenant holds nothing; otherwise shows what it holds and asks for its id. */
function DeleteTenant({ tenant, onClose, onDone }: { tenant: ApiTenant; onClose: () => void; onDone: () => void }) {
  const [holds, setHolds] = useState<Record<string, number> | null>(null);
  const [typed, setTyped] = useState('');
  return (
    <ConfirmDialog
      title={t.deleteTitle}
      onClose={onClose}
      onConfirm={async () => {
        try {
          await deleteTenant(tenant.id, holds ? typed : undefined);
        } catch (error) {
          const held = error instanceof ApiError && error.status === 409 ? holdingsSchema.safeParse(error.details) : undefined;
          if (held?.success && !holds) {
            setHolds(held.data.holds);
            throw new Error(t.holdsData);
          }
          throw error;
        }
        onDone();
      }}
    >
      <p>{t.deleteConfirm(tenant.name)}</p>
      {holds && (
        <div class="mt-3 flex flex-col gap-2" data-testid="tenant-holds">
          <p>{t.holds(Object.entries(holds).map(([kind, n]) => `${n} ${kind}`).join(', '))}</p>
          <TextField label={t.typeId(tenant.id)} value={typed} onInput={(event) => setTyped(event.currentTarget.value)} />
        </div>
      )}
    </ConfirmDialog>
  );
}
