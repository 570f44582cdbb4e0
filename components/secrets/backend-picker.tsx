import { useEffect, useState } from 'preact/hooks';
import type { SecretBackendView } from '../../lib/schemas/secrets';
import { Button } from '../ui/button';
import { SelectField } from '../ui/field';
import { ErrorNotice } from '../ui/states';
import { loadSecretBackend, pickSecretBackend } from './api';
import { secretTexts as t } from './strings';

/**
 * Instance owners: where the tenant's new secret values go, among the backends configured under
 * `secrets.backend` (Perch's store, AWS Secrets Manager, Vault). Existing values move when replaced.
 * Hook: `[data-testid=secret-backend]`.
 */
export function BackendPicker({ tenant }: { tenant: string }) {
  const [view, setView] = useState<SecretBackendView | undefined>(undefined);
  const [chosen, setChosen] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    loadSecretBackend(tenant).then((answer) => {
      setView(answer);
      setChosen(answer.type);
    }, setError);
  }, [tenant]);
  if (error !== undefined) return <ErrorNotice error={error} />;
  if (!view) return null;
  return (
    <form
      data-testid="secret-backend"
      class="mb-4 flex items-end gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        pickSecretBackend(tenant, chosen).then((answer) => {
          setView(answer);
          setBusy(false);
        }, (failure: unknown) => {
          setError(failure);
          setBusy(false);
        });
      }}
    >
      <SelectField label={t.backend} value={chosen} onChange={(event) => setChosen(event.currentTarget.value)}>
        {view.available.map((b) => <option key={b.type} value={b.type}>{b.readOnly ? `${b.name} (${t.readOnly})` : b.name}</option>)}
      </SelectField>
      <Button type="submit" disabled={busy || chosen === view.type}>{t.save}</Button>
    </form>
  );
}
