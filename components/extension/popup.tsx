import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { activeAddress, type ActiveAddress } from './perch-addresses';
import { refreshBadge, type PerchStatus } from './perch-status';
import { usePrefersDark } from './prefers-dark';

/** What the toolbar popup shows: the Perch's state, whether the active tab is it, and who is signed in there. */
export interface PopupView {
  status: PerchStatus;
  onPerch: boolean;
  /** Known only on a Perch tab: the person signed in there, or null when nobody is. */
  signedIn?: string | null;
  /** Which of the saved addresses is in use, when it has a name or comes from the organisation. */
  active?: Pick<ActiveAddress, 'origin' | 'label' | 'managed'>;
}

/** Asks Perch, from inside its own tab (same origin, the page's session cookie), who is signed in. */
async function whoIsSignedIn(tabId: number): Promise<string | null> {
  const [result] = await browser.scripting.executeScript({
    target: { tabId },
    world: 'MAIN',
    func: async () => {
      const answer = await fetch('/api/v1/me', { credentials: 'same-origin', cache: 'no-store' });
      if (!answer.ok) return null;
      const me = (await answer.json()) as { profile?: { email?: string; firstName?: string | null; lastName?: string | null } };
      const name = [me.profile?.firstName, me.profile?.lastName].filter(Boolean).join(' ');
      return name && me.profile?.email ? `${name} (${me.profile.email})` : (me.profile?.email ?? null);
    },
  });
  return (result?.result as string | null | undefined) ?? null;
}

export async function loadPopupView(): Promise<PopupView> {
  const status = await refreshBadge();
  if (status.kind === 'unset') return { status, onPerch: false };
  const address = await activeAddress();
  const active = address && (address.label || address.managed) ? { origin: address.origin, label: address.label, managed: address.managed } : undefined;
  // The browser window the popup belongs to (a popup is no window of its own).
  const [tab] = await browser.tabs.query({ active: true, lastFocusedWindow: true });
  // tab.url is visible only with access to the tab's origin: exactly the granted Perch origin.
  const onPerch = tab?.url !== undefined && URL.canParse(tab.url) && new URL(tab.url).origin === status.origin;
  if (!onPerch || status.kind !== 'up' || tab?.id === undefined) return { status, onPerch, active };
  return { status, onPerch, active, signedIn: await whoIsSignedIn(tab.id).catch(() => null) };
}

function describe(view: PopupView): string[] {
  const { active } = view;
  const which = !active ? [] : active.managed ? [strings.popup.managed(active.origin)] : [strings.popup.active(active.label, active.origin)];
  return [...which, ...describeStatus(view)];
}

function describeStatus(view: PopupView): string[] {
  const { status } = view;
  if (status.kind === 'unset') return [strings.popup.unset];
  if (status.kind === 'no-access') return [strings.popup.noAccess(status.origin)];
  if (status.kind === 'unreachable') return [strings.popup.unreachable(status.origin)];
  if (!view.onPerch) return [strings.popup.elsewhere(status.origin)];
  return [strings.popup.onPerch(status.origin), view.signedIn ? strings.popup.signedIn(view.signedIn) : strings.popup.signedOut];
}

/** The toolbar action's popup. */
export function Popup() {
  const dark = usePrefersDark();
  const [view, setView] = useState<PopupView | undefined>();
  useEffect(() => {
    void loadPopupView().then(setView, () => setView({ status: { kind: 'unset' }, onPerch: false }));
  }, []);
  const origin = view && view.status.kind !== 'unset' ? view.status.origin : undefined;
  const open = (path: string) => {
    void browser.tabs.create({ url: `${origin}${path}` });
    window.close();
  };
  return (
    <main class={`perch w-80 bg-white p-4 text-zinc-900 dark:bg-zinc-900 dark:text-zinc-100 ${dark ? 'dark' : ''}`} aria-busy={view === undefined}>
      <h1 class="mb-2 flex items-center gap-2 text-base font-semibold">
        <img src="/icon/32.png" alt="" width={20} height={20} />
        {strings.options.title}
      </h1>
      {view && (
        <div role="status" class="mb-3 flex flex-col gap-1 text-sm">
          {describe(view).map((line) => <p key={line}>{line}</p>)}
        </div>
      )}
      <div class="flex flex-wrap gap-2">
        {origin && view?.status.kind === 'up' && (
          <Button variant="primary" onClick={() => open('/ui/')}>{strings.popup.openKestra}</Button>
        )}
        {origin && view?.status.kind === 'up' && !view.signedIn && (
          <Button onClick={() => open('/perch/login')}>{strings.popup.signIn}</Button>
        )}
        <Button onClick={() => { void browser.runtime.openOptionsPage(); window.close(); }}>{strings.popup.options}</Button>
      </div>
    </main>
  );
}
