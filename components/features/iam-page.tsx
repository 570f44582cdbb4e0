/**
 * IAM: users, groups and members, roles, bindings, service accounts with their API tokens, and
 * invitations, in place of Kestra's Enterprise upsell on /ui/{tenant}/admin/iam.
 *
 * Hooks for end-to-end tests (keep them stable):
 * - `#perch-iam` is the screen's root (`data-tab` holds the selected tab); `?tab=` in the URL selects
 *   a tab: users | groups | roles | bindings | service-accounts | invitations.
 * - Tabs: role=tab named "Users", "Groups", "Roles", "Bindings", "Service accounts", "Invitations"
 *   (only those the person may use are rendered).
 * - Create buttons: `[data-testid=user-create]`, `group-create`, `role-create`, `binding-create`,
 *   `service-account-create`, `token-create` (in a service account's tokens drawer), `invitation-create`.
 *   Every form submits with a button whose visible text is "Create" (invitations: "Send invitation";
 *   edits: "Save"); a form's element carries `data-testid=<thing>-form`.
 * - Rows: `[data-testid=user-row]` (contains the email, `data-user-id`), `group-row`, `member-row`,
 *   `role-row`, `binding-row`, `service-account-row`, `token-row`, `invitation-row`.
 * - Row buttons: `user-edit`, `user-toggle` (disable/enable), `user-password`, `user-delete`,
 *   `group-members`, `group-edit`, `group-delete`, `member-add`, `member-remove`, `role-edit`,
 *   `role-view`, `role-delete`, `binding-delete`, `service-account-tokens`, `service-account-delete`,
 *   `token-revoke`, `invitation-delete`; a confirmation dialog's button is `[data-testid=confirm]`.
 * - User form fields by label: "Email", "First name", "Last name", "Password".
 * - Binding form fields by label: "User or group" (combobox; suggestions are role=option),
 *   "Subject type", "Role" (a select of the tenant's roles), "Namespace" (combobox; empty = tenant-wide).
 * - The created token: `[data-testid=token-once]` dialog, its value in `[data-testid=token-value]`.
 * - Role editor checkboxes are named "<Resource>: <Action>", e.g. "Flow: View", "Service account: Create".
 */
import { canSee, type Me } from '../app/session';
import { guardedScreen } from '../screens/no-access';
import { strings } from '../app/strings';
import type { Resource } from '../../lib/authz/catalogue';
import { IamScreen } from '../iam/iam-screen';

const IAM_RESOURCES: readonly Resource[] = ['USER', 'GROUP', 'ROLE', 'BINDING', 'SERVICE_ACCOUNT', 'INVITATION'];

export const mayUseIam = (me: Me): boolean => me.superAdmin || IAM_RESOURCES.some((resource) => canSee(me, resource));

export default guardedScreen({
  id: 'iam-page',
  screen: 'iam',
  routes: ['admin/iam'],
  anchor: 'promoContent',
  placement: 'replace',
  title: strings.iam.title,
  mayUse: mayUseIam,
  needs: 'a permission on users, groups, roles, bindings, service accounts or invitations',
  render: ({ tenant, me }) => <IamScreen tenant={tenant} me={me} />,
});
