import { useState } from 'preact/hooks';
import { send } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import { apiServiceAccountResponseSchema, DNS_LABEL, type ApiServiceAccountTenantAccess } from '../../lib/schemas/tokens';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { Dialog } from '../ui/dialog';
import { CheckboxField, SelectField, TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { loadServiceAccounts, serviceAccountsPath, tokensPath } from './api';
import { TokensPanel } from './tokens-panel';
import { ActionError, Badge, FormDialog, ResourceList, RowActions, useAction, SearchedList, SearchedToolbar, useSearchedList, useTabDialog } from './common';

const t = strings.iam.serviceAccounts;

type Open =
  | { kind: 'create' }
  | { kind: 'tokens'; account: ApiServiceAccountTenantAccess }
  | { kind: 'delete'; account: ApiServiceAccountTenantAccess };

const nameProblem = (name: string) => (DNS_LABEL.test(name) ? undefined : t.nameRule);

export function ServiceAccountsTab({ tenant, me }: { tenant: string; me: Me }) {
  const searched = useSearchedList(`iam:service-accounts:${tenant}`, (page, query) => loadServiceAccounts(tenant, page, query));
  const { open, setOpen, close } = useTabDialog<Open>(searched.list);
  return (
    <div id="perch-iam-service-accounts">
      <SearchedToolbar searched={searched} texts={t} createTestId="service-account-create" onCreate={can(me, 'SERVICE_ACCOUNT', 'CREATE') ? () => setOpen({ kind: 'create' }) : undefined} />
      <SearchedList
        searched={searched}
        texts={t}
        rowTestId="service-account-row"
        rowIdAttribute="data-service-account-id"
        columns={[
          { header: t.name, cell: (account) => account.displayName },
          { header: t.description, cell: (account) => account.description, cellClass: 'text-zinc-600 dark:text-zinc-400' },
          { header: t.groups, cell: (account) => <div class="flex flex-wrap gap-1">{account.groups.map((g) => <Badge key={g.id}>{g.name}</Badge>)}</div> },
        ]}
        actions={(account) => (
          <RowActions>
            {can(me, 'SERVICE_ACCOUNT', 'VIEW') && (
              <Button variant="ghost" aria-label={t.tokensOf(account.displayName)} data-testid="service-account-tokens" onClick={() => setOpen({ kind: 'tokens', account })}>{t.tokens}</Button>
            )}
            {can(me, 'SERVICE_ACCOUNT', 'DELETE') && (
              <Button variant="ghost" aria-label={t.deleteOf(account.displayName)} data-testid="service-account-delete" onClick={() => setOpen({ kind: 'delete', account })}>{strings.common.delete}</Button>
            )}
          </RowActions>
        )}
      />
      {open?.kind === 'create' && (
        <ServiceAccountForm
          tenant={tenant}
          onClose={close}
          onDone={() => {
            close();
            searched.list.reload();
          }}
        />
      )}
      {open?.kind === 'tokens' && <Tokens tenant={tenant} me={me} account={open.account} onClose={close} />}
      {open?.kind === 'delete' && (
        <ConfirmDialog title={t.deleteTitle} onClose={close} onConfirm={() => send('delete', serviceAccountsPath(tenant, `/${encodeURIComponent(open.account.id)}`)).then(() => searched.list.reload())}>
          {t.deleteConfirm(open.account.displayName)}
        </ConfirmDialog>
      )}
    </div>
  );
}

function ServiceAccountForm({ tenant, onClose, onDone }: { tenant: string; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [touched, setTouched] = useState(false);
  const problem = touched ? nameProblem(name.trim()) : undefined;
  return (
    <FormDialog
      title={t.createTitle}
      submitLabel={strings.common.create}
      testId="service-account-form"
      onClose={onClose}
      onSubmit={async () => {
        setTouched(true);
        const invalid = nameProblem(name.trim());
        if (invalid) throw new Error(invalid);
        await send('post', serviceAccountsPath(tenant), { name: name.trim(), description: description.trim() || null }, apiServiceAccountResponseSchema);
        onDone();
      }}
    >
      <TextField label={t.name} required autoFocus hint={t.nameRule} error={problem} value={name} onInput={(event) => setName(event.currentTarget.value)} />
      <TextField label={t.description} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
    </FormDialog>
  );
}

/** A service account's API tokens, in a side drawer. */
function Tokens({ tenant, me, account, onClose }: { tenant: string; me: Me; account: ApiServiceAccountTenantAccess; onClose: () => void }) {
  return (
    <Dialog title={t.tokensTitle(account.displayName)} side onClose={onClose}>
      <TokensPanel path={tokensPath(tenant, account.id)} cacheKey={`iam:tokens:${tenant}:${account.id}`} manage={can(me, 'SERVICE_ACCOUNT', 'UPDATE')} />
    </Dialog>
  );
}
