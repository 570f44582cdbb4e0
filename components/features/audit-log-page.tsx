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
import { defineFeature } from '../app/feature';
import { can } from '../app/session';
import { strings } from '../app/strings';
import { AuditLogPage } from '../audit/audit-page';

export default defineFeature({
  id: 'audit-log-page',
  routes: ['admin/auditlogs'],
  anchor: 'promoContent',
  placement: 'replace',
  title: strings.audit.title,
  visibleTo: (me) => can(me, 'AUDITLOG', 'LIST', 'anywhere'),
  render: (context) => <AuditLogPage context={context} />,
});
