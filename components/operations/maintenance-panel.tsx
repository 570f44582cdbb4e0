import { useState } from 'preact/hooks';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { maintenance } from './api';
import { useLoad } from './use-load';

const s = strings.operations;

/** Enter or leave maintenance mode, each behind a confirmation that says what it does (EE: Instance → Services). */
export function MaintenancePanel({ onChanged }: { onChanged: () => void }) {
  const status = useLoad(maintenance.status);
  const [asking, setAsking] = useState(false);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  if (status.error !== undefined) return <ErrorNotice error={status.error} onRetry={status.reload} />;
  if (!status.data) return <Loading />;
  const on = status.data.maintenance;
  const act = () => {
    setBusy(true);
    setError(undefined);
    (on ? maintenance.exit() : maintenance.enter(message.trim() || undefined)).then(
      () => {
        setAsking(false);
        setBusy(false);
        status.reload();
        onChanged();
      },
      (failure: unknown) => {
        setError(failure);
        setBusy(false);
      },
    );
  };
  return (
    <div id="perch-maintenance-control">
      <p data-testid="maintenance-status">{on ? s.maintenanceOn(status.data.disabledTriggers, status.data.held) : s.maintenanceOff}</p>
      <div class="mt-2"><Button variant={on ? 'primary' : 'danger'} onClick={() => setAsking(true)}>{on ? s.exitMaintenance : s.enterMaintenance}</Button></div>
      {asking && (
        <Dialog title={on ? s.exitMaintenance : s.enterMaintenance} onClose={() => setAsking(false)}>
          <form class="flex flex-col gap-4" onSubmit={(event) => { event.preventDefault(); act(); }}>
            <p class="text-sm">{on ? s.exitExplained : s.enterExplained(status.data.onExecution)}</p>
            {!on && <TextField label={s.notice} value={message} maxLength={2000} onInput={(e) => setMessage(e.currentTarget.value)} />}
            {error !== undefined && <ErrorNotice error={error} />}
            <div class="flex justify-end gap-2">
              <Button onClick={() => setAsking(false)}>{strings.common.cancel}</Button>
              <Button type="submit" variant={on ? 'primary' : 'danger'} disabled={busy} data-testid="confirm">{on ? s.exitMaintenance : s.enterMaintenance}</Button>
            </div>
          </form>
        </Dialog>
      )}
    </div>
  );
}
