/**
 * Perch's and Kestra's status, announcements and maintenance, in place of the stock UI's Enterprise
 * upsell at /ui/{tenant}/admin/instance. Instance owners only.
 * Hooks for end-to-end tests: `#perch-instance`, `[data-testid=perch-status]`, `[data-testid=kestra-status]`,
 * `[data-testid=maintenance-state]`, `[data-testid=announcement]` rows, a "Refresh" button; the operations
 * panels (issue 22): `#perch-maintenance-control`, `#perch-banners` (`[data-testid=managed-banner]` rows),
 * `#perch-kill-switches` (`[data-testid=kill-switch]` rows); worker groups (issue 25): `#perch-worker-groups`
 * (`[data-testid=worker-group]` items, `[data-testid=worker-target]` rows, `[data-testid=worker-group-form]`).
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { perchHealthSchema, type PerchHealth } from '../../lib/schemas/health';
import { getJson } from '../app/api';
import { guardedScreen } from '../screens/no-access';
import { uiConfig } from '../app/session';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { Page } from '../ui/page';
import { ErrorNotice, Loading } from '../ui/states';
import { BannersPanel } from '../operations/banners-panel';
import { KillSwitchesPanel } from '../operations/kill-switches-panel';
import { MaintenancePanel } from '../operations/maintenance-panel';
import { WorkerGroupsPanel } from '../worker-groups/worker-groups-panel';
import { loadSession } from '../app/session';

const s = strings.instance;
const OK = 'bg-green-100 text-green-800 dark:bg-green-950 dark:text-green-200';
const BAD = 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-200';

function Card({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title} class="rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-700 dark:bg-zinc-900">
      <h2 class="mb-2 font-semibold">{title}</h2>
      {children}
    </section>
  );
}

/** Health is read fresh each time (a cached "up" would be a lie). */
function useHealth() {
  const [state, setState] = useState<{ data?: PerchHealth; error?: unknown; loading: boolean }>({ loading: true });
  const load = useCallback(() => {
    setState((previous) => ({ ...previous, loading: true }));
    getJson('/perch/health', perchHealthSchema).then(
      (data) => setState({ data, loading: false }),
      (error: unknown) => setState({ error, loading: false }),
    );
  }, []);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

function InstancePage() {
  const health = useHealth();
  const config = uiConfig.value;
  const h = health.data;
  return (
    <div id="perch-instance">
      <Page title={s.title} actions={<Button onClick={health.reload} disabled={health.loading}>{s.refresh}</Button>}>
        <div class="grid gap-4 md:grid-cols-2">
          <Card title={s.status}>
            {health.error !== undefined ? (
              <ErrorNotice error={health.error} onRetry={health.reload} />
            ) : !h ? (
              <Loading />
            ) : (
              <dl class="grid grid-cols-[8rem_1fr] gap-y-2">
                <dt>{s.perch}</dt>
                <dd data-testid="perch-status"><span class={`rounded px-1.5 py-0.5 text-xs font-medium ${h.status === 'UP' ? OK : BAD}`}>{h.status === 'UP' ? s.up : h.status}</span></dd>
                <dt>{s.kestra}</dt>
                <dd data-testid="kestra-status">
                  <span class={`rounded px-1.5 py-0.5 text-xs font-medium ${h.kestra.reachable ? OK : BAD}`}>{h.kestra.reachable ? s.reachable : s.unreachable}</span>
                  <span class="ml-2 text-zinc-500 dark:text-zinc-400">
                    {[h.kestra.status !== undefined && s.httpStatus(h.kestra.status), h.kestra.latencyMs !== undefined && s.latency(h.kestra.latencyMs), h.kestra.error].filter(Boolean).join(' · ')}
                  </span>
                </dd>
              </dl>
            )}
            {h?.setupRequired && <p class="mt-2 text-amber-700 dark:text-amber-300">{s.setupRequired}</p>}
          </Card>
          <Card title={s.maintenance}>
            <p data-testid="maintenance-state">{config?.inMaintenance ? s.inMaintenance : s.notInMaintenance}</p>
            {config?.inMaintenance && config.maintenanceMessage && <p class="mt-1 text-zinc-600 dark:text-zinc-400">{config.maintenanceMessage}</p>}
            <div class="mt-3 border-t border-zinc-100 pt-3 dark:border-zinc-800">
              {/* The notice at the top of every page follows at once. */}
              <MaintenancePanel onChanged={() => void loadSession()} />
            </div>
          </Card>
        </div>
        <div class="mt-4">
          <Card title={s.announcements}>
            {!config?.banners.length ? (
              <p class="text-zinc-500 dark:text-zinc-400">{s.noAnnouncements}</p>
            ) : (
              <table class="w-full text-left">
                <thead class="text-xs text-zinc-500 uppercase dark:text-zinc-400">
                  <tr><th scope="col" class="py-1 pr-3">{s.type}</th><th scope="col" class="py-1 pr-3">{s.message}</th><th scope="col" class="py-1">{s.window}</th></tr>
                </thead>
                <tbody>
                  {config.banners.map((banner) => (
                    <tr key={banner.id} data-testid="announcement" class="border-t border-zinc-100 dark:border-zinc-800">
                      <td class="py-1 pr-3">{banner.type}</td>
                      <td class="py-1 pr-3">{banner.message}</td>
                      <td class="py-1">{banner.startDate || banner.endDate ? `${banner.startDate ?? '…'} → ${banner.endDate ?? '…'}` : s.always}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <p class="mt-2 text-xs text-zinc-500 dark:text-zinc-400">{s.configNote}</p>
          </Card>
        </div>
        <div class="mt-4 grid gap-4 md:grid-cols-2">
          <Card title={strings.operations.managedBanners}>
            <BannersPanel />
          </Card>
          <Card title={strings.operations.killSwitches}>
            <KillSwitchesPanel />
          </Card>
        </div>
        <div class="mt-4">
          <Card title={strings.workerGroups.title}>
            <WorkerGroupsPanel />
          </Card>
        </div>
      </Page>
    </div>
  );
}

export default guardedScreen({
  id: 'instance-page',
  screen: 'instance',
  routes: ['admin/instance'],
  anchor: 'promoContent',
  placement: 'replace',
  title: s.title,
  mayUse: (me) => me.superAdmin,
  needs: 'the instance owner flag',
  render: () => <InstancePage />,
});
