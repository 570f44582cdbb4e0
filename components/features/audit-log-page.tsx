/**
 * The tenant's audit log, in place of Kestra OSS's Enterprise upsell at /ui/{tenant}/admin/auditlogs.
 *
 * Stable hooks for end-to-end tests:
 * - `#perch-audit`: the page; `[data-testid=audit-row]`: one row per entry (`data-audit-id` = entry id),
 *   its text holds the action, the resource type and the resource id; Enter, Space or a click opens it.
 * - Filters by label: "Search", "Namespace", "Action", "Resource type", "Resource id", "Actor",
 *   "Outcome", "From", "To". They apply on submit (Enter in a field, or the "Apply filters" button;
 *   "Reset" clears them) and are written to the page URL's query (`?namespace=…&type=…`).
 * - "Load more" button (and infinite scroll on `[data-testid=audit-sentinel]`).
 * - Links "Export CSV" / "Export JSON lines" (shown with AUDITLOG:EXPORT).
 * - `#perch-audit-detail`: the detail drawer's content; `[data-testid=audit-diff]`: the before/after
 *   diff, one line per `[data-change=added|removed|context]`, each starting with `+`, `-` or a space.
 */
import { guardedScreen } from '../screens/no-access';
import { can } from '../app/session';
import { strings } from '../app/strings';
import { AuditLogPage } from '../audit/audit-page';

export default guardedScreen({
  id: 'audit-log-page',
  screen: 'audit',
  routes: ['admin/auditlogs'],
  anchor: 'promoContent',
  placement: 'replace',
  title: strings.audit.title,
  mayUse: (me) => can(me, 'AUDITLOG', 'LIST', 'anywhere'),
  needs: 'the Audit log: List permission (AUDITLOG:LIST), tenant-wide or on a namespace',
  render: (context) => <AuditLogPage context={context} />,
});
