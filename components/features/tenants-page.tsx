/**
 * The tenants list, in place of the stock UI's Enterprise upsell at /ui/{tenant}/admin/tenants/list.
 * Instance owners only. Hooks for end-to-end tests: `#perch-tenants`, rows `[data-testid=tenant-row]`.
 */
import type { FeatureContext } from '../app/feature';
import { guardedScreen } from '../screens/no-access';
import { uiConfig } from '../app/session';
import { strings } from '../app/strings';
import { Page } from '../ui/page';

function TenantsPage({ context }: { context: FeatureContext }) {
  const tenants = uiConfig.value?.tenants.length ? uiConfig.value.tenants : context.me.tenants;
  const cell = 'px-3 py-2';
  return (
    <div id="perch-tenants">
      <Page title={strings.tenants.title}>
        <p class="mb-3 text-sm text-zinc-600 dark:text-zinc-400">{strings.tenants.note}</p>
        <table aria-label={strings.tenants.table} class="w-full rounded-lg border border-zinc-200 bg-white text-left text-sm dark:border-zinc-700 dark:bg-zinc-900">
          <thead class="border-b border-zinc-200 text-xs text-zinc-500 uppercase dark:border-zinc-700 dark:text-zinc-400">
            <tr>
              <th scope="col" class={cell}>{strings.tenants.id}</th>
              <th scope="col" class={cell}>{strings.tenants.name}</th>
              <th scope="col" class={cell}><span class="sr-only">{strings.tenants.current}</span></th>
            </tr>
          </thead>
          <tbody>
            {tenants.map((tenant) => (
              <tr key={tenant.id} data-testid="tenant-row" class="border-b border-zinc-100 dark:border-zinc-800">
                <td class={`${cell} font-mono`}>{tenant.id}</td>
                <td class={cell}>{tenant.name}</td>
                <td class={cell}>
                  {tenant.id === context.tenant && <span class="rounded bg-kestra-100 px-1.5 py-0.5 text-xs font-medium text-kestra-700 dark:bg-kestra-700/30 dark:text-kestra-100">{strings.tenants.current}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>
    </div>
  );
}

export default guardedScreen({
  id: 'tenants-page',
  screen: 'tenants',
  routes: ['admin/tenants'],
  anchor: 'promoContent',
  placement: 'replace',
  title: strings.tenants.title,
  mayUse: (me) => me.superAdmin,
  needs: 'the instance owner flag',
  render: (context) => <TenantsPage context={context} />,
});
