/**
 * Perch's screens as pages of Perch's own (/perch/account, /perch/iam, /perch/audit, /perch/tenants,
 * /perch/instance): the shell Perch serves (backend/ui/screen-pages.ts) holds `#perch-screen`, and
 * the screens render there with no Kestra page around them, so they work while Kestra is down.
 *
 * Hooks for end-to-end tests: `#perch-screen-nav` (links by screen name, `aria-current=page` on this
 * one); the screen's own root (`#perch-account`, `#perch-iam`, …) or `#perch-no-access`.
 */
import type { ComponentChild } from 'preact';
import { contextFor, type FeatureContext } from '../app/feature';
import { uiPath } from '../app/routes';
import { DEFAULT_TENANT } from '../../lib/tenants';
import auditLogPage from '../features/audit-log-page';
import iamPage from '../features/iam-page';
import instancePage from '../features/instance-page';
import tenantsPage from '../features/tenants-page';
import { loadSession, type Me } from '../app/session';
import { mountInShadowRoot } from '../app/shadow-root';
import { followKestraTheme } from '../app/theme';
import { AccountMenu } from '../shell/account-menu';
import { AccountScreen } from './account-screen';
import { screenStrings as s } from './strings';

interface ScreenEntry {
  screen: string;
  title: string;
  /** The Kestra UI route the screen stands for (what its components read from the route). */
  uiRoute: string;
  mayUse: (me: Me) => boolean;
  render: (context: FeatureContext) => ComponentChild;
}

const SCREENS: readonly ScreenEntry[] = [
  { screen: 'account', title: s.account.title, uiRoute: 'account', mayUse: () => true, render: (context) => <AccountScreen context={context} /> },
  ...[iamPage, auditLogPage, tenantsPage, instancePage].map((f) => ({ screen: f.screen, title: f.title, uiRoute: f.routes[0]!, mayUse: f.mayUse, render: f.render })),
];

function ScreenPage({ entry, context }: { entry: ScreenEntry; context: FeatureContext }) {
  return (
    <div class="min-h-screen bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100">
      <header class="flex items-center gap-6 border-b border-zinc-200 bg-white px-6 py-2 dark:border-zinc-800 dark:bg-zinc-900">
        <span class="flex items-center gap-2 font-semibold">
          <span aria-hidden="true" class="size-6 rounded-md bg-gradient-to-br from-kestra-500 to-fuchsia-400" />
          {s.brand}
        </span>
        <nav id="perch-screen-nav" aria-label={s.nav} class="flex flex-1 flex-wrap gap-1">
          {SCREENS.filter((e) => e.mayUse(context.me) || e === entry).map((e) => (
            <a
              key={e.screen}
              href={`/perch/${e.screen}`}
              data-screen={e.screen}
              aria-current={e === entry ? 'page' : undefined}
              class={`rounded-md px-3 py-1.5 text-sm ${e === entry ? 'bg-kestra-100 font-medium text-kestra-700 dark:bg-kestra-700/30 dark:text-kestra-100' : 'hover:bg-zinc-100 dark:hover:bg-zinc-800'}`}
            >
              {e.title}
            </a>
          ))}
          <a href={uiPath('', context.route.tenant)} class="ml-auto rounded-md px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">{s.backToKestra} ↗</a>
        </nav>
        <AccountMenu context={context} />
      </header>
      <main>{entry.render(context)}</main>
    </div>
  );
}

/** Mounts the screen the shell names; sends a person whose session ended to the sign-in page. */
export async function startScreenPage(container: HTMLElement): Promise<void> {
  if (matchMedia('(prefers-color-scheme: dark)').matches) document.documentElement.classList.add('dark');
  followKestraTheme();
  const entry = SCREENS.find((e) => e.screen === container.dataset.screen) ?? SCREENS[0]!;
  const me = await loadSession();
  if (!me) {
    container.textContent = s.notSignedIn;
    location.assign(`/perch/login?from=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  // The screens work in the session's tenant; the way back is the stock UI, which lives under main.
  const context = contextFor({ tenant: DEFAULT_TENANT, path: entry.uiRoute, query: new URLSearchParams(location.search) }, me);
  container.replaceChildren();
  mountInShadowRoot(`screen-${entry.screen}`, (host) => container.append(host), <ScreenPage entry={entry} context={context} />);
}
