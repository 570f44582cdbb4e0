/**
 * A namespace's Secrets tab, in place of Kestra OSS's Enterprise upsell at
 * /ui/{tenant}/namespaces/edit/{namespace}/secrets. Hooks for end-to-end tests: `#perch-secrets`
 * (`data-namespace`), rows `[data-testid=secret-row]` (`data-secret-key`), buttons `secret-add`,
 * `secret-replace`, `secret-delete`, the form `[data-testid=secret-form]`.
 */
import { guardedScreen } from '../screens/no-access';
import { can } from '../app/session';
import { SecretsTab } from '../secrets/secrets-tab';
import { secretTexts } from '../secrets/strings';

export default guardedScreen({
  id: 'namespace-secrets',
  screen: 'secrets',
  routes: ['namespaces/edit/*/secrets'],
  anchor: 'promoContent',
  placement: 'replace',
  title: secretTexts.title,
  mayUse: (me) => can(me, 'SECRET', 'LIST', 'anywhere'),
  needs: 'the Secret: List permission (SECRET:LIST), tenant-wide or on a namespace',
  render: (context) => <SecretsTab tenant={context.tenant} namespace={decodeURIComponent(context.route.path.split('/')[2] ?? '')} me={context.me} />,
});
