import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { rolePageSchema } from '../../../components/iam/api';
import { apiRoleDetailSchema, permissionsOutSchema, roleCreateOrUpdateRequestSchema, type ApiRoleDetail } from '../../../lib/schemas/iam';
import { fakeApi, page, person } from './fake-api';

/** A catalogue unlike the real one, so the grid can only come from the server's answer. */
const CATALOGUE = permissionsOutSchema.parse({ FLOW: ['VIEW', 'LIST', 'EXECUTE'], SECRET: ['VIEW', 'CREATE'], SERVICE_ACCOUNT: ['LIST'] });

const roles: ApiRoleDetail[] = [
  apiRoleDetailSchema.parse({ id: 'viewer', name: 'Viewer', description: 'Reads', permissions: { FLOW: ['VIEW', 'LIST'] }, isDefault: true, isManaged: true }),
  apiRoleDetailSchema.parse({ id: 'r-ops', name: 'Ops', description: null, permissions: { FLOW: ['EXECUTE'] }, isDefault: false, isManaged: false }),
];
const summaries = () => rolePageSchema.parse(page(roles.map((r) => ({ id: r.id, name: r.name, isDefault: r.isDefault, isManaged: r.isManaged, permissionCount: Object.values(r.permissions).flat().length }))));

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam?tab=roles');
});

function api() {
  return fakeApi({
    'GET /api/v1/main/roles/search': () => ({ body: summaries() }),
    'GET /api/v1/main/acls/permissions': () => ({ body: CATALOGUE }),
    'GET /api/v1/main/roles/:id': (_, { id }) => ({ body: roles.find((r) => r.id === id) }),
    'POST /api/v1/main/roles': (call) => {
      const request = roleCreateOrUpdateRequestSchema.parse(call.body);
      const role = apiRoleDetailSchema.parse({ id: 'r-new', name: request.name, description: request.description ?? null, permissions: request.permissions, isDefault: false, isManaged: false });
      roles.push(role);
      return { body: role };
    },
    'PUT /api/v1/main/roles/:id': (call, { id }) => {
      const request = roleCreateOrUpdateRequestSchema.parse(call.body);
      const role = roles.find((r) => r.id === id)!;
      Object.assign(role, { name: request.name, permissions: request.permissions });
      return { body: role };
    },
  });
}

const me = person({ tenantWide: { ROLE: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] } });

describe('IAM roles', () => {
  it('builds the permission grid from /acls/permissions and posts the checked set', async () => {
    const calls = api();
    render(<IamScreen tenant="main" me={me} />);
    await screen.findByText('Ops');
    fireEvent.click(screen.getByTestId('role-create'));
    const form = await screen.findByTestId('role-form');
    const grid = await within(form).findByTestId('permission-editor');
    const names = within(grid).getAllByRole('checkbox').map((box) => box.getAttribute('aria-label'));
    expect(names).toEqual([
      'Flow: all actions', 'Flow: View', 'Flow: List', 'Flow: Execute',
      'Secret: all actions', 'Secret: View', 'Secret: Create',
      'Service account: all actions', 'Service account: List',
    ]);
    fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'Runner' } });
    fireEvent.click(within(grid).getByLabelText('Flow: Execute'));
    fireEvent.click(within(grid).getByLabelText('Flow: View'));
    fireEvent.click(within(grid).getByLabelText('Secret: all actions'));
    fireEvent.click(within(grid).getByLabelText('Secret: Create'));
    expect((within(grid).getByLabelText('Secret: all actions') as HTMLInputElement).checked).toBe(false);
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(calls.callsTo('POST', '/api/v1/main/roles')).toHaveLength(1));
    expect(calls.callsTo('POST', '/api/v1/main/roles')[0]!.body).toEqual({
      name: 'Runner',
      description: null,
      permissions: { FLOW: ['VIEW', 'EXECUTE'], SECRET: ['VIEW'] },
      isDefault: false,
    });
    expect(await screen.findByText('Runner')).toBeTruthy();
  });

  it('moves through the grid with the arrow keys', async () => {
    api();
    render(<IamScreen tenant="main" me={me} />);
    fireEvent.click(await screen.findByTestId('role-create'));
    const grid = await screen.findByTestId('permission-editor');
    const start = within(grid).getByLabelText('Flow: View');
    start.focus();
    fireEvent.keyDown(start, { key: 'ArrowRight' });
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Flow: List');
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Secret: Create');
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    // The next row is shorter: the last checkbox of it.
    expect(document.activeElement?.getAttribute('aria-label')).toBe('Service account: List');
  });

  it('edits a custom role from its current permissions and shows managed roles read-only', async () => {
    const calls = api();
    render(<IamScreen tenant="main" me={me} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit Ops' }));
    const form = await screen.findByTestId('role-form');
    await waitFor(() => expect((within(form).getByLabelText('Flow: Execute') as HTMLInputElement).checked).toBe(true));
    fireEvent.click(within(form).getByLabelText('Service account: List'));
    fireEvent.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.callsTo('PUT', '/api/v1/main/roles/r-ops')).toHaveLength(1));
    expect((calls.callsTo('PUT', '/api/v1/main/roles/r-ops')[0]!.body as { permissions: unknown }).permissions).toEqual({ FLOW: ['EXECUTE'], SERVICE_ACCOUNT: ['LIST'] });
    await waitFor(() => expect(screen.queryByTestId('role-form')).toBeNull());

    expect(screen.queryByRole('button', { name: 'Edit Viewer' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete Viewer' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'View Viewer' }));
    const view = await screen.findByTestId('role-form');
    await waitFor(() => expect((within(view).getByLabelText('Flow: List') as HTMLInputElement).checked).toBe(true));
    expect(within(view).getAllByRole('checkbox').every((box) => (box as HTMLInputElement).disabled)).toBe(true);
    expect(within(view).queryByRole('button', { name: 'Save' })).toBeNull();
    expect(screen.getByText(/cannot be changed/)).toBeTruthy();
  });
});
