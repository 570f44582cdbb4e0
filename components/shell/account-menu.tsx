import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { send } from '../app/api';
import type { FeatureContext } from '../app/feature';
import { navigate, uiPath } from '../app/routes';
import { uiConfig, type Me } from '../app/session';
import { strings } from '../app/strings';
import { sidebarEntriesFor } from './sidebar';

/** Where the browser goes; a seam for tests (happy-dom does not load pages). */
export const browser = {
  assign(url: string): void {
    location.assign(url);
  },
};

/** Perch's sign-in page (backend/auth/routes.ts); Kestra's own /ui/login redirects there too. */
export const LOGIN_PAGE = '/perch/login';

export function displayName(me: Me): string {
  const name = [me.profile.firstName, me.profile.lastName].filter(Boolean).join(' ');
  return name || me.profile.email || me.profile.username;
}

function initials(name: string): string {
  return name.split(/[\s@.]+/).filter(Boolean).slice(0, 2).map((part) => part[0]!.toUpperCase()).join('');
}

const ITEM = 'flex w-full items-center gap-2 px-3 py-1.5 text-left text-sm text-zinc-800 hover:bg-zinc-100 focus:bg-zinc-100 focus:outline-none dark:text-zinc-100 dark:hover:bg-zinc-800 dark:focus:bg-zinc-800';

/**
 * The signed-in person and their menu (WAI-ARIA menu button): tenants, Perch's screens, custom links,
 * sign out. The screens are here as well as in the left menu because Kestra 2.0's left menu can be
 * collapsed to zero width (SideBar.vue `is-collapsed`), which would leave them out of reach.
 * Enter, Space or ↓ opens on the first item, ↑ on the last; ↑ ↓ Home End move; Escape or Tab closes.
 */
