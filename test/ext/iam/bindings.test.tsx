import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { bindingPageSchema, groupPageSchema, rolePageSchema, userPageSchema } from '../../../components/iam/api';
import { apiBindingDetailSchema, createBindingRequestSchema, type ApiBindingDetail } from '../../../lib/schemas/iam';
import { kestraNamespacePageSchema } from '../../../lib/schemas/kestra-namespaces';
import { fakeApi, page, person } from './fake-api';

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam?tab=bindings');
});

function api(options: { refuseCreate?: string } = {}) {
  const bindings: ApiBindingDetail[] = [
    apiBindingDetailSchema.parse({ id: 'b1', type: 'USER', namespace: null, role: { id: 'admin', name: 'Admin' }, group: null, user: { id: 'u1', username: 'alice@acme.io', displayName: 'Alice', type: 'STANDARD' } }),
  ];
  return fakeApi({
    'GET /api/v1/main/bindings/search': () => ({ body: bindingPageSchema.parse(page(bindings)) }),
    'GET /api/v1/main/roles/search': () => ({ body: rolePageSchema.parse(page([{ id: 'admin', name: 'Admin', isDefault: false, isManaged: true, permissionCount: 99 }, { id: 'editor', name: 'Editor', isDefault: false, isManaged: true, permissionCount: 40 }])) }),
    'GET /api/v1/main/groups/search': (call) => ({
      body: groupPageSchema.parse(page([{ id: 'g-data', name: 'Data team', description: null, securityIntegrationName: null }].filter((g) => g.name.toLowerCase().includes((call.query.get('q') ?? '').toLowerCase())))),
    }),
    'GET /api/v1/users': (call) => ({
      body: userPageSchema.parse(page([{ id: 'u2', username: 'bob@acme.io', displayName: 'Bob', tenants: [], auths: [], superAdmin: false, instanceOwner: false, disabled: false }].filter((u) => u.username.includes(call.query.get('q') ?? '')))),
    }),
    'GET /api/v1/main/namespaces/search': () => ({ body: kestraNamespacePageSchema.parse(page([{ id: 'company' }, { id: 'company.team' }])) }),
    'POST /api/v1/main/bindings': (call) => {
      if (options.refuseCreate) return { status: 403, body: { message: options.refuseCreate } };
      const request = createBindingRequestSchema.parse(call.body);
      const created = apiBindingDetailSchema.parse({
        id: 'b2', type: request.type, namespace: request.namespaceId ?? null, role: { id: request.roleId, name: 'Editor' },
        group: request.type === 'GROUP' ? { id: request.externalId, name: 'Data team' } : null,
        user: request.type === 'USER' ? { id: request.externalId, username: 'bob@acme.io', displayName: 'Bob', type: 'STANDARD' } : null,
      });
      bindings.push(created);
      return { body: created };
    },
  });
}

const admin = person({ tenantWide: { BINDING: ['LIST', 'CREATE', 'DELETE'], ROLE: ['LIST'], GROUP: ['LIST'] } });

/** Picks a role once the select holds the tenant's roles. */
async function chooseRole(form: HTMLElement, id: string) {
  await within(form).findByRole('option', { name: id === 'admin' ? 'Admin' : 'Editor' });
  fireEvent.change(within(form).getByLabelText('Role'), { target: { value: id } });
}

async function openForm() {
  await screen.findByText('alice@acme.io');
  fireEvent.click(screen.getByTestId('binding-create'));
  return screen.findByTestId('binding-form');
}

describe('IAM bindings', () => {
  it('binds a group picked from the suggestions to a role on a suggested namespace', async () => {
    const calls = api();
    render(<IamScreen tenant="main" me={admin} />);
    const form = await openForm();
    const who = within(form).getByLabelText('User or group');
    fireEvent.focus(who);
    fireEvent.input(who, { target: { value: 'data' } });
    fireEvent.mouseDown(await within(form).findByRole('option', { name: /Data team/ }));
    expect((who as HTMLInputElement).value).toBe('Data team');
    await chooseRole(form, 'editor');
    const namespace = within(form).getByLabelText('Namespace');
    fireEvent.focus(namespace);
    fireEvent.input(namespace, { target: { value: 'company.t' } });
    fireEvent.mouseDown(await within(form).findByRole('option', { name: 'company.team' }));
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(calls.callsTo('POST', '/api/v1/main/bindings')).toHaveLength(1));
    expect(calls.callsTo('POST', '/api/v1/main/bindings')[0]!.body).toEqual({ type: 'GROUP', externalId: 'g-data', roleId: 'editor', namespaceId: 'company.team' });
    const rows = await screen.findAllByTestId('binding-row');
    await waitFor(() => expect(screen.getAllByTestId('binding-row')).toHaveLength(2));
    expect(rows[0]!.textContent).toContain('Tenant-wide');
    expect(screen.getAllByTestId('binding-row')[1]!.textContent).toContain('company.team');
  });

  it('refuses a malformed namespace before calling the server, and binds tenant-wide when empty', async () => {
    const calls = api();
    render(<IamScreen tenant="main" me={admin} />);
    const form = await openForm();
    fireEvent.input(within(form).getByLabelText('User or group'), { target: { value: 'Data team' } });
    await chooseRole(form, 'editor');
    fireEvent.input(within(form).getByLabelText('Namespace'), { target: { value: 'Company..Team' } });
    fireEvent.submit(form);
    expect((await within(form).findByRole('alert')).textContent).toMatch(/namespace must be/);
    expect(calls.callsTo('POST', '/api/v1/main/bindings')).toHaveLength(0);
    fireEvent.input(within(form).getByLabelText('Namespace'), { target: { value: '' } });
    fireEvent.submit(form);
    // Typed, not picked: the exact group name is resolved to its id.
    await waitFor(() => expect(calls.callsTo('POST', '/api/v1/main/bindings')[0]?.body).toEqual({ type: 'GROUP', externalId: 'g-data', roleId: 'editor', namespaceId: null }));
  });

  it("shows the server's refusal in the form", async () => {
    api({ refuseCreate: 'You cannot bind role Editor tenant-wide: it grants permissions you do not hold tenant-wide (missing FLOW: DELETE)' });
    render(<IamScreen tenant="main" me={admin} />);
    const form = await openForm();
    fireEvent.input(within(form).getByLabelText('User or group'), { target: { value: 'g-data' } });
    fireEvent.change(within(form).getByLabelText('Subject type'), { target: { value: 'GROUP' } });
    await chooseRole(form, 'editor');
    fireEvent.submit(form);
    expect((await within(form).findByRole('alert')).textContent).toContain('missing FLOW: DELETE');
  });

  it('suggests users to instance owners', async () => {
    const calls = api();
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    const form = await openForm();
    const who = within(form).getByLabelText('User or group');
    fireEvent.focus(who);
    fireEvent.input(who, { target: { value: 'bob' } });
    fireEvent.mouseDown(await within(form).findByRole('option', { name: /bob@acme.io/ }));
    await chooseRole(form, 'admin');
    fireEvent.submit(form);
    await waitFor(() => expect(calls.callsTo('POST', '/api/v1/main/bindings')[0]?.body).toEqual({ type: 'USER', externalId: 'u2', roleId: 'admin', namespaceId: null }));
  });
});
