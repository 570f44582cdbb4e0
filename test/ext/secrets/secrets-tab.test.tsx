import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import namespaceSecrets from '../../../components/features/namespace-secrets';
import { at, mockFetch, person } from '../shell/fixtures';

afterEach(() => vi.unstubAllGlobals());

const VALUE = 'typed-secret-value-42';

/** Perch's secrets API as the tab uses it: a list of metadata, PUT and DELETE. */
function secretsApi(initial: Array<{ key: string; namespace: string; description?: string }>) {
  const secrets = [...initial];
  const api = mockFetch(async (url, request) => {
    if (request.method === 'GET' && url.pathname === '/api/v1/main/secrets') {
      const ns = url.searchParams.get('filters[namespace][EQUALS]');
      const results = secrets.filter((s) => s.namespace === ns).map((s) => ({ ...s, tags: [] }));
      return { readOnly: false, results, total: results.length };
    }
    const m = /^\/api\/v1\/main\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/.exec(url.pathname);
    if (m && request.method === 'PUT') {
      const body = (await request.json()) as { key: string; description?: string };
      const existing = secrets.find((s) => s.key === body.key);
      if (existing) existing.description = body.description;
      else secrets.push({ key: body.key, namespace: m[1]!, ...(body.description ? { description: body.description } : {}) });
      return [{ key: body.key, namespace: m[1], tags: [] }];
    }
    if (m && request.method === 'DELETE') {
      secrets.splice(secrets.findIndex((s) => s.key === m[2]), 1);
      return [];
    }
    return new Response(JSON.stringify({ message: 'unexpected' }), { status: 500 });
  });
  return api;
}

describe('namespace Secrets tab', () => {
  const developer = person({ permissions: { namespaces: { company: { SECRET: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] } } } });

  it('lists the namespace’s keys with masked values and never asks for a value', async () => {
    const api = secretsApi([{ key: 'DB_PASSWORD', namespace: 'company.team', description: 'the db' }, { key: 'OTHER', namespace: 'other' }]);
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/company.team/secrets', developer))}</>);
    await waitFor(() => expect(screen.getAllByTestId('secret-row')).toHaveLength(1));
    const row = screen.getByTestId('secret-row');
    expect(row.dataset.secretKey).toBe('DB_PASSWORD');
    expect(row.textContent).toContain('••••••••');
    expect(document.getElementById('perch-secrets')!.dataset.namespace).toBe('company.team');
    expect(api.urls().every((u) => u.pathname === '/api/v1/main/secrets' && u.searchParams.get('filters[namespace][EQUALS]') === 'company.team')).toBe(true);
  });

  it('adds, replaces and deletes; the value is sent once and never shown', async () => {
    const api = secretsApi([{ key: 'DB_PASSWORD', namespace: 'company.team' }]);
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/company.team/secrets', developer))}</>);
    await screen.findByTestId('secret-row');

    fireEvent.click(screen.getByTestId('secret-add'));
    fireEvent.input(screen.getByLabelText('Key'), { target: { value: 'API_TOKEN' } });
    const valueField = screen.getByLabelText('Value') as HTMLInputElement;
    expect(valueField.type).toBe('password');
    fireEvent.input(valueField, { target: { value: VALUE } });
    fireEvent.submit(screen.getByTestId('secret-form'));
    await waitFor(() => expect(screen.getAllByTestId('secret-row').map((r) => r.dataset.secretKey)).toEqual(['DB_PASSWORD', 'API_TOKEN']));
    const put = api.requests.find((r) => r.method === 'PUT')!;
    expect(new URL(put.url).pathname).toBe('/api/v1/main/namespaces/company.team/secrets');
    expect(await put.clone().json()).toEqual({ key: 'API_TOKEN', value: VALUE });
    expect(document.body.innerHTML).not.toContain(VALUE);

    fireEvent.click(screen.getAllByTestId('secret-replace')[0]!);
    expect((screen.getByLabelText('Key') as HTMLInputElement).readOnly).toBe(true);
    expect((screen.getByLabelText('Value') as HTMLInputElement).value).toBe('');
    fireEvent.input(screen.getByLabelText('Value'), { target: { value: 'another' } });
    fireEvent.submit(screen.getByTestId('secret-form'));
    await waitFor(() => expect(api.requests.filter((r) => r.method === 'PUT')).toHaveLength(2));

    fireEvent.click(screen.getAllByTestId('secret-delete')[1]!);
    fireEvent.click(await screen.findByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.getAllByTestId('secret-row').map((r) => r.dataset.secretKey)).toEqual(['DB_PASSWORD']));
    expect(new URL(api.requests.find((r) => r.method === 'DELETE')!.url).pathname).toBe('/api/v1/main/namespaces/company.team/secrets/API_TOKEN');
  });

  it('shows only the actions the person holds on that namespace, and no screen without SECRET:LIST', async () => {
    secretsApi([{ key: 'DB_PASSWORD', namespace: 'company.team' }]);
    const reader = person({ permissions: { namespaces: { company: { SECRET: ['VIEW', 'LIST'] } } } });
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/company.team/secrets', reader))}</>);
    await screen.findByTestId('secret-row');
    expect(screen.queryByTestId('secret-add')).toBeNull();
    expect(screen.queryByTestId('secret-replace')).toBeNull();
    expect(screen.queryByTestId('secret-delete')).toBeNull();
    expect(namespaceSecrets.mayUse(person({ permissions: { namespaces: { company: { FLOW: ['VIEW'] } } } }))).toBe(false);
  });
});

