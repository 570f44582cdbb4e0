import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { IamScreen } from '../../../components/iam/iam-screen';
import { serviceAccountPageSchema } from '../../../components/iam/api';
import { apiTokenListSchema, apiTokenSchema, createApiTokenRequestSchema, createApiTokenResponseSchema, type ApiToken } from '../../../lib/schemas/tokens';
import { fakeApi, page, person } from './fake-api';

const SECRET = 'perch_s3cr3t_0123456789abcdefghijklmnopqrstuvwxyz';

beforeEach(async () => {
  await clearCache();
  history.replaceState(null, '', '/ui/main/admin/iam?tab=service-accounts');
});

/** Everything Perch keeps in IndexedDB, as one string. */
async function cachedText(): Promise<string> {
  const db = await openDB('perch-cache', 1);
  const all = await db.getAll('lists');
  db.close();
  return JSON.stringify(all);
}

describe('service account tokens', () => {
  it('shows a created token once, then neither the page nor the cache holds it', async () => {
    const tokens: ApiToken[] = [];
    const api = fakeApi({
      'GET /api/v1/main/service-accounts': () => ({
        body: serviceAccountPageSchema.parse(page([{ id: 'sa1', username: 'ci-bot', displayName: 'ci-bot', description: 'CI', groups: [], auths: [] }])),
      }),
      'GET /api/v1/main/service-accounts/:id/api-tokens': () => ({ body: apiTokenListSchema.parse(page(tokens)) }),
      'POST /api/v1/main/service-accounts/:id/api-tokens': (call) => {
        const request = createApiTokenRequestSchema.parse(call.body);
        tokens.push(apiTokenSchema.parse({ id: 't1', name: request.name, description: request.description ?? null, prefix: SECRET.slice(0, 12), iat: '2025-01-01T00:00:00Z', exp: null, lastUsed: null, extended: false, expired: false }));
        return { body: createApiTokenResponseSchema.parse({ id: 't1', name: request.name, fullToken: SECRET, prefix: SECRET.slice(0, 12), exp: null }) };
      },
    });
    render(<IamScreen tenant="main" me={person({ tenantWide: { SERVICE_ACCOUNT: ['VIEW', 'LIST', 'UPDATE'] } })} />);
    fireEvent.click(await screen.findByTestId('service-account-tokens'));
    await screen.findByText('No API tokens.');
    fireEvent.click(screen.getByTestId('token-create'));
    const form = await screen.findByTestId('token-form');
    fireEvent.input(within(form).getByLabelText('Token name'), { target: { value: 'deploy' } });
    fireEvent.change(within(form).getByLabelText('Valid for'), { target: { value: '' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Create' }));

    const once = await screen.findByTestId('token-once');
    expect(api.callsTo('POST', '/api/v1/main/service-accounts/sa1/api-tokens')[0]!.body).toEqual({ name: 'deploy', description: null, maxAge: null, extended: null });
    expect(within(once).getByTestId('token-value').textContent).toBe(SECRET);
    expect(new XMLSerializer().serializeToString(document.body)).toContain(SECRET);
    expect(within(once).getByText(/you will not see it again/i)).toBeTruthy();
    expect(await within(once).findByRole('button', { name: 'Copy token' })).toBeTruthy();
    expect(screen.queryByTestId('token-form')).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'I have copied it' }));
    await waitFor(() => expect(screen.queryByTestId('token-once')).toBeNull());
    expect(new XMLSerializer().serializeToString(document.body)).not.toContain(SECRET);
    // The list shows the new token by its prefix only.
    expect((await screen.findByTestId('token-row')).textContent).toContain('deploy');
    expect(await cachedText()).not.toContain(SECRET);
    expect(await cachedText()).toContain('deploy');
  });

  it('refuses a token name that is not a DNS label without calling the server', async () => {
    const api = fakeApi({
      'GET /api/v1/main/service-accounts': () => ({
        body: serviceAccountPageSchema.parse(page([{ id: 'sa1', username: 'ci-bot', displayName: 'ci-bot', description: null, groups: [], auths: [] }])),
      }),
      'GET /api/v1/main/service-accounts/:id/api-tokens': () => ({ body: apiTokenListSchema.parse(page([])) }),
    });
    render(<IamScreen tenant="main" me={person({ superAdmin: true })} />);
    fireEvent.click(await screen.findByTestId('service-account-tokens'));
    fireEvent.click(await screen.findByTestId('token-create'));
    const form = await screen.findByTestId('token-form');
    fireEvent.input(within(form).getByLabelText('Token name'), { target: { value: 'Not A Label' } });
    fireEvent.submit(form);
    expect(await within(form).findByRole('alert')).toBeTruthy();
    expect(api.callsTo('POST', '/api/v1/main/service-accounts/sa1/api-tokens')).toHaveLength(0);
  });

  it('hides token buttons from someone who may only list service accounts', async () => {
    fakeApi({
      'GET /api/v1/main/service-accounts': () => ({
        body: serviceAccountPageSchema.parse(page([{ id: 'sa1', username: 'ci-bot', displayName: 'ci-bot', description: null, groups: [], auths: [] }])),
      }),
    });
    render(<IamScreen tenant="main" me={person({ tenantWide: { SERVICE_ACCOUNT: ['LIST'] } })} />);
    await screen.findByText('ci-bot');
    expect(screen.queryByTestId('service-account-tokens')).toBeNull();
    expect(screen.queryByTestId('service-account-create')).toBeNull();
    expect(screen.queryByTestId('service-account-delete')).toBeNull();
  });
});
