import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineFeature, type Feature } from '../../../components/app/feature';
import { ANCHOR_WAIT_MS, FeatureManager } from '../../../components/app/feature-manager';
import { me, type Me } from '../../../components/app/session';
import { theme, followKestraTheme } from '../../../components/app/theme';

const ADMIN: Me = {
  id: 'u1',
  superAdmin: true,
  instanceOwner: true,
  restricted: false,
  profile: { email: 'admin@perch.test', firstName: null, lastName: null, username: 'admin@perch.test' },
  auths: [],
  tenants: [{ id: 'main', name: 'main', logo: null }],
  permissions: { tenantWide: {}, namespaces: {} },
  selectedTenant: 'main',
} as unknown as Me;

/** A page shaped like Kestra 2.0's: sidebar, top bar, promo content. */
function kestraPage(promo: boolean): void {
  document.body.innerHTML = `
    <div id="app-container"><div id="app">
      <aside id="side-menu"><div class="top-level-link"><a class="ks-sidebar-item" href="/ui/main/flows">Flows</a></div></aside>
      <main><header><h1><span id="topnav-title-slot">Page</span></h1><div id="topnav-actions-slot"></div></header>
      ${promo ? '<section class="container empty-template">Enterprise Edition</section>' : '<div class="content">flows</div>'}
      </main>
    </div></div>`;
}

function go(path: string, promo: boolean): void {
  history.pushState(null, '', path);
  kestraPage(promo);
  dispatchEvent(new CustomEvent('KestraRouterAfterEach'));
}

const promoFeature: Feature = defineFeature({
  id: 'promo-screen',
  routes: ['admin/iam'],
  anchor: 'promoContent',
  placement: 'replace',
  title: 'Promo screen',
  render: ({ tenant }) => <p id="promo-screen">screen for {tenant}</p>,
});
const everywhere: Feature = defineFeature({
  id: 'everywhere',
  routes: ['*'],
  anchor: 'topBarActions',
  placement: 'append',
  title: 'Everywhere',
  render: () => <button id="everywhere">menu</button>,
});
const banner: Feature = defineFeature({
  id: 'banner-like',
  routes: ['*'],
  anchor: 'page',
  placement: 'before',
  title: 'Banner',
  render: () => <p id="banner-like">notice</p>,
});
const ownersOnly: Feature = defineFeature({
  id: 'owners-only',
  routes: ['*'],
  anchor: 'topBarActions',
  placement: 'append',
  title: 'Owners only',
  visibleTo: (person) => person.superAdmin,
  render: () => <span id="owners-only">owners</span>,
});

const shadowQuery = (selector: string) =>
  [...document.querySelectorAll('perch-root')].map((host) => host.shadowRoot!.querySelector(selector)).find(Boolean) ?? null;