describe('a read-only namespace', () => {
  it('offers no add, replace or delete when the listing says read-only (EE\'s lock)', async () => {
    mockFetch(async () => ({ readOnly: true, results: [{ key: 'LOCKED', namespace: 'vaulted', tags: [] }], total: 1 }));
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/vaulted/secrets', person({ superAdmin: false, permissions: { tenantWide: { SECRET: ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'] } } })))}</>);
    await screen.findByTestId('secret-row');
    expect(screen.getByText(/Read-only: Perch does not write/)).toBeTruthy();
    for (const hook of ['secret-add', 'secret-replace', 'secret-delete']) expect(screen.queryByTestId(hook)).toBeNull();
  });
});

describe('the backend pickers', () => {
  const available = [{ type: 'internal', name: "Perch's store", readOnly: false }, { type: 'vault', name: 'HashiCorp Vault (https://vault)', readOnly: false }];
  const view = (type: string) => ({ type, readOnly: false, available });
  /** The tenant's pick is internal; the namespace `ops` inherits it until it names its own. */
  function backendsApi(namespaceView = { ...view('internal'), source: 'instance' as string, sourceNamespace: undefined as string | undefined }) {
    return mockFetch(async (url, request) => {
      if (url.pathname === '/api/v1/main/secret-backend') return request.method === 'PUT' ? view(((await request.json()) as { type: string }).type) : view('internal');
      if (url.pathname === '/api/v1/main/namespaces/ops/secret-backend') {
        if (request.method !== 'PUT') return namespaceView;
        const pick = (await request.json()) as { type: string | null; readOnly?: boolean };
        return pick.type === null ? { ...view('internal'), source: 'instance' } : { ...view(pick.type), readOnly: pick.readOnly ?? false, source: 'namespace', sourceNamespace: 'ops' };
      }
      return { readOnly: false, results: [], total: 0 };
    });
  }
  const owner = person({ superAdmin: true });

  it('shows instance owners the configured backends and saves the tenant\'s pick', async () => {
    const api = backendsApi();
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/ops/secrets', owner))}</>);
    const select = (await screen.findByLabelText(/Tenant default: where new values are kept/)) as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["Perch's store", 'HashiCorp Vault (https://vault)']);
    expect(select.value).toBe('internal');
    fireEvent.change(select, { target: { value: 'vault' } });
    fireEvent.submit(screen.getByTestId('secret-backend'));
    await waitFor(() => expect(api.requests.some((r) => r.method === 'PUT')).toBe(true));
    const put = api.requests.find((r) => r.method === 'PUT')!;
    expect(new URL(put.url).pathname).toBe('/api/v1/main/secret-backend');
    expect(await put.clone().json()).toEqual({ type: 'vault' });
  });

  it('lets instance owners give the namespace its own manager, read-only or not, or inherit again', async () => {
    const api = backendsApi();
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/ops/secrets', owner))}</>);
    const select = (await screen.findByLabelText(/This namespace and its children/)) as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["Inherit: Perch's store (the instance default)", "Perch's store", 'HashiCorp Vault (https://vault)']);
    expect(select.value).toBe('');
    expect(screen.queryByLabelText(/Read-only for Perch/)).toBeNull();
    fireEvent.change(select, { target: { value: 'vault' } });
    fireEvent.click(screen.getByLabelText(/Read-only for Perch/));
    fireEvent.submit(screen.getByTestId('namespace-secret-backend'));
    await waitFor(() => expect(api.requests.some((r) => r.method === 'PUT')).toBe(true));
    const put = api.requests.find((r) => r.method === 'PUT')!;
    expect(new URL(put.url).pathname).toBe('/api/v1/main/namespaces/ops/secret-backend');
    expect(await put.clone().json()).toEqual({ type: 'vault', readOnly: true });
    // Saved: the namespace's own choice is shown, and inheriting again sends type null.
    await waitFor(() => expect(select.value).toBe('vault'));
    expect(select.options[0]!.textContent).toBe("Inherit (a parent namespace's, else the tenant's)");
    fireEvent.change(select, { target: { value: '' } });
    fireEvent.submit(screen.getByTestId('namespace-secret-backend'));
    await waitFor(() => expect(api.requests.filter((r) => r.method === 'PUT')).toHaveLength(2));
    expect(await api.requests.filter((r) => r.method === 'PUT')[1]!.clone().json()).toEqual({ type: null });
  });

  it('names where an inherited manager comes from', async () => {
    backendsApi({ ...view('vault'), source: 'namespace', sourceNamespace: 'company' });
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/ops/secrets', owner))}</>);
    const select = (await screen.findByLabelText(/This namespace and its children/)) as HTMLSelectElement;
    expect(select.options[0]!.textContent).toBe('Inherit: HashiCorp Vault (https://vault) (from company)');
    expect(select.value).toBe('');
  });

  it('is not shown to people who are not instance owners', async () => {
    const api = secretsApi([]);
    render(<>{namespaceSecrets.render(at('/ui/main/namespaces/edit/ops/secrets', person({ permissions: { tenantWide: { SECRET: ['LIST'] } } })))}</>);
    await screen.findByText('This namespace has no secrets yet.');
    expect(screen.queryByTestId('secret-backend')).toBeNull();
    expect(api.urls().some((u) => u.pathname.endsWith('/secret-backend'))).toBe(false);
  });
});
