import { useState } from 'preact/hooks';
import { getJson, send } from '../app/api';
import { strings } from '../app/strings';
import { apiTokenListSchema, createApiTokenResponseSchema, DNS_LABEL, type ApiToken, type CreateApiTokenResponse } from '../../lib/schemas/tokens';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { CopyButton } from '../ui/copy-button';
import { Dialog } from '../ui/dialog';
import { CheckboxField, SelectField, TextField } from '../ui/field';
import { useCached } from '../ui/use-cached';
import { ActionError, Badge, FormDialog, ResourceList, RowActions, useAction } from './common';

const t = strings.iam.serviceAccounts;

const nameProblem = (name: string) => (DNS_LABEL.test(name) ? undefined : t.nameRule);

const MAX_AGES = ['', 'P7D', 'P30D', 'P90D', 'P365D'] as const;

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '');

/**
 * API tokens of one owner (a service account, or the signed-in person): list, create (the secret
 * shown once with a copy button), revoke. `path` is the owner's tokens endpoint.
 */
export function TokensPanel({ path, cacheKey, manage }: { path: string; cacheKey: string; manage: boolean }) {
  const list = useCached(cacheKey, () => getJson(path, apiTokenListSchema));
  const [creating, setCreating] = useState(false);
  // The one place the secret lives, only while its dialog is open.
  const [created, setCreated] = useState<CreateApiTokenResponse | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const action = useAction();
  return (
    <>
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
          path={path}
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
          onConfirm={() => send('delete', `${path}/${encodeURIComponent(revoking.id)}`).then(() => list.reload())}
        >
          {t.revokeConfirm(revoking.name)}
        </ConfirmDialog>
      )}
    </>
  );
}


function TokenForm({ path, onClose, onCreated }: { path: string; onClose: () => void; onCreated: (token: CreateApiTokenResponse) => void }) {
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
          path,
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
