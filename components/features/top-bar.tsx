/**
 * The signed-in person in Kestra's top bar, with a menu: tenant switcher, custom links, sign out.
 *
 * Stable hooks for end-to-end tests: `#perch-top-bar`; the menu button by role and name
 * "Account menu" (aria-haspopup=menu, aria-expanded), showing the person's name
 * (`[data-testid=perch-user-name]`); in the menu, `menuitemradio` per tenant (the current one
 * aria-checked), custom links as `menuitem` links (new tab), and the `menuitem` "Sign out"
 * (POST /api/v1/logout, then Perch's sign-in page /perch/login).
 */
import { defineFeature } from '../app/feature';
import { strings } from '../app/strings';
import { AccountMenu } from '../shell/account-menu';

export default defineFeature({
  id: 'top-bar',
  routes: ['*'],
  anchor: 'topBarActions',
  placement: 'append',
  title: strings.topBar.menu,
  render: (context) => <AccountMenu context={context} />,
});
