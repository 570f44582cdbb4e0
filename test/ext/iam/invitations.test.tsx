import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { rolesOf } from '../../../components/iam/invitations-tab';
import { groupPageSchema, invitationPageSchema, rolePageSchema } from '../../../components/iam/api';
import { apiInvitationDetailSchema, createInvitationRequestSchema, type ApiInvitationDetail } from '../../../lib/schemas/onboarding';
import { fakeApi, page, person } from './fake-api';

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam?tab=invitations');
});

const LINK = 'https://perch.acme.io/perch/invitations/accept?token=secret-link-token';

describe('IAM invitations', () => {
  it('merges role rows per role: namespaces, or tenant-wide when one row has none', () => {
    expect(rolesOf([
      { key: 0, roleId: 'editor', namespace: 'prod' },
      { key: 1, roleId: 'editor', namespace: 'dev' },
      { key: 2, roleId: 'viewer', namespace: '' },
      { key: 3, roleId: 'viewer', namespace: 'prod' },
      { key: 4, roleId: '', namespace: 'x' },
    ])).toEqual([{ id: 'editor', namespaces: ['prod', 'dev'] }, { id: 'viewer', namespaces: [] }]);
  });

  it('invites with roles per namespace and groups, shows the unmailed link once, and revokes', async () => {
    const invitations: ApiInvitationDetail[] = [];
    const calls = fakeApi({
      'GET /api/v1/main/invitations/search': () => ({ body: invitationPageSchema.parse(page(invitations.map((i) => ({ ...i, link: null })))) }),
      'GET /api/v1/main/roles/search': () => ({ body: rolePageSchema.parse(page([{ id: 'editor', name: 'Editor', isDefault: false, isManaged: true, permissionCount: 40 }])) }),
      'GET /api/v1/main/groups/search': () => ({ body: groupPageSchema.parse(page([{ id: 'g1', name: 'Data team', description: null, securityIntegrationName: null }])) }),
      'POST /api/v1/main/invitations': (call) => {
        const request = createInvitationRequestSchema.parse(call.body);
        const invitation = apiInvitationDetailSchema.parse({
          id: 'i1', roles: [{ id: 'editor', name: 'Editor', isDefault: false, isManaged: true, permissionCount: 40 }],
          groups: [{ id: 'g1', name: 'Data team', description: null, securityIntegrationName: null }],
          tenantId: 'main', email: request.email, status: 'PENDING', isExpired: false, sentAt: '2025-01-01T00:00:00Z', expiredAt: '2025-01-08T00:00:00Z',
          acceptedAt: null, superAdmin: false, link: LINK, bindings: [{ roleId: 'editor', namespace: 'prod' }], mailed: false,
        });
        invitations.push(invitation);
        return { status: 201, body: invitation };
      },
      'DELETE /api/v1/main/invitations/:id': (_, { id }) => {
        invitations.splice(invitations.findIndex((i) => i.id === id), 1);
        return { status: 204 };
      },
    });
    render(<IamScreen tenant="main" me={person({ tenantWide: { INVITATION: ['VIEW', 'CREATE', 'DELETE'], ROLE: ['LIST'], GROUP: ['LIST'] } })} />);
    await screen.findByText('No invitations yet.');
    fireEvent.click(screen.getByTestId('invitation-create'));
    const form = await screen.findByTestId('invitation-form');
    fireEvent.input(within(form).getByLabelText('Email'), { target: { value: 'zoe@acme.io' } });
    await within(form).findByRole('option', { name: 'Editor' });
    fireEvent.change(within(form).getByLabelText('Role 1'), { target: { value: 'editor' } });
    fireEvent.input(within(form).getByLabelText('Namespace for role 1'), { target: { value: 'prod' } });
    fireEvent.click(await within(form).findByLabelText('Data team'));
    fireEvent.click(within(form).getByRole('button', { name: 'Send invitation' }));
    await waitFor(() => expect(calls.callsTo('POST', '/api/v1/main/invitations')).toHaveLength(1));
    expect(calls.callsTo('POST', '/api/v1/main/invitations')[0]!.body).toEqual({ email: 'zoe@acme.io', roles: [{ id: 'editor', namespaces: ['prod'] }], groups: ['g1'] });

    expect((await screen.findByTestId('invitation-link')).textContent).toBe(LINK);
    const closeButtons = await screen.findAllByRole('button', { name: 'Close' });
    fireEvent.click(closeButtons[closeButtons.length - 1]!);
    await waitFor(() => expect(screen.queryByTestId('invitation-sent')).toBeNull());
    expect(new XMLSerializer().serializeToString(document.body)).not.toContain('secret-link-token');
    const row = await screen.findByTestId('invitation-row');
    expect(row.textContent).toContain('zoe@acme.io');
    expect(row.textContent).toContain('Editor on prod');

    fireEvent.click(within(row).getByRole('button', { name: 'Revoke the invitation of zoe@acme.io' }));
    fireEvent.click(await screen.findByTestId('confirm'));
    await waitFor(() => expect(calls.callsTo('DELETE', '/api/v1/main/invitations/i1')).toHaveLength(1));
    await screen.findByText('No invitations yet.');
  });
});
