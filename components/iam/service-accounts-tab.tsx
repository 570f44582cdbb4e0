import { useState } from 'preact/hooks';
import { send } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import {
  apiServiceAccountResponseSchema,
  createApiTokenResponseSchema,
  DNS_LABEL,
  type ApiServiceAccountTenantAccess,
  type ApiToken,
  type CreateApiTokenResponse,
} from '../../lib/schemas/tokens';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { CopyButton } from '../ui/copy-button';
import { Dialog } from '../ui/dialog';
import { CheckboxField, SelectField, TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { loadServiceAccounts, loadTokens, serviceAccountsPath, tokensPath } from './api';
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

const MAX_AGES = ['', 'P7D', 'P30D', 'P90D', 'P365D'] as const;

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '');

/** A service account's API tokens, in a side drawer: list, create (secret shown once), revoke. */
function Tokens({ tenant, me, account, onClose }: { tenant: string; me: Me; account: ApiServiceAccountTenantAccess; onClose: () => void }) {
  const list = useCached(`iam:tokens:${tenant}:${account.id}`, () => loadTokens(tenant, account.id));
  const manage = can(me, 'SERVICE_ACCOUNT', 'UPDATE');
  const [creating, setCreating] = useState(false);
  // The one place the secret lives, only while its dialog is open.
  const [created, setCreated] = useState<CreateApiTokenResponse | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const action = useAction();
  return (
    <Dialog title={t.tokensTitle(account.displayName)} side onClose={onClose}>
      <div class="flex flex-col gap-3" data-testid="tokens-panel">
        {manage && (
          <div class="flex justify-end">
            <Button variant="primary" data-testid="token-create" onClick={() => setCreating(true)}>{t.createToken}</Button>
          </div>
        )}
        <ActionError error={action.error} onDismiss={action.clear} />
        <ResourceList
          list={list}
          empty={t.noTokens}
          label={t.tokensTable}
          rowTestId="token-row"
          rowIdAttribute="data-token-id"
          columns={[
            {
              header: t.tokenName,
              cell: (token) => (
                <>
                  {token.name} {token.expired && <Badge tone="danger">{t.expired}</Badge>}
                  {token.description && <div class="text-xs text-zinc-500 dark:text-zinc-400">{token.description}</div>}
                </>
              ),
            },
            { header: t.prefix, cell: (token) => <>{token.prefix}…</>, cellClass: 'font-mono text-xs' },
            { header: t.expires, cell: (token) => (token.exp ? when(token.exp) : t.never) },
            { header: t.lastUsed, cell: (token) => (token.lastUsed ? when(token.lastUsed) : t.neverUsed) },
          ]}
          actions={(token) =>
            manage && (
              <RowActions>
                <Button variant="ghost" aria-label={t.revokeOf(token.name)} data-testid="token-revoke" onClick={() => setRevoking(token)}>{t.revoke}</Button>
              </RowActions>
            )
          }
        />
      </div>
      {creating && (
        <TokenForm
          tenant={tenant}
          accountId={account.id}
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setCreated(token);
          }}
        />
      )}
      {created && (
        <TokenOnce
          token={created}
          onClose={() => {
            setCreated(null);
            list.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={t.revokeTitle}
          confirmLabel={t.revoke}
          onClose={() => setRevoking(null)}
          onConfirm={() => send('delete', tokensPath(tenant, account.id, revoking.id)).then(() => list.reload())}
        >
          {t.revokeConfirm(revoking.name)}
        </ConfirmDialog>
      )}
    </Dialog>
  );
}

function TokenForm({ tenant, accountId, onClose, onCreated }: { tenant: string; accountId: string; onClose: () => void; onCreated: (token: CreateApiTokenResponse) => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [maxAge, setMaxAge] = useState<string>('P30D');
  const [extended, setExtended] = useState(false);
  const [touched, setTouched] = useState(false);
  const problem = touched ? nameProblem(name.trim()) : undefined;
  return (
    <FormDialog
      title={t.createTokenTitle}
      submitLabel={strings.common.create}
      testId="token-form"
      onClose={onClose}
      onSubmit={async () => {
        setTouched(true);
        const invalid = nameProblem(name.trim());
        if (invalid) throw new Error(invalid);
        const token = await send(
          'post',
          tokensPath(tenant, accountId),
          { name: name.trim(), description: description.trim() || null, maxAge: maxAge || null, extended: maxAge ? extended : null },
          createApiTokenResponseSchema,
        );
        onCreated(token);
      }}
    >
      <TextField label={t.tokenName} required autoFocus hint={t.nameRule} error={problem} value={name} onInput={(event) => setName(event.currentTarget.value)} />
      <TextField label={t.description} value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
      <SelectField label={t.maxAge} value={maxAge} onChange={(event) => setMaxAge(event.currentTarget.value)}>
        {MAX_AGES.map((age) => (
          <option key={age} value={age}>{t.maxAges[age]}</option>
        ))}
      </SelectField>
      {maxAge && <CheckboxField label={t.extended} checked={extended} onChange={setExtended} />}
    </FormDialog>
  );
}

/** The new token, shown this once: copy it now, it is never shown or stored again. */
function TokenOnce({ token, onClose }: { token: CreateApiTokenResponse; onClose: () => void }) {
  return (
    <Dialog title={t.tokenCreatedTitle(token.name)} onClose={onClose} footer={<Button variant="primary" onClick={onClose}>{t.tokenSaved}</Button>}>
      <div class="flex flex-col gap-3" data-testid="token-once">
        <p role="note" class="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">{t.onceWarning}</p>
        <div class="flex items-center gap-2">
          <code data-testid="token-value" class="flex-1 overflow-x-auto rounded bg-zinc-100 px-2 py-1.5 font-mono text-xs break-all select-all dark:bg-zinc-800" aria-label={t.tokenValue}>{token.fullToken}</code>
          <CopyButton text={token.fullToken} label={t.copyToken} />
        </div>
        {token.exp && <p class="text-xs text-zinc-500 dark:text-zinc-400">{t.expiresAt(when(token.exp))}</p>}
      </div>
    </Dialog>
  );
}
