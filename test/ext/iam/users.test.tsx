import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { apiUserSchema, apiUserSummarySchema, createOrUpdateUserRequestSchema, type ApiUserSummary } from '../../../lib/schemas/users';
import { userPageSchema } from '../../../components/iam/api';
import { fakeApi, page, person } from './fake-api';

const summary = (id: string, email: string, extra: Partial<ApiUserSummary> = {}) =>
  apiUserSummarySchema.parse({ id, username: email, displayName: email, tenants: [{ id: 'main', name: 'main' }], auths: [], superAdmin: false, instanceOwner: false, disabled: false, ...extra });

const full = (s: ApiUserSummary, names: { firstName?: string | null; lastName?: string | null } = {}) =>
  apiUserSchema.parse({ ...s, email: s.username, firstName: names.firstName ?? null, lastName: names.lastName ?? null, groups: [], restricted: false });

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam?tab=users');
});

describe('IAM users', () => {
  it('searches on the server with q, debounced', async () => {
    const users = [summary('u1', 'alice@acme.io'), summary('u2', 'bob@acme.io')];
    const api = fakeApi({
      'GET /api/v1/users': (call) => {
        const q = call.query.get('q');
        return { body: userPageSchema.parse(page(users.filter((u) => !q || u.username.includes(q)))) };
      },
    });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    expect(await screen.findByText('bob@acme.io')).toBeTruthy();
    fireEvent.input(screen.getByLabelText('Search users'), { target: { value: 'al' } });
    fireEvent.input(screen.getByLabelText('Search users'), { target: { value: 'ali' } });
    await waitFor(() => expect(api.callsTo('GET', '/api/v1/users').some((c) => c.query.get('q') === 'ali')).toBe(true));
    await waitFor(() => expect(screen.getAllByTestId('user-row').map((row) => row.textContent)).toEqual([expect.stringContaining('alice@acme.io')]));
    expect(screen.queryByText('bob@acme.io')).toBeNull();
    // Debounced: the intermediate "al" never reached the server.
    expect(api.callsTo('GET', '/api/v1/users').map((c) => c.query.get('q'))).not.toContain('al');
  });

  it('creates a user with the typed fields and shows the refreshed list', async () => {
    const users = [summary('u1', 'alice@acme.io')];
    const api = fakeApi({
      'GET /api/v1/users': () => ({ body: userPageSchema.parse(page(users)) }),
      'POST /api/v1/users': (call) => {
        const body = createOrUpdateUserRequestSchema.parse(call.body);
        const created = summary('u9', body.email, { displayName: `${body.firstName} ${body.lastName}` });
        users.push(created);
        return { status: 201, body: full(created, body) };
      },
    });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    await screen.findByText('alice@acme.io');
    fireEvent.click(screen.getByTestId('user-create'));
    const form = await screen.findByTestId('user-form');
    fireEvent.input(within(form).getByLabelText('Email'), { target: { value: ' Carol@acme.io ' } });
    fireEvent.input(within(form).getByLabelText('First name'), { target: { value: 'Carol' } });
    fireEvent.input(within(form).getByLabelText('Last name'), { target: { value: 'Jones' } });
    fireEvent.input(within(form).getByLabelText('Password'), { target: { value: 'correct horse battery' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(api.callsTo('POST', '/api/v1/users')).toHaveLength(1));
    expect(api.callsTo('POST', '/api/v1/users')[0]!.body).toEqual({ email: 'Carol@acme.io', firstName: 'Carol', lastName: 'Jones', password: 'correct horse battery' });
    expect(await screen.findByText('carol@acme.io')).toBeTruthy();
    expect(screen.getAllByTestId('user-row')).toHaveLength(2);
    expect(screen.queryByTestId('user-form')).toBeNull();
  });

  it('leaves the password out when none is given, disables, resets a password and deletes after confirming', async () => {
    const users = [summary('u1', 'alice@acme.io')];
    const api = fakeApi({
      'GET /api/v1/users': () => ({ body: userPageSchema.parse(page(users)) }),
      'POST /api/v1/users': (call) => ({ status: 201, body: full(summary('u2', (call.body as { email: string }).email)) }),
      'PATCH /api/v1/users/:id': (call, { id }) => {
        const user = users.find((u) => u.id === id)!;
        Object.assign(user, call.body);
        return { body: full(user) };
      },
      'PATCH /api/v1/users/:id/password': (_, { id }) => ({ body: full(users.find((u) => u.id === id)!) }),
      'DELETE /api/v1/users/:id': (_, { id }) => {
        users.splice(users.findIndex((u) => u.id === id), 1);
        return { status: 204 };
      },
    });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    await screen.findByText('alice@acme.io');

    fireEvent.click(screen.getByTestId('user-create'));
    const form = await screen.findByTestId('user-form');
    fireEvent.input(within(form).getByLabelText('Email'), { target: { value: 'dan@acme.io' } });
    fireEvent.submit(form);
    await waitFor(() => expect(api.callsTo('POST', '/api/v1/users')).toHaveLength(1));
    expect(api.callsTo('POST', '/api/v1/users')[0]!.body).toEqual({ email: 'dan@acme.io' });

    fireEvent.click(await screen.findByRole('button', { name: 'Disable alice@acme.io' }));
    await waitFor(() => expect(api.callsTo('PATCH', '/api/v1/users/u1')[0]?.body).toEqual({ disabled: true }));
    expect(await screen.findByRole('button', { name: 'Enable alice@acme.io' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Reset password of alice@acme.io' }));
    fireEvent.input(await screen.findByLabelText('New password'), { target: { value: 'another long secret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Set password' }));
    await waitFor(() => expect(api.callsTo('PATCH', '/api/v1/users/u1/password')[0]?.body).toEqual({ password: 'another long secret' }));

    fireEvent.click(await screen.findByRole('button', { name: 'Delete alice@acme.io' }));
    expect(api.callsTo('DELETE', '/api/v1/users/u1')).toHaveLength(0);
    fireEvent.click(await screen.findByTestId('confirm'));
    await waitFor(() => expect(api.callsTo('DELETE', '/api/v1/users/u1')).toHaveLength(1));
    await waitFor(() => expect(screen.queryByText('alice@acme.io')).toBeNull());
  });

  it("shows the server's message when a call is refused", async () => {
    fakeApi({
      'GET /api/v1/users': () => ({ body: userPageSchema.parse(page([summary('u1', 'alice@acme.io')])) }),
      'POST /api/v1/users': () => ({ status: 403, body: { message: 'Only instance owners may manage users' } }),
    });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    await screen.findByText('alice@acme.io');
    fireEvent.click(screen.getByTestId('user-create'));
    const form = await screen.findByTestId('user-form');
    fireEvent.input(within(form).getByLabelText('Email'), { target: { value: 'eve@acme.io' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    expect((await within(form).findByRole('alert')).textContent).toContain('Only instance owners may manage users');
    // The dialog stays open with what was typed.
    expect((within(form).getByLabelText('Email') as HTMLInputElement).value).toBe('eve@acme.io');
  });

  it('shows a refused list load with its message', async () => {
    fakeApi({ 'GET /api/v1/users': () => ({ status: 403, body: { message: 'This route is for instance owners' } }) });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    expect((await screen.findByRole('alert')).textContent).toContain('This route is for instance owners');
  });
});
