import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { uiConfig } from '../../../components/app/session';
import { AccountMenu, browser } from '../../../components/shell/account-menu';
import { at, json, mockFetch, person, uiConfigOf } from './fixtures';

const ada = person();

beforeEach(() => {
  uiConfig.value = uiConfigOf({
    tenants: [{ id: 'main', name: 'Main' }],
    rightSidebar: { customLinks: { wiki: { title: 'Runbooks', url: 'https://wiki.acme.io/runbooks' } } },
  });
});
afterEach(() => {
  uiConfig.value = null;
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const menuButton = () => screen.getByRole('button', { name: 'Account menu' });

describe('the account menu in the top bar', () => {
  it('shows who is signed in behind a proper menu button', () => {
    render(<AccountMenu context={at('/ui/main/flows', ada)} />);
    expect(document.getElementById('perch-top-bar')).toBeTruthy();
    const button = menuButton();
    expect(button.textContent).toContain('Ada Lovelace');
    expect(button.getAttribute('aria-haspopup')).toBe('menu');
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('opens with the keyboard, moves with the arrows and closes with Escape', async () => {
    render(<AccountMenu context={at('/ui/main/flows', ada)} />);
    const button = menuButton();
    button.focus();
    fireEvent.keyDown(button, { key: 'ArrowDown' });
    const menu = await screen.findByRole('menu');
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const items = [...menu.querySelectorAll<HTMLElement>('[role^="menuitem"]')];
    expect(items.map((i) => i.textContent)).toEqual(['✓Main', 'Runbooks (opens in a new tab)↗', 'Your account, tokens and sessions', 'Sign out']);
    // The account page is Perch's own: it works whatever state Kestra is in.
    expect(items[2]!.getAttribute('href')).toBe('/perch/account');
    await waitFor(() => expect(document.activeElement).toBe(items[0]));
    fireEvent.keyDown(items[0]!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(items[1]);
    fireEvent.keyDown(items[1]!, { key: 'End' });
    expect(document.activeElement).toBe(items[3]);
    fireEvent.keyDown(items[3]!, { key: 'ArrowDown' });
    expect(document.activeElement).toBe(items[0]);
    fireEvent.keyDown(items[0]!, { key: 'ArrowUp' });
    expect(document.activeElement).toBe(items[3]);
    fireEvent.keyDown(items[3]!, { key: 'Escape' });
    expect(screen.queryByRole('menu')).toBeNull();
    expect(document.activeElement).toBe(button);
    expect(button.getAttribute('aria-expanded')).toBe('false');
  });

  it('offers Perch’s screens too (the 2.0 sidebar can be folded away), navigating inside the app', async () => {
    const owner = person({ superAdmin: true });
    const navigations: string[] = [];
    const onPop = () => navigations.push(location.pathname);
    addEventListener('popstate', onPop);
    try {
      render(<AccountMenu context={at('/ui/main/flows', owner)} />);
      fireEvent.click(menuButton());
      const group = await screen.findByRole('group', { name: 'Perch screens' });
      const links = [...group.querySelectorAll<HTMLAnchorElement>('a[role=menuitem]')];
      expect(links.map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
        ['IAM', '/ui/main/admin/iam'],
        ['Audit logs', '/ui/main/admin/auditlogs'],
        ['Tenants', '/ui/main/admin/tenants/list'],
        ['Instance', '/ui/main/admin/instance'],
        ['Apps', '/ui/main/apps'],
      ]);
      fireEvent.click(links[1]!);
      expect(navigations).toEqual(['/ui/main/admin/auditlogs']);
      expect(screen.queryByRole('menu')).toBeNull();
    } finally {
      removeEventListener('popstate', onPop);
    }
  });

  it('lists the tenants (the current one checked) and the custom links, opened in a new tab', () => {
    render(<AccountMenu context={at('/ui/main/flows', ada)} />);
    fireEvent.click(menuButton());
    const tenant = screen.getByRole('menuitemradio', { name: /Main/ });
    expect(tenant.getAttribute('aria-checked')).toBe('true');
    const link = screen.getByRole('menuitem', { name: /Runbooks/ });
    expect(link.getAttribute('href')).toBe('https://wiki.acme.io/runbooks');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.getAttribute('rel')).toContain('noopener');
  });

  it('switching tenant selects it for the session (no sign-out), then reloads the same page, which the stock UI keeps under main', async () => {
    uiConfig.value = uiConfigOf({ tenants: [{ id: 'main', name: 'Main' }, { id: 'acme', name: 'Acme' }] });
    const bodies: unknown[] = [];
    const api = mockFetch(async (_url, request) => {
      bodies.push(await request.clone().json());
      return { tenantId: 'acme' };
    });
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    render(<AccountMenu context={at('/ui/main/flows?scope=USER', ada)} />);
    fireEvent.click(menuButton());
    fireEvent.click(screen.getByRole('menuitemradio', { name: /Acme/ }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/ui/main/flows?scope=USER'));
    expect(api.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual(['PUT /api/v1/me/tenant']);
    expect(bodies).toEqual([{ tenantId: 'acme' }]);
  });

  it('marks the session’s tenant as current, whatever the URL says', () => {
    uiConfig.value = uiConfigOf({ tenants: [{ id: 'main', name: 'Main' }, { id: 'acme', name: 'Acme' }] });
    render(<AccountMenu context={at('/ui/main/flows', person({ selectedTenant: 'acme' }))} />);
    fireEvent.click(menuButton());
    expect(screen.getByRole('menuitemradio', { name: /Acme/ }).getAttribute('aria-checked')).toBe('true');
    expect(screen.getByRole('menuitemradio', { name: /Main/ }).getAttribute('aria-checked')).toBe('false');
  });

  it('signs out through Perch and goes to its sign-in page', async () => {
    const api = mockFetch(() => json(null, 204));
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    render(<AccountMenu context={at('/ui/main/flows', ada)} />);
    fireEvent.click(menuButton());
    fireEvent.click(screen.getByRole('menuitem', { name: 'Sign out' }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith('/perch/login'));
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.method).toBe('POST');
    expect(new URL(api.requests[0]!.url).pathname).toBe('/api/v1/logout');
  });

  it('stays and says so when signing out fails', async () => {
    mockFetch(() => json({ message: 'Cross-site request refused' }, 403));
    const assign = vi.spyOn(browser, 'assign').mockImplementation(() => {});
    render(<AccountMenu context={at('/ui/main/flows', ada)} />);
    fireEvent.click(menuButton());
    fireEvent.click(screen.getByRole('menuitem', { name: 'Sign out' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Cross-site request refused');
    expect(assign).not.toHaveBeenCalled();
  });
});
