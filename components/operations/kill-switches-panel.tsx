import { useState } from 'preact/hooks';
import type { ApiKillSwitch, KillSwitchRequest } from '../../lib/schemas/operations';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { SelectField, TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { isoOf, killSwitches } from './api';
import { useLoad } from './use-load';
import { EditForm } from '../ui/edit-form';

const s = strings.operations;

/** The request that saves `k` again with another `enabled`. */
const asRequest = (k: ApiKillSwitch, enabled: boolean): KillSwitchRequest => ({
  name: k.name, tenantId: k.tenantId, namespace: k.namespace, flowId: k.flowId, executionIds: k.executionIds,
  startDate: k.startDate, endDate: k.endDate, description: k.description, evaluationType: k.evaluationType as KillSwitchRequest['evaluationType'], enabled,
});

const scopeOf = (k: ApiKillSwitch) => (k.executionIds.length ? s.executions(k.executionIds.length) : k.flowId ? `${k.namespace ?? ''}.${k.flowId}` : k.namespace ?? s.wholeTenant);

function KillSwitchForm({ onSaved, onCancel }: { onSaved: () => void; onCancel: () => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<'KILL' | 'CANCEL'>('KILL');
  const [namespace, setNamespace] = useState('');
  const [flowId, setFlowId] = useState('');
  const [end, setEnd] = useState('');
  return (
    <EditForm
      testId="kill-switch-form"
      onSaved={onSaved}
      onCancel={onCancel}
      submit={{ label: s.createKillSwitch, variant: 'danger' }}
      write={() => {
        const body: KillSwitchRequest = { name, evaluationType: type, namespace: namespace.trim() || null, flowId: flowId.trim() || null, startDate: new Date().toISOString(), endDate: isoOf(end), enabled: true };
        return killSwitches.create(body);
      }}
    >
      <TextField label={s.name} value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} />
      <SelectField label={s.evaluationType} value={type} onChange={(e) => setType(e.currentTarget.value as 'KILL' | 'CANCEL')}>
        <option value="KILL">{s.kill}</option>
        <option value="CANCEL">{s.cancel}</option>
      </SelectField>
      <TextField label={s.namespace} hint={s.namespaceHint} value={namespace} onInput={(e) => setNamespace(e.currentTarget.value)} />
      <TextField label={s.flowId} value={flowId} onInput={(e) => setFlowId(e.currentTarget.value)} />
      <TextField label={s.endDate} type="datetime-local" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
    </EditForm>
  );
}

/** Kill switches (EE: Instance → Kill switch): who may not start work where, and a switch to turn each off. */
export function KillSwitchesPanel() {
  const list = useLoad(killSwitches.search);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<ApiKillSwitch | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const toggle = (k: ApiKillSwitch) => {
    setError(undefined);
    killSwitches.update(k.id, asRequest(k, !k.enabled)).then(list.reload, setError);
  };
  return (
    <div id="perch-kill-switches">
      {list.error !== undefined ? <ErrorNotice error={list.error} onRetry={list.reload} /> : !list.data ? <Loading /> : list.data.length === 0 ? (
        <p class="text-zinc-500 dark:text-zinc-400">{s.noKillSwitches}</p>
      ) : (
        <table class="w-full text-left">
          <thead class="text-xs text-zinc-500 uppercase dark:text-zinc-400">
            <tr><th scope="col" class="py-1 pr-3">{s.name}</th><th scope="col" class="py-1 pr-3">{s.evaluationType}</th><th scope="col" class="py-1 pr-3">{s.scope}</th><th scope="col" class="py-1 pr-3">{s.state}</th><th scope="col" class="py-1"><span class="sr-only">{s.actions}</span></th></tr>
          </thead>
          <tbody>
            {list.data.map((k) => (
              <tr key={k.id} data-testid="kill-switch" class="border-t border-zinc-100 dark:border-zinc-800">
                <td class="py-1 pr-3">{k.name}</td>
                <td class="py-1 pr-3">{k.evaluationType}</td>
                <td class="py-1 pr-3">{scopeOf(k)}</td>
                <td class="py-1 pr-3">{k.enabled ? s.enabled : s.disabled}</td>
                <td class="py-1 text-right whitespace-nowrap">
                  <Button variant="ghost" onClick={() => toggle(k)}>{k.enabled ? s.disable : s.enable}</Button>
                  <Button variant="ghost" onClick={() => setDeleting(k)}>{strings.common.delete}</Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {error !== undefined && <ErrorNotice error={error} />}
      {creating ? (
        <KillSwitchForm onSaved={() => { setCreating(false); list.reload(); }} onCancel={() => setCreating(false)} />
      ) : (
        <div class="mt-3"><Button variant="danger" onClick={() => setCreating(true)}>{s.newKillSwitch}</Button></div>
      )}
      {deleting && (
        <ConfirmDialog title={s.deleteKillSwitch} onConfirm={() => killSwitches.remove(deleting.id).then(list.reload)} onClose={() => setDeleting(null)}>
          {deleting.name}
        </ConfirmDialog>
      )}
    </div>
  );
}
