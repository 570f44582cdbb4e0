/**
 * The Tenants screen, in place of the stock UI's Enterprise upsell at /ui/{tenant}/admin/tenants/list.
 * Instance owners only. Hooks for end-to-end tests: `#perch-tenants`, rows `[data-testid=tenant-row]`
 * (`data-tenant-id`), `[data-testid=tenant-create]`, the form `[data-testid=tenant-form]`.
 */
import type { FeatureContext } from '../app/feature';
import { strings } from '../app/strings';
import { guardedScreen } from '../screens/no-access';
import { TenantsScreen } from '../tenants/tenants-screen';
import { Page } from '../ui/page';

function TenantsPage({ context }: { context: FeatureContext }) {
  return (
    <div id="perch-tenants">
      <Page title={strings.tenants.title}>
        <p class="mb-3 text-sm text-zinc-600 dark:text-zinc-400">{strings.tenants.note}</p>
        <TenantsScreen current={context.tenant} />
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
