/**
 * One product in the menu: the stock menu's Enterprise items (IAM, Audit Logs, Tenants, Instance,
 * Apps) are unlocked, without their EE badge, for people who may use their screens
 * (components/shell/stock-menu.ts; the items carry `data-perch-screen`); a "Perch" section in Kestra's
 * left menu lists only the screens the stock menu lacks (a customised menu that hides them).
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
