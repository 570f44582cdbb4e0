import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { bindingPageSchema, groupPageSchema, rolePageSchema, userPageSchema } from '../../../components/iam/api';
import iamPage, { mayUseIam } from '../../../components/features/iam-page';
import { fakeApi, page, person } from './fake-api';

const tabNames = () => screen.queryAllByRole('tab').map((tab) => tab.textContent);

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam');
  fakeApi({
    'GET /api/v1/users': () => ({ body: userPageSchema.parse(page([])) }),
    'GET /api/v1/main/groups/search': () => ({ body: groupPageSchema.parse(page([{ id: 'g1', name: 'Data team', description: null, securityIntegrationName: null }])) }),
    'GET /api/v1/main/roles/search': () => ({ body: rolePageSchema.parse(page([])) }),
    'GET /api/v1/main/bindings/search': () => ({ body: bindingPageSchema.parse(page([])) }),
  });
});

describe('the IAM screen', () => {
  it('declares the iam-page feature on the promo content of admin/iam', () => {
    expect(iamPage).toMatchObject({ id: 'iam-page', routes: ['admin/iam'], anchor: 'promoContent', placement: 'replace' });
  });

  it('shows an instance owner every tab', async () => {
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    expect(tabNames()).toEqual(['Users', 'Groups', 'Roles', 'Bindings', 'Service accounts', 'Invitations']);
    expect(document.querySelector('#perch-iam')).not.toBeNull();
  });

  it('shows only the tabs and buttons the person may use', async () => {
    const me = person({ tenantWide: { BINDING: ['LIST'], GROUP: ['VIEW', 'LIST'] } });
    render(<IamScreen tenant="main" me={me} />);
    expect(tabNames()).toEqual(['Groups', 'Bindings']);
    await screen.findByText('Data team');
    // May list groups, may not create, edit or delete them.
    expect(screen.queryByTestId('group-create')).toBeNull();
    expect(screen.queryByTestId('group-edit')).toBeNull();
    expect(screen.queryByTestId('group-delete')).toBeNull();
    fireEvent.click(screen.getByRole('tab', { name: 'Bindings' }));
    await screen.findByText('No bindings yet.');
    expect(screen.queryByTestId('binding-create')).toBeNull();
  });

  it('hides the whole feature from someone with no IAM permission, and says so if shown anyway', () => {
    const me = person({ tenantWide: { FLOW: ['VIEW', 'LIST'] } });
    expect(mayUseIam(me)).toBe(false);
    expect(mayUseIam(person({ tenantWide: { INVITATION: ['CREATE'] } }))).toBe(true);
    expect(mayUseIam(person({ superAdmin: true }))).toBe(true);
    render(<IamScreen tenant="main" me={me} />);
    expect(tabNames()).toEqual([]);
    expect(screen.getByText(/You may not manage/)).toBeTruthy();
  });

  it('keeps the tab in the URL and follows back/forward', async () => {
    history.replaceState(null, '', '/ui/main/admin/iam?tab=roles');
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    expect(screen.getByRole('tab', { name: 'Roles' }).getAttribute('aria-selected')).toBe('true');
    fireEvent.click(screen.getByRole('tab', { name: 'Groups' }));
    expect(new URLSearchParams(location.search).get('tab')).toBe('groups');
    expect(location.pathname).toBe('/ui/main/admin/iam');
    await screen.findByText('Data team');
    // Back: the browser restores the previous URL and fires popstate.
    history.replaceState(null, '', '/ui/main/admin/iam?tab=bindings');
    dispatchEvent(new PopStateEvent('popstate'));
    await waitFor(() => expect(screen.getByRole('tab', { name: 'Bindings' }).getAttribute('aria-selected')).toBe('true'));
    // An unknown tab falls back to the first one.
    history.replaceState(null, '', '/ui/main/admin/iam?tab=nonsense');
    dispatchEvent(new PopStateEvent('popstate'));
    await waitFor(() => expect(screen.getByRole('tab', { name: 'Users' }).getAttribute('aria-selected')).toBe('true'));
  });

  it('moves between tabs with the arrow keys', () => {
    render(<IamScreen tenant="main" me={person({ tenantWide: { GROUP: ['LIST'], ROLE: ['LIST'] } })} />);
    fireEvent.keyDown(screen.getByRole('tab', { name: 'Groups' }), { key: 'ArrowRight' });
    expect(screen.getByRole('tab', { name: 'Roles' }).getAttribute('aria-selected')).toBe('true');
    expect(new URLSearchParams(location.search).get('tab')).toBe('roles');
  });
});