describe('the feature manager', () => {
  let manager: FeatureManager;
  beforeEach(() => {
    me.value = ADMIN;
  });
  afterEach(() => {
    manager?.stop();
    vi.useRealTimers();
  });

  it('mounts features on their routes inside shadow roots and replaces the promo content', async () => {
    go('/ui/main/admin/iam', true);
    manager = new FeatureManager([promoFeature, everywhere]);
    manager.start();
    expect(manager.mountedIds().sort()).toEqual(['everywhere', 'promo-screen']);
    const promo = document.querySelector<HTMLElement>('section.empty-template')!;
    expect(promo.style.display).toBe('none');
    expect(shadowQuery('#promo-screen')?.textContent).toBe('screen for main');
    // Nothing of Perch lives in the page's own DOM besides its hosts.
    expect(document.querySelector('#promo-screen')).toBeNull();
    expect(document.querySelector('#topnav-actions-slot perch-root[data-feature=everywhere]')).not.toBeNull();
  });

  it('gives the screens the session’s selected tenant, not the URL’s (the stock UI stays under /ui/main/…)', () => {
    me.value = { ...ADMIN, selectedTenant: 'acme' } as Me;
    go('/ui/main/admin/iam', true);
    manager = new FeatureManager([promoFeature]);
    manager.start();
    expect(shadowQuery('#promo-screen')?.textContent).toBe('screen for acme');
  });

  it('tears a screen down when the SPA leaves its route and mounts it again on return', async () => {
    go('/ui/main/admin/iam', true);
    manager = new FeatureManager([promoFeature, everywhere]);
    manager.start();
    go('/ui/main/flows', false);
    expect(manager.mountedIds()).toEqual(['everywhere']);
    expect(document.querySelector('perch-root[data-feature=promo-screen]')).toBeNull();
    go('/ui/main/admin/iam', true);
    expect(manager.mountedIds().sort()).toEqual(['everywhere', 'promo-screen']);
  });

  it('keeps a screen mounted (and its focus) when only the query changes', () => {
    go('/ui/main/admin/iam', true);
    manager = new FeatureManager([promoFeature]);
    manager.start();
    const host = document.querySelector('perch-root[data-feature=promo-screen]');
    history.pushState(null, '', '/ui/main/admin/iam?tab=roles');
    dispatchEvent(new PopStateEvent('popstate'));
    expect(document.querySelector('perch-root[data-feature=promo-screen]')).toBe(host);
  });

  it('keeps features that run everywhere mounted across navigations', () => {
    go('/ui/main/flows', false);
    manager = new FeatureManager([banner]);
    manager.start();
    const host = document.querySelector('perch-root[data-feature=banner-like]');
    history.pushState(null, '', '/ui/main/executions');
    dispatchEvent(new PopStateEvent('popstate'));
    expect(document.querySelector('perch-root[data-feature=banner-like]')).toBe(host);
  });

  it('restores the element it hid when the screen goes away but the page stays', () => {
    go('/ui/main/admin/iam', true);
    manager = new FeatureManager([promoFeature]);
    manager.start();
    history.pushState(null, '', '/ui/main/flows');
    dispatchEvent(new PopStateEvent('popstate'));
    expect(document.querySelector<HTMLElement>('section.empty-template')!.style.display).toBe('');
  });

  it('remounts a feature whose landmark Kestra re-rendered', async () => {
    go('/ui/main/flows', false);
    manager = new FeatureManager([everywhere]);
    manager.start();
    kestraPage(false); // Vue replaced the top bar without a navigation
    await new Promise((r) => setTimeout(r, 0));
    expect(document.querySelector('#topnav-actions-slot perch-root[data-feature=everywhere]')).not.toBeNull();
  });

  it('shows a feature only to the people it is for', () => {
    me.value = { ...ADMIN, superAdmin: false } as Me;
    go('/ui/main/flows', false);
    manager = new FeatureManager([everywhere, ownersOnly]);
    manager.start();
    expect(manager.mountedIds()).toEqual(['everywhere']);
  });

  it('falls back to a floating button and names the missing anchor when a landmark never appears', async () => {
    vi.useFakeTimers();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    history.pushState(null, '', '/ui/main/admin/iam');
    document.body.innerHTML = '<div id="app"><main>no promo section here</main></div>';
    manager = new FeatureManager([promoFeature]);
    manager.start();
    expect(document.querySelector('perch-root[data-feature=fallback-launcher]')).toBeNull();
    vi.advanceTimersByTime(ANCHOR_WAIT_MS + 1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('section.empty-template'));
    expect(warn.mock.calls[0]![0]).toContain('promo-screen');
    const launcher = shadowQuery('#perch-fallback') as HTMLButtonElement;
    expect(launcher).not.toBeNull();
    launcher.click();
    await vi.runAllTimersAsync();
    (shadowQuery('[role=menuitem]') as HTMLButtonElement).click();
    await vi.runAllTimersAsync();
    expect(shadowQuery('#promo-screen')?.textContent).toBe('screen for main');
    warn.mockRestore();
  });

  it('follows Kestra’s theme on every root', async () => {
    document.documentElement.className = 'light';
    followKestraTheme();
    go('/ui/main/flows', false);
    manager = new FeatureManager([everywhere]);
    manager.start();
    const container = () => document.querySelector('perch-root')!.shadowRoot!.querySelector('.perch')!;
    expect(container().classList.contains('dark')).toBe(false);
    document.documentElement.className = 'dark';
    await new Promise((r) => setTimeout(r, 0));
    expect(theme.value).toBe('dark');
    expect(container().classList.contains('dark')).toBe(true);
  });
});
