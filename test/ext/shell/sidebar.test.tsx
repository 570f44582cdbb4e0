import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import sidebarFeature from '../../../components/features/sidebar-entries';
import { PerchSidebar } from '../../../components/shell/sidebar';
import { at, person } from './fixtures';

const ALL = ['IAM', 'Audit logs', 'Tenants', 'Instance', 'Apps'];
const linkNames = () => within(document.getElementById('perch-sidebar')!).getAllByRole('link').map((a) => a.textContent);

describe('Perch entries in the left menu', () => {
  afterEach(() => history.replaceState(null, '', '/'));

  it('shows every entry to an instance owner, with real links into the current tenant', () => {
    render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    expect(linkNames()).toEqual(ALL);
    const href = (name: string) => screen.getByRole('link', { name }).getAttribute('href');
    expect(href('IAM')).toBe('/ui/main/admin/iam');
    expect(href('Audit logs')).toBe('/ui/main/admin/auditlogs');
    expect(href('Tenants')).toBe('/ui/main/admin/tenants/list');
    expect(href('Instance')).toBe('/ui/main/admin/instance');
    expect(href('Apps')).toBe('/ui/main/apps');
  });

  it('shows only what the person may use', () => {
    const auditor = person({ permissions: { namespaces: { company: { AUDITLOG: ['LIST'] } } } });
    const { unmount } = render(<PerchSidebar context={at('/ui/main/flows', auditor)} />);
    expect(linkNames()).toEqual(['Audit logs']);
    unmount();

    const groupManager = person({ permissions: { tenantWide: { GROUP: ['LIST'] }, namespaces: { team: { APP: ['VIEW'] } } } });
    const second = render(<PerchSidebar context={at('/ui/main/flows', groupManager)} />);
    expect(linkNames()).toEqual(['IAM', 'Apps']);
    second.unmount();

    const nobody = person({ permissions: { tenantWide: { FLOW: ['LIST', 'VIEW'] } } });
    render(<PerchSidebar context={at('/ui/main/flows', nobody)} />);
    expect(document.getElementById('perch-sidebar')).toBeNull();
    expect(sidebarFeature.visibleTo!(nobody)).toBe(false);
    expect(sidebarFeature.visibleTo!(person({ superAdmin: true }))).toBe(true);
  });

  it('navigates inside the single-page app on a plain click and marks the current page', async () => {
    render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    const pops: string[] = [];
    const onPop = () => pops.push(location.pathname);
    addEventListener('popstate', onPop);
    const link = screen.getByRole('link', { name: 'Tenants' });
    expect(link.getAttribute('aria-current')).toBeNull();
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 });
    link.dispatchEvent(click);
    removeEventListener('popstate', onPop);
    // No page load: the default action was prevented, the history entry pushed, vue-router told by popstate.
    expect(click.defaultPrevented).toBe(true);
    expect(location.pathname).toBe('/ui/main/admin/tenants/list');
    expect(pops).toEqual(['/ui/main/admin/tenants/list']);
    await waitFor(() => expect(screen.getByRole('link', { name: 'Tenants' }).getAttribute('aria-current')).toBe('page'));
    expect(screen.getByRole('link', { name: 'IAM' }).getAttribute('aria-current')).toBeNull();
  });

  it('leaves a modified click (new tab) to the browser', () => {
    render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    const link = screen.getByRole('link', { name: 'Audit logs' });
    let prevented: boolean | undefined;
    // Record what Perch did, then stop happy-dom from following the link.
    const spy = (event: Event) => {
      prevented = event.defaultPrevented;
      event.preventDefault();
    };
    addEventListener('click', spy);
    fireEvent.click(link, { ctrlKey: true });
    removeEventListener('click', spy);
    expect(prevented).toBe(false);
    expect(location.pathname).toBe('/ui/main/flows');
  });

  it('marks the current page on load', () => {
    render(<PerchSidebar context={at('/ui/main/admin/iam/users', person({ superAdmin: true }))} />);
    expect(screen.getByRole('link', { name: 'IAM' }).getAttribute('aria-current')).toBe('page');
  });
});