export function AccountMenu({ context }: { context: FeatureContext }) {
  const { me, route } = context;
  const [open, setOpen] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const wrapper = useRef<HTMLDivElement>(null);
  const id = useId();
  const name = displayName(me);
  const config = uiConfig.value;
  const tenants = config?.tenants.length ? config.tenants : me.tenants.map((t) => ({ id: t.id, name: t.name }));
  const links = Object.entries(config?.rightSidebar.customLinks ?? {});
  const screens = sidebarEntriesFor(me);

  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? [])];
  const focusItem = (index: number) => {
    const all = items();
    if (all.length) all[(index + all.length) % all.length]!.focus();
  };
  const openAt = (index: number) => {
    setOpen(true);
    requestAnimationFrame(() => focusItem(index));
  };
  const close = (refocus = true) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  // A click anywhere else closes the menu (paths cross the shadow root).
  useEffect(() => {
    if (!open) return;
    const outside = (event: PointerEvent) => {
      if (wrapper.current && !event.composedPath().includes(wrapper.current)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside, true);
    return () => document.removeEventListener('pointerdown', outside, true);
  }, [open]);

  const signOut = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await send('post', '/api/v1/logout');
      browser.assign(LOGIN_PAGE);
    } catch (error) {
      setFailure(strings.topBar.signOutFailed(error instanceof Error ? error.message : String(error)));
      setBusy(false);
    }
  };

  // The stock UI always works in `main`: the session selects the tenant Perch routes it to.
  const current = context.tenant;
  const switchTenant = async (tenant: string) => {
    close();
    if (tenant === current) return;
    setFailure(null);
    try {
      await send('put', '/api/v1/me/tenant', { tenantId: tenant });
      // A full load of the same page, same URL: Kestra's stores and Perch's screens hold the tenant left.
      browser.assign(uiPath(route.path, route.tenant) + (route.query.size ? `?${route.query.toString()}` : ''));
    } catch (error) {
      setFailure(strings.topBar.switchFailed(error instanceof Error ? error.message : String(error)));
    }
  };

  return (
    <div id="perch-top-bar" ref={wrapper} class="relative inline-flex items-center">
      <button
        ref={button}
        id={`${id}-button`}
        type="button"
        aria-label={strings.topBar.menu}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={`${id}-menu`}
        title={strings.topBar.signedInAs(name)}
        class="inline-flex items-center gap-2 rounded-full py-1 pr-3 pl-1 text-sm text-zinc-800 hover:bg-zinc-100 focus-visible:outline-2 focus-visible:outline-kestra-500 dark:text-zinc-100 dark:hover:bg-zinc-800"
        onClick={() => (open ? close(false) : openAt(0))}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown') {
            event.preventDefault();
            openAt(0);
          } else if (event.key === 'ArrowUp') {
            event.preventDefault();
            openAt(-1);
          } else if (event.key === 'Escape' && open) {
            close();
          }
        }}
      >
        <span aria-hidden="true" class="flex size-7 items-center justify-center rounded-full bg-kestra-500 text-xs font-semibold text-white">{initials(name)}</span>
        <span class="max-w-[12rem] truncate" data-testid="perch-user-name">{name}</span>
      </button>
      {open && (
        <div class="absolute top-full right-0 z-[2000] mt-1 min-w-[16rem] rounded-lg border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
          <p class="border-b border-zinc-100 px-3 py-2 text-xs text-zinc-500 dark:border-zinc-800 dark:text-zinc-400">
            {strings.topBar.signedInAs(name)}
            {name !== me.profile.email && <span class="block truncate">{me.profile.email}</span>}
          </p>
          <ul
            ref={menu}
            id={`${id}-menu`}
            role="menu"
            aria-labelledby={`${id}-button`}
            onKeyDown={(event) => {
              const all = items();
              const index = all.indexOf((wrapper.current?.getRootNode() as Document | ShadowRoot).activeElement as HTMLElement);
              if (event.key === 'ArrowDown') focusItem(index + 1);
              else if (event.key === 'ArrowUp') focusItem(index - 1);
              else if (event.key === 'Home') focusItem(0);
              else if (event.key === 'End') focusItem(-1);
              else if (event.key === 'Escape') close();
              else if (event.key === 'Tab') return setOpen(false);
              else return;
              event.preventDefault();
            }}
          >
            <li role="none" class="px-3 pt-1 text-xs font-semibold text-zinc-500 uppercase dark:text-zinc-400" aria-hidden="true">{strings.topBar.tenant}</li>
            <li role="none">
              <ul role="group" aria-label={strings.topBar.tenant}>
                {tenants.map((tenant) => (
                  <li key={tenant.id} role="none">
                    <button type="button" role="menuitemradio" tabIndex={-1} aria-checked={tenant.id === current} class={ITEM} onClick={() => void switchTenant(tenant.id)}>
                      <span aria-hidden="true" class="w-4">{tenant.id === current ? '✓' : ''}</span>
                      {tenant.name}
                    </button>
                  </li>
                ))}
              </ul>
            </li>
            {screens.length > 0 && (
              <li role="none">
                <ul role="group" aria-label={strings.sidebar.navigation} class="mt-1 border-t border-zinc-100 pt-1 dark:border-zinc-800">
                  {screens.map((entry) => {
                    const href = uiPath(entry.route, route.tenant);
                    return (
                      <li key={entry.id} role="none">
                        <a
                          role="menuitem"
                          tabIndex={-1}
                          href={href}
                          data-entry={entry.id}
                          class={ITEM}
                          onClick={(event) => {
                            if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
                            event.preventDefault();
                            close(false);
                            navigate(href);
                          }}
                        >
                          {entry.title}
                        </a>
                      </li>
                    );
                  })}
                </ul>
              </li>
            )}
            {links.length > 0 && (
              <li role="none">
                <ul role="group" aria-label={strings.topBar.links} class="mt-1 border-t border-zinc-100 pt-1 dark:border-zinc-800">
                  {links.map(([key, link]) => (
                    <li key={key} role="none">
                      <a role="menuitem" tabIndex={-1} href={link.url} target="_blank" rel="noopener noreferrer" class={ITEM} onClick={() => close(false)}>
                        {link.title}
                        <span class="sr-only"> {strings.topBar.opensInNewTab}</span>
                        <span aria-hidden="true">↗</span>
                      </a>
                    </li>
                  ))}
                </ul>
              </li>
            )}
            <li role="separator" class="my-1 border-t border-zinc-100 dark:border-zinc-800" />
            <li role="none">
              <a role="menuitem" tabIndex={-1} href="/perch/account" class={ITEM} data-testid="perch-account-link">{strings.topBar.account}</a>
            </li>
            <li role="none">
              <button type="button" role="menuitem" tabIndex={-1} class={ITEM} disabled={busy} aria-disabled={busy} onClick={() => void signOut()}>
                {busy ? strings.topBar.signingOut : strings.topBar.signOut}
              </button>
            </li>
          </ul>
          {failure && <p role="alert" class="px-3 py-2 text-xs text-red-700 dark:text-red-300">{failure}</p>}
        </div>
      )}
    </div>
  );
}
