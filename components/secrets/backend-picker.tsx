import { useEffect, useState } from 'preact/hooks';
import type { NamespaceSecretBackendView, SecretBackendView } from '../../lib/schemas/secrets';
import { Button } from '../ui/button';
import { CheckboxField, SelectField } from '../ui/field';
import { ErrorNotice } from '../ui/states';
import { loadNamespaceSecretBackend, loadSecretBackend, pickNamespaceSecretBackend, pickSecretBackend } from './api';
import { secretTexts as t } from './strings';

/** What a picker saves: a backend type ('' = inherit, for a namespace) and whether Perch may only read it. */
interface Pick {
  type: string;
  readOnly: boolean;
}

/**
 * One picker form: loads the view, shows the configured backends (plus `inherit`, for a namespace),
 * saves the pick. `testId` is the hook for tests.
 */
function PickerForm<V extends SecretBackendView>({ testId, label, load, save, pickOf, inherit, withReadOnly }: {
  testId: string;
  label: string;
  load: () => Promise<V>;
  save: (pick: Pick) => Promise<V>;
  pickOf: (view: V) => Pick;
  /** The option that drops the namespace's own choice, labelled from the view. */
  inherit?: (view: V) => string;
  withReadOnly?: boolean;
}) {
  const [view, setView] = useState<V | undefined>(undefined);
  const [chosen, setChosen] = useState<Pick>({ type: '', readOnly: false });
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const shown = (answer: V) => {
    setView(answer);
    setChosen(pickOf(answer));
  };
  useEffect(() => void load().then(shown, setError), [load]);
  if (error !== undefined) return <ErrorNotice error={error} />;
  if (!view) return null;
  const saved = pickOf(view);
  return (
    <form
      data-testid={testId}
      class="mb-4 flex flex-wrap items-end gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        save(chosen).then((answer) => {
          shown(answer);
          setBusy(false);
        }, (failure: unknown) => {
          setError(failure);
          setBusy(false);
        });
      }}
    >
      <SelectField label={label} value={chosen.type} onChange={(event) => setChosen({ ...chosen, type: event.currentTarget.value })}>
        {inherit && <option value="">{inherit(view)}</option>}
        {view.available.map((b) => <option key={b.type} value={b.type}>{b.readOnly ? `${b.name} (${t.readOnly})` : b.name}</option>)}
      </SelectField>
      {withReadOnly && chosen.type !== '' && <CheckboxField label={t.namespaceReadOnly} checked={chosen.readOnly} onChange={(readOnly) => setChosen({ ...chosen, readOnly })} />}
      <Button type="submit" disabled={busy || (chosen.type === saved.type && chosen.readOnly === saved.readOnly)}>{t.save}</Button>
    </form>
  );
}

/**
 * Instance owners: where the tenant's new secret values go, among the backends configured under
 * `secrets.backend`. Existing values move when replaced. Hook: `[data-testid=secret-backend]`.
 */
export function BackendPicker({ tenant }: { tenant: string }) {
  const [load] = useState(() => () => loadSecretBackend(tenant));
  return <PickerForm testId="secret-backend" label={t.backend} load={load} save={(pick) => pickSecretBackend(tenant, pick.type)} pickOf={(view) => ({ type: view.type, readOnly: false })} />;
}

const ownChoice = (view: NamespaceSecretBackendView, namespace: string) => view.source === 'namespace' && view.sourceNamespace === namespace;

/**
 * Instance owners: the namespace's own secret manager (EE's namespace `secretType`), inherited by
 * its children, or `inherit` (a parent's, else the tenant's). Hook: `[data-testid=namespace-secret-backend]`.
 */
export function NamespaceBackendPicker({ tenant, namespace }: { tenant: string; namespace: string }) {
  const [load] = useState(() => () => loadNamespaceSecretBackend(tenant, namespace));
  return (
    <PickerForm
      testId="namespace-secret-backend"
      label={t.namespaceBackend}
      load={load}
      save={(pick) => pickNamespaceSecretBackend(tenant, namespace, pick.type === '' ? { type: null } : { type: pick.type, readOnly: pick.readOnly })}
      pickOf={(view) => (ownChoice(view, namespace) ? { type: view.type, readOnly: view.readOnly } : { type: '', readOnly: false })}
      inherit={(view) => (ownChoice(view, namespace) ? t.inherit : t.inheritOf(view.available.find((b) => b.type === view.type)?.name ?? view.type, view.source === 'namespace' ? view.sourceNamespace! : view.source))}
      withReadOnly
    />
  );
}
