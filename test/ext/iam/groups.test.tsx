import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { groupPageSchema, memberPageSchema, userPageSchema } from '../../../components/iam/api';
import { membershipSchema, apiGroupDetailSchema, apiGroupMemberSchema, createGroupRequestSchema, type ApiGroupMember, type ApiGroupSummary, type Membership } from '../../../lib/schemas/iam';
import { fakeApi, page, person } from './fake-api';

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam?tab=groups');
});

const member = (id: string, email: string, membership: Membership): ApiGroupMember =>
  apiGroupMemberSchema.parse({ id, username: email, displayName: email, groups: [{ id: 'g1', name: 'Data team', external: false, membership }] });

describe('IAM groups and members', () => {
  it('creates a group, then adds a member picked by email, makes them owner and removes them', async () => {
    const groups: ApiGroupSummary[] = [{ id: 'g1', name: 'Data team', description: 'Analysts', securityIntegrationName: null }];
    const members: ApiGroupMember[] = [member('u1', 'alice@acme.io', 'OWNER')];
    const calls = fakeApi({
      'GET /api/v1/main/groups/search': () => ({ body: groupPageSchema.parse(page(groups)) }),
      'POST /api/v1/main/groups': (call) => {
        const request = createGroupRequestSchema.parse(call.body);
        const group = { id: 'g2', name: request.name, description: request.description ?? null, securityIntegrationName: null };
        groups.push(group);
        return { body: apiGroupDetailSchema.parse(group) };
      },
      'GET /api/v1/main/groups/:id/members': () => ({ body: memberPageSchema.parse(page(members)) }),
      'GET /api/v1/users': () => ({ body: userPageSchema.parse(page([{ id: 'u2', username: 'bob@acme.io', displayName: 'Bob', tenants: [], auths: [], superAdmin: false, instanceOwner: false, disabled: false }])) }),
      'PUT /api/v1/main/groups/:id/members/membership/:userId': (call, { userId }) => {
        const m = members.find((x) => x.id === userId)!;
        m.groups[0]!.membership = membershipSchema.parse(call.query.get('membership'));
        return { body: m };
      },
      'PUT /api/v1/main/groups/:id/members/:userId': (_, { userId }) => {
        const m = member(userId!, 'bob@acme.io', 'MEMBER');
        members.push(m);
        return { body: m };
      },
      'DELETE /api/v1/main/groups/:id/members/:userId': (_, { userId }) => {
        const m = members.splice(members.findIndex((x) => x.id === userId), 1)[0]!;
        return { body: m };
      },
    });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    await screen.findByText('Data team');

    fireEvent.click(screen.getByTestId('group-create'));
    const form = await screen.findByTestId('group-form');
    fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'Ops' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(calls.callsTo('POST', '/api/v1/main/groups')[0]?.body).toEqual({ name: 'Ops', description: null }));
    expect(await screen.findByText('Ops')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Members of Data team' }));
    const panel = await screen.findByTestId('group-members-panel');
    await within(panel).findByText('alice@acme.io');
    const picker = within(panel).getByLabelText('User to add');
    fireEvent.focus(picker);
    fireEvent.input(picker, { target: { value: 'bob' } });
    fireEvent.mouseDown(await within(panel).findByRole('option', { name: /bob@acme.io/ }));
    fireEvent.click(within(panel).getByTestId('member-add'));
    await waitFor(() => expect(calls.callsTo('PUT', '/api/v1/main/groups/g1/members/u2')).toHaveLength(1));
    await waitFor(() => expect(within(panel).getAllByTestId('member-row')).toHaveLength(2));

    fireEvent.change(within(panel).getByLabelText('Membership of bob@acme.io'), { target: { value: 'OWNER' } });
    await waitFor(() => expect(calls.callsTo('PUT', '/api/v1/main/groups/g1/members/membership/u2')[0]?.query.get('membership')).toBe('OWNER'));

    fireEvent.click(within(panel).getByRole('button', { name: 'Remove bob@acme.io' }));
    await waitFor(() => expect(calls.callsTo('DELETE', '/api/v1/main/groups/g1/members/u2')).toHaveLength(1));
    await waitFor(() => expect(within(panel).getAllByTestId('member-row')).toHaveLength(1));
  });
});
