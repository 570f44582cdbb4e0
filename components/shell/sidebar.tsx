import type { Resource } from '../../lib/authz/catalogue';
import type { FeatureContext } from '../app/feature';
import { navigate, routeMatches, uiPath } from '../app/routes';
import { canSee, type Me } from '../app/session';
import { strings } from '../app/strings';
import { useUiRoute } from './use-ui-route';
import { useAdoptedStockItems } from './stock-menu';

const IAM_RESOURCES: readonly Resource[] = ['USER', 'GROUP', 'ROLE', 'BINDING', 'SERVICE_ACCOUNT', 'INVITATION'];

interface Entry {
  id: string;
  title: string;
  /** The stock UI's Enterprise promo route Perch's screen replaces. */
  route: string;
  /** Routes on which the entry is the current page. */
  match: string;
  allowed: (me: Me) => boolean;
}

export const SIDEBAR_ENTRIES: readonly Entry[] = [
  { id: 'iam', title: strings.sidebar.iam, route: 'admin/iam', match: 'admin/iam', allowed: (me) => IAM_RESOURCES.some((r) => canSee(me, r)) },
  { id: 'audit', title: strings.sidebar.auditLogs, route: 'admin/auditlogs', match: 'admin/auditlogs', allowed: (me) => canSee(me, 'AUDITLOG') },
  { id: 'tenants', title: strings.sidebar.tenants, route: 'admin/tenants/list', match: 'admin/tenants', allowed: (me) => me.superAdmin },
  { id: 'instance', title: strings.sidebar.instance, route: 'admin/instance', match: 'admin/instance', allowed: (me) => me.superAdmin },
  { id: 'apps', title: strings.sidebar.apps, route: 'apps', match: 'apps', allowed: (me) => canSee(me, 'APP') },
];

export function sidebarEntriesFor(me: Me): Entry[] {
  return SIDEBAR_ENTRIES.filter((entry) => entry.allowed(me));
}

/** A "Perch" section in Kestra's left menu; links navigate inside the single-page app. */
export function PerchSidebar({ context }: { context: FeatureContext }) {
  const route = useUiRoute(context.route);
  const allowed = sidebarEntriesFor(context.me);
  const tenant = route.tenant ?? context.route.tenant;
  // The stock menu's own items, unlocked, stand for the screens; this section lists only those the menu lacks.
  const adopted = useAdoptedStockItems(allowed, tenant);
  const entries = allowed.filter((entry) => !adopted.has(entry.id));
  if (entries.length === 0) return null;
  return (
    <nav id="perch-sidebar" aria-label={strings.sidebar.navigation} class="mt-2 border-t border-zinc-200 px-3 pt-3 pb-2 dark:border-zinc-700">
      <h2 aria-hidden="true" class="mb-1 px-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">
        {strings.sidebar.heading}
      </h2>
      <ul class="flex flex-col gap-0.5">
        {entries.map((entry) => {
          const href = uiPath(entry.route, tenant);
          const current = routeMatches([entry.match], route);
          return (
            <li key={entry.id}>
              <a
                href={href}
                data-entry={entry.id}
                aria-current={current ? 'page' : undefined}
                class={`block rounded-md px-2 py-1.5 text-sm focus-visible:outline-2 focus-visible:outline-kestra-500 ${current ? 'bg-kestra-100 font-semibold text-kestra-700 dark:bg-kestra-700/30 dark:text-kestra-100' : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-200 dark:hover:bg-zinc-800'}`}
                onClick={(event) => {
                  // A new tab or window (modifier keys, middle button) keeps the browser's behaviour.
                  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
                  event.preventDefault();
                  navigate(href);
                }}
              >
                {entry.title}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
