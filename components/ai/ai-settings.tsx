import { useState } from 'preact/hooks';
import { AI_PROVIDER_KINDS, type AiProviderKind, type AiTenantLimits, type AiTenantLimitsView, type AiTenantProviderView } from '../../lib/schemas/ai';
import { strings } from '../app/strings';
import { ListEditor } from '../operations/list-editor';
import { useEditableList, useLoad } from '../operations/use-load';
import { Button } from '../ui/button';
import { CheckboxField, SelectField, TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { aiSettings } from './settings-api';
import { aiSettingsTexts as t } from './strings';
import { useSaving } from '../ui/use-saving';
import { EditForm } from '../ui/edit-form';

/**
 * A tenant's AI settings, for those holding TENANT_SETTINGS: its own providers (the key field is
 * write-only: masked, never filled from the server), the token budgets' use and the tenant's limits
 * (changed by instance owners only).
 * Hooks: `#perch-ai-settings`, rows `[data-testid=ai-provider]` (`data-provider-id`), the form
 * `[data-testid=ai-provider-form]`, `[data-testid=ai-usage]`, `[data-testid=ai-limits]`.
 */
function ProviderForm({ tenant, provider, onSaved, onCancel }: { tenant: string; provider?: AiTenantProviderView; onSaved: () => void; onCancel: () => void }) {
  const [id, setId] = useState(provider?.id ?? '');
  const [displayName, setDisplayName] = useState(provider?.displayName ?? '');
  const [kind, setKind] = useState<AiProviderKind>(provider?.kind ?? 'openai-compatible');
  const [model, setModel] = useState(provider?.model ?? '');
  const [baseUrl, setBaseUrl] = useState(provider?.baseUrl ?? '');
  const [apiKey, setApiKey] = useState('');
  const [isDefault, setIsDefault] = useState(provider?.isDefault ?? false);
  return (
    <EditForm
      testId="ai-provider-form"
      onSaved={onSaved}
      onCancel={onCancel}
      write={() => {
        // Empty fields are left out: the key is then kept (on an update), the address is the public API.
        const body = { displayName: displayName || undefined, kind, model, baseUrl: baseUrl || undefined, apiKey: apiKey || undefined, isDefault };
        return (provider ? aiSettings.update(tenant, provider.id, body) : aiSettings.create(tenant, { id, ...body }));
      }}
    >
      <TextField label={t.id} value={id} required disabled={provider !== undefined} pattern="[a-z0-9][a-z0-9\-]{0,62}" onInput={(e) => setId(e.currentTarget.value)} />
      <TextField label={t.displayName} value={displayName} maxLength={100} onInput={(e) => setDisplayName(e.currentTarget.value)} />
      <SelectField label={t.kind} value={kind} onChange={(e) => setKind(e.currentTarget.value as AiProviderKind)}>
        {AI_PROVIDER_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
      </SelectField>
      <TextField label={t.model} value={model} required maxLength={200} onInput={(e) => setModel(e.currentTarget.value)} />
      <TextField label={t.baseUrl} hint={t.baseUrlHint} type="url" value={baseUrl} onInput={(e) => setBaseUrl(e.currentTarget.value)} />
      <TextField
        label={t.apiKey}
        hint={provider?.hasApiKey ? t.apiKeyKept : t.apiKeyNew}
        type="password"
        autocomplete="new-password"
        value={apiKey}
        required={!provider?.hasApiKey && kind !== 'ollama'}
        onInput={(e) => setApiKey(e.currentTarget.value)}
      />
      <CheckboxField label={t.isDefault} checked={isDefault} onChange={setIsDefault} />
    </EditForm>
  );
}

const LIMIT_FIELDS: Array<[keyof AiTenantLimits, string]> = [
  ['tenantRequestsPerMinute', t.limitTenantRate],
  ['tokenBudgetPerTenant', t.limitTenantBudget],
  ['tokenBudgetPerPerson', t.limitPersonBudget],
];

function LimitsForm({ tenant, view, onSaved }: { tenant: string; view: AiTenantLimitsView; onSaved: () => void }) {
  const text = (v: number | null) => (v === null ? '' : String(v));
  const [values, setValues] = useState<Record<keyof AiTenantLimits, string>>({
    tenantRequestsPerMinute: text(view.overrides.tenantRequestsPerMinute),
    tokenBudgetPerTenant: text(view.overrides.tokenBudgetPerTenant),
    tokenBudgetPerPerson: text(view.overrides.tokenBudgetPerPerson),
  });
  const { busy, error, save } = useSaving();
  return (
    <form
      class="mt-2 grid gap-3 md:grid-cols-3"
      onSubmit={(event) => {
        const number = (v: string) => (v.trim() === '' ? null : Number(v));
        const body = { tenantRequestsPerMinute: number(values.tenantRequestsPerMinute), tokenBudgetPerTenant: number(values.tokenBudgetPerTenant), tokenBudgetPerPerson: number(values.tokenBudgetPerPerson) };
        save(event, () => aiSettings.setLimits(tenant, body), onSaved);
      }}
    >
      {LIMIT_FIELDS.map(([key, label]) => (
        <TextField key={key} label={label} type="number" min={1} step={1} value={values[key]} placeholder={view.instance[key] === null ? '' : String(view.instance[key])} onInput={(e) => setValues({ ...values, [key]: e.currentTarget.value })} />
      ))}
      {error !== undefined && <div class="md:col-span-3"><ErrorNotice error={error} /></div>}
      <div class="flex justify-end md:col-span-3">
        <Button type="submit" variant="primary" disabled={busy}>{t.saveLimits}</Button>
      </div>
    </form>
  );
}

/** What applies in the tenant, and whether it is the tenant's own or the instance's; editable by instance owners only. */
function Limits({ tenant, onSaved }: { tenant: string; onSaved: () => void }) {
  const limits = useLoad(() => aiSettings.limits(tenant));
  if (limits.error !== undefined) return <ErrorNotice error={limits.error} onRetry={limits.reload} />;
  const view = limits.data;
  if (!view) return <Loading />;
  return (
    <section data-testid="ai-limits" aria-label={t.limits} class="mb-3">
      <h3 class="mb-1 font-medium">{t.limits}</h3>
      {LIMIT_FIELDS.map(([key, label]) => <p key={key}>{t.limitLine(label, view.effective[key], view.overrides[key] !== null)}</p>)}
      <p class="text-zinc-500 dark:text-zinc-400">{t.limitsHint}</p>
      {view.canChange && <LimitsForm tenant={tenant} view={view} onSaved={() => { limits.reload(); onSaved(); }} />}
    </section>
  );
}

function Usage({ tenant }: { tenant: string }) {
  const usage = useLoad(() => aiSettings.usage(tenant));
  if (usage.error !== undefined) return <ErrorNotice error={usage.error} onRetry={usage.reload} />;
  const u = usage.data;
  if (!u) return <Loading />;
  return (
    <section data-testid="ai-usage" aria-label={t.usage} class="mb-3">
      <h3 class="mb-1 font-medium">{t.usage}</h3>
      <p>{t.usageLine(t.tenant, u.tenant.used, u.tenant.limit)}</p>
      <p>{t.usageLine(t.you, u.person.used, u.person.limit)}</p>
      <p class="text-zinc-500 dark:text-zinc-400">{t.resets(u.period, u.resetsAt)} {t.rates(u.requestsPerMinute.perPerson, u.requestsPerMinute.perTenant)}</p>
    </section>
  );
}

export function AiSettings({ tenant, mayChange }: { tenant: string; mayChange: boolean }) {
  const state = useEditableList(() => aiSettings.list(tenant));
  const { list, setEditing, setDeleting } = state;
  // A change of the limits shows in the budgets' use at once.
  const [usageVersion, setUsageVersion] = useState(0);
  return (
    <details id="perch-ai-settings" class="mb-2 rounded-md border border-zinc-200 bg-white p-3 text-sm dark:border-zinc-700 dark:bg-zinc-900">
      <summary class="cursor-pointer font-semibold">{t.title}</summary>
      <div class="mt-3">
        <Usage key={usageVersion} tenant={tenant} />
        <Limits tenant={tenant} onSaved={() => setUsageVersion((v) => v + 1)} />
        <h3 class="mb-1 font-medium">{t.providers}</h3>
        {list.error !== undefined ? <ErrorNotice error={list.error} onRetry={list.reload} /> : !list.data ? <Loading /> : (
          <>
            <p class="mb-2 text-zinc-600 dark:text-zinc-400">{list.data.length === 0 ? t.fromInstance : t.fromTenant}</p>
            {list.data.length > 0 && (
              <table class="w-full text-left">
                <thead class="text-xs text-zinc-500 uppercase dark:text-zinc-400">
                  <tr><th scope="col" class="py-1 pr-3">{t.id}</th><th scope="col" class="py-1 pr-3">{t.kind}</th><th scope="col" class="py-1 pr-3">{t.model}</th><th scope="col" class="py-1 pr-3">{t.apiKey}</th><th scope="col" class="py-1"><span class="sr-only">{t.actions}</span></th></tr>
                </thead>
                <tbody>
                  {list.data.map((p) => (
                    <tr key={p.id} data-testid="ai-provider" data-provider-id={p.id} class="border-t border-zinc-100 dark:border-zinc-800">
                      <td class="py-1 pr-3">{p.displayName ?? p.id}{p.isDefault ? ` (${t.isDefault.toLowerCase()})` : ''}</td>
                      <td class="py-1 pr-3">{p.kind}</td>
                      <td class="py-1 pr-3">{p.model}</td>
                      <td class="py-1 pr-3">{p.hasApiKey ? t.hasKey : t.noKey}</td>
                      <td class="py-1 text-right whitespace-nowrap">
                        {mayChange && <Button variant="ghost" onClick={() => setEditing(p)}>{strings.common.edit}</Button>}
                        {mayChange && <Button variant="ghost" onClick={() => setDeleting(p)}>{strings.common.delete}</Button>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
        {mayChange && (
          <ListEditor
            state={state}
            newLabel={t.newProvider}
            form={(provider, done) => <ProviderForm tenant={tenant} provider={provider} {...done} />}
            deleteTitle={t.deleteProvider}
            remove={(provider) => aiSettings.remove(tenant, provider.id)}
            deleteBody={(provider) => t.deleteBody(provider.id)}
          />
        )}
      </div>
    </details>
  );
}
