/**
 * A "Perch" section in Kestra's left menu, linking to the Perch screens that replace the stock UI's
 * Enterprise promo pages, each shown only to people who may use it.
 *
 * Stable hooks for end-to-end tests: `#perch-sidebar` (a nav named "Perch screens"), links by
 * visible name "IAM", "Audit logs", "Tenants", "Instance", "Apps" (`data-entry` = iam, audit,
 * tenants, instance, apps), real hrefs /ui/{tenant}/…, `aria-current=page` on the current one.
 * A plain click navigates inside Kestra's single-page app (no reload).
 */
import { defineFeature } from '../app/feature';
import { strings } from '../app/strings';
import { PerchSidebar, sidebarEntriesFor } from '../shell/sidebar';

export default defineFeature({
  id: 'sidebar-entries',
  routes: ['*'],
  anchor: 'sidebar',
  placement: 'append',
  title: strings.sidebar.heading,
  visibleTo: (me) => sidebarEntriesFor(me).length > 0,
  render: (context) => <PerchSidebar context={context} />,
});
