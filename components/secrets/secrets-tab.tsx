import { useState } from 'preact/hooks';
import type { Action } from '../../lib/authz/catalogue';
import type { SecretMeta } from '../../lib/schemas/secrets';
import type { Me } from '../app/session';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { TextField } from '../ui/field';
import { Empty, ErrorNotice, Loading } from '../ui/states';
import { useCached } from '../ui/use-cached';
import { CARD, FormDialog, RowActions, TABLE, TD, TH } from '../iam/common';
import { deleteSecret, loadNamespaceSecrets, putSecret } from './api';
import { BackendPicker, NamespaceBackendPicker } from './backend-picker';
import { secretTexts as t } from './strings';

/** Whether the person holds SECRET `action` on `namespace` (tenant-wide, or on it or a parent). */
export function canOnNamespace(me: Me, action: Action, namespace: string): boolean {
  if (me.superAdmin || (me.permissions.tenantWide.SECRET ?? []).includes(action)) return true;
  return Object.entries(me.permissions.namespaces).some(([ns, p]) => (namespace === ns || namespace.startsWith(`${ns}.`)) && (p.SECRET ?? []).includes(action));
}

type Open = { kind: 'add' } | { kind: 'replace'; secret: SecretMeta } | { kind: 'delete'; secret: SecretMeta };

/**
 * A namespace's secrets: keys and descriptions, values masked and never fetched (no call returns
 * one). Add, replace (a new value) and delete, as the person's SECRET permissions allow.
 */
export function SecretsTab({ tenant, namespace, me }: { tenant: string; namespace: string; me: Me }) {
  const [pages, setPages] = useState(1);
  const list = useCached(`secrets:${tenant}:${namespace}:${pages}`, async () => {
    const all: SecretMeta[] = [];
    let total = 0;
    let readOnly = false;
    for (let page = 1; page <= pages; page++) {
      const answer = await loadNamespaceSecrets(tenant, namespace, page);
      all.push(...answer.results);
      total = answer.total;
      readOnly = answer.readOnly;
    }
    return { results: all, total, readOnly };
  });
  const [open, setOpen] = useState<Open | null>(null);
  const close = () => setOpen(null);
  // A read-only manager (EE's lock): no add, replace or delete.
  const may = (action: Action) => list.data?.readOnly === false && canOnNamespace(me, action, namespace);
  const done = () => {
    setOpen(null);
    list.reload();
  };
  return (
    <div id="perch-secrets" data-namespace={namespace}>
      {me.superAdmin && <NamespaceBackendPicker tenant={tenant} namespace={namespace} />}
      {me.superAdmin && <BackendPicker tenant={tenant} />}
      <div class="mb-3 flex items-center justify-between gap-4">
        <p class="text-sm text-zinc-600 dark:text-zinc-400">{list.data?.readOnly ? t.readOnlyNote : t.writeOnly}</p>
        {may('CREATE') && <Button variant="primary" data-testid="secret-add" onClick={() => setOpen({ kind: 'add' })}>{t.add}</Button>}
      </div>
      {list.error !== undefined && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {list.data === undefined && list.error === undefined && <Loading />}
      {list.data !== undefined && list.data.results.length === 0 && <Empty text={t.empty} />}
      {list.data !== undefined && list.data.results.length > 0 && (
        <div class={CARD}>
          <table class={TABLE} aria-label={t.table}>
            <thead>
              <tr>
                <th scope="col" class={TH}>{t.key}</th>
                <th scope="col" class={TH}>{t.value}</th>
                <th scope="col" class={TH}>{t.description}</th>
                <th scope="col" class={TH}><span class="sr-only">actions</span></th>
              </tr>
            </thead>
            <tbody>
              {list.data.results.map((secret) => (
                <tr key={secret.key} data-testid="secret-row" data-secret-key={secret.key}>
                  <td class={`${TD} font-mono`}>{secret.key}</td>
                  <td class={`${TD} font-mono text-zinc-500`} aria-label="masked value">{t.masked}</td>
                  <td class={TD}>{secret.description ?? ''}</td>
                  <td class={TD}>
                    <RowActions>
                      {may('UPDATE') && <Button variant="ghost" aria-label={t.replaceOf(secret.key)} data-testid="secret-replace" onClick={() => setOpen({ kind: 'replace', secret })}>{t.replace}</Button>}
                      {may('DELETE') && <Button variant="ghost" aria-label={t.deleteOf(secret.key)} data-testid="secret-delete" onClick={() => setOpen({ kind: 'delete', secret })}>{t.delete}</Button>}
                    </RowActions>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data !== undefined && list.data.results.length < list.data.total && <Button class="mt-3" onClick={() => setPages(pages + 1)}>{t.more}</Button>}
      {open?.kind === 'add' && <SecretForm tenant={tenant} namespace={namespace} onClose={close} onDone={done} />}
      {open?.kind === 'replace' && <SecretForm tenant={tenant} namespace={namespace} secret={open.secret} onClose={close} onDone={done} />}
      {open?.kind === 'delete' && (
        <ConfirmDialog title={t.deleteTitle} onClose={close} onConfirm={() => deleteSecret(tenant, namespace, open.secret.key).then(() => list.reload())}>
          {t.deleteConfirm(open.secret.key, namespace)}
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Adds a secret or replaces one's value; the value field is a password field, emptied when the dialog closes. */
function SecretForm({ tenant, namespace, secret, onClose, onDone }: { tenant: string; namespace: string; secret?: SecretMeta; onClose: () => void; onDone: () => void }) {
  const [key, setKey] = useState(secret?.key ?? '');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState(secret?.description ?? '');
  return (
    <FormDialog
      title={secret ? t.replaceTitle(secret.key) : t.addTitle}
      submitLabel={t.save}
      testId="secret-form"
      onClose={onClose}
      onSubmit={async () => {
        await putSecret(tenant, namespace, { key: key.trim(), value, ...(description.trim() ? { description: description.trim() } : {}) });
        setValue('');
        onDone();
      }}
    >
      <TextField label={t.key} required readOnly={secret !== undefined} autoFocus={!secret} hint={t.keyHint} pattern="[A-Za-z][A-Za-z0-9_]*" value={key} onInput={(event) => setKey(event.currentTarget.value)} />
      <TextField label={t.value} required type="password" autoComplete="new-password" autoFocus={secret !== undefined} value={value} onInput={(event) => setValue(event.currentTarget.value)} />
      <TextField label={t.description} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
    </FormDialog>
  );
}
