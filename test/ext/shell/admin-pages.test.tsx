import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { uiConfig } from '../../../components/app/session';
import appsPage from '../../../components/features/apps-page';
import notInPerchPage from '../../../components/features/not-in-perch-page';
import instancePage from '../../../components/features/instance-page';
import tenantsPage from '../../../components/features/tenants-page';
import { at, json, mockFetch, person, uiConfigOf } from './fixtures';

const owner = person({ superAdmin: true });
const TENANTS = {
  main: { id: 'main', name: 'Main', deleted: false, isolation: { mode: 'INSTANCE', kestraUrl: null, username: null } },
  acme: { id: 'acme', name: 'Acme', deleted: false, isolation: { mode: 'INSTANCE', kestraUrl: 'http://k.acme', username: 'perch@acme.io' } },
};

afterEach(() => {
  uiConfig.value = null;
  vi.unstubAllGlobals();
});

const NOT_IN_MAINTENANCE = { maintenance: false, ready: false, services: { WEBSERVER: { total: 1, inMaintenance: 0 } }, onExecution: 'refuse', held: 0, disabledTriggers: 0, since: null, message: null };

/** The operations panels' answers (issue 22) and the worker groups' (issue 25); `health` answers /perch/health. */
const instanceApi = (health: unknown, overrides: Record<string, unknown> = {}) => (url: URL) => {
  const answers: Record<string, unknown> = {
    '/api/v1/instance/maintenance/status': NOT_IN_MAINTENANCE,
    '/api/v1/banners/search': [],
    '/api/v1/kill-switches/search': [],
    '/api/v1/instance/worker-groups': { workerGroups: [] },
    ...overrides,
  };
  return url.pathname in answers ? answers[url.pathname] : health;
};

describe('instance page', () => {
  it("shows Perch's and Kestra's status from /perch/health, maintenance and the active announcements", async () => {
    const api = mockFetch(instanceApi({ status: 'UP', setupRequired: false, kestra: { reachable: false, error: 'ECONNREFUSED' } }));
    uiConfig.value = uiConfigOf({ inMaintenance: true, maintenanceMessage: 'Upgrade', banners: [{ id: 'b1', message: 'Freeze on Friday', type: 'WARNING' }] });
    render(<>{instancePage.render(at('/ui/main/admin/instance', owner))}</>);
    await waitFor(() => expect(screen.getByTestId('kestra-status').textContent).toContain('Unreachable'));
    expect(screen.getByTestId('kestra-status').textContent).toContain('ECONNREFUSED');
    expect(screen.getByTestId('perch-status').textContent).toBe('Up');
    expect(api.urls().map((u) => u.pathname)).toContain('/perch/health');
    expect(screen.getByTestId('maintenance-state').textContent).toBe('Kestra is in maintenance mode.');
    expect(screen.getAllByTestId('announcement').map((r) => r.textContent)).toEqual(['WARNINGFreeze on FridayAlways']);
  });

  it('says so when Perch answers with an unexpected shape', async () => {
    mockFetch(instanceApi(json({ status: 'UP' })));
    uiConfig.value = uiConfigOf();
    render(<>{instancePage.render(at('/ui/main/admin/instance', owner))}</>);
    expect((await screen.findByRole('alert')).textContent).toContain('unexpected shape');
  });
});

describe('operations on the instance page', () => {
  it('lists managed announcements and kill switches, and enters maintenance after a confirmation', async () => {
    const banner = { id: 'b1', message: 'Upgrade tonight', type: 'WARNING', startDate: null, endDate: null, tenantId: null, active: true };
    const killSwitch = { id: 'k1', name: 'stop ops', namespace: 'ops', executionIds: [], startDate: '2030-01-01T00:00:00.000Z', evaluationType: 'KILL', enabled: true, deleted: false };
    let entered: unknown;
    const api = mockFetch((url, request) => {
      if (url.pathname === '/api/v1/instance/maintenance/enter') return request.json().then((body) => (entered = body, { ...NOT_IN_MAINTENANCE, maintenance: true, ready: true, disabledTriggers: 2 }));
      return instanceApi(
        { status: 'UP', setupRequired: false, kestra: { reachable: true } },
        { '/api/v1/banners/search': [banner], '/api/v1/kill-switches/search': [killSwitch], '/api/v1/me': owner, '/perch/api/ui-config': uiConfigOf({ inMaintenance: true, maintenanceMessage: 'Back at noon' }) },
      )(url);
    });
    uiConfig.value = uiConfigOf();
    render(<>{instancePage.render(at('/ui/main/admin/instance', owner))}</>);
    await waitFor(() => expect(screen.getAllByTestId('managed-banner').map((r) => r.textContent)).toEqual(['WARNINGUpgrade tonightShowingEditDelete']));
    expect(screen.getAllByTestId('kill-switch').map((r) => r.textContent)).toEqual(['stop opsKILLopsEnabledDisableDelete']);
    expect(screen.getByTestId('maintenance-status').textContent).toContain('Not in maintenance');
    screen.getByRole('button', { name: 'Enter maintenance mode' }).click();
    const dialog = await screen.findByRole('dialog');
    expect(dialog.textContent).toContain('refused until maintenance ends');
    fireEvent.input(screen.getByLabelText('Notice shown to everyone (optional)'), { target: { value: 'Back at noon' } });
    fireEvent.click(screen.getByTestId('confirm'));
    await waitFor(() => expect(entered).toEqual({ message: 'Back at noon' }));
    // The page reloads the session's configuration, so everyone's banner follows (and nothing is left in flight).
    await waitFor(() => expect(uiConfig.value?.maintenanceMessage).toBe('Back at noon'));
    expect(api.urls().filter((u) => u.pathname === '/api/v1/instance/maintenance/enter')).toHaveLength(1);
  });
});

describe('tenants and apps pages', () => {
  it('lists the tenants with their mode, their Kestra’s health and members, the session’s one marked', async () => {
    uiConfig.value = uiConfigOf({ tenants: [{ id: 'main', name: 'Main' }] });
    mockFetch((url) => {
      if (url.pathname === '/api/v1/tenants/search') return { results: [TENANTS.main, TENANTS.acme], total: 2 };
      if (url.pathname.endsWith('/health')) return url.pathname.includes('acme') ? { tenantId: 'acme', kestraUrl: 'http://k.acme', ready: false, reason: 'unreachable' } : { tenantId: 'main', kestraUrl: 'http://k', ready: true };
      if (url.pathname.endsWith('/tenant-access')) return { results: [], total: url.pathname.includes('acme') ? 3 : 7 };
      return json({ message: 'unexpected' }, 500);
    });
    render(<>{tenantsPage.render(at('/ui/main/admin/tenants/list', person({ superAdmin: true, selectedTenant: 'acme' })))}</>);
    await waitFor(() => expect(screen.getAllByTestId('tenant-members').map((r) => r.textContent)).toEqual(['7', '3']));
    await waitFor(() => expect(screen.getAllByTestId('tenant-row')[1]!.textContent).toContain('Not answering'));
    const [main, acme] = screen.getAllByTestId('tenant-row').map((r) => r.textContent);
    expect(main).toContain('Perch’s configured Kestra');
    expect(main).not.toContain('Current');
    expect(acme).toMatch(/Own Kestra \(instance\)\s*http:\/\/k\.acme/);
    expect(acme).toContain('Current');
  });

  it('creates an INSTANCE tenant from the form', async () => {
    uiConfig.value = uiConfigOf();
    const bodies: unknown[] = [];
    const api = mockFetch(async (url, request) => {
      if (request.method === 'POST') {
        bodies.push(await request.clone().json());
        return TENANTS.acme;
      }
      if (url.pathname === '/api/v1/tenants/search') return { results: [TENANTS.main], total: 1 };
      if (url.pathname.endsWith('/health')) return { tenantId: 'main', kestraUrl: 'http://k', ready: true };
      return { results: [], total: 0 };
    });
    render(<>{tenantsPage.render(at('/ui/main/admin/tenants/list', owner))}</>);
    fireEvent.click(await screen.findByTestId('tenant-create'));
    const form = screen.getByTestId('tenant-form');
    const type = (label: string, value: string) => fireEvent.input(within(form).getByLabelText(label), { target: { value } });
    type('Id', 'acme');
    type('Name', 'Acme');
    type('Kestra URL', 'http://k.acme');
    type('Kestra username', 'perch@acme.io');
    type('Kestra password', 's3cret-Pass');
    fireEvent.submit(form);
    await waitFor(() => expect(bodies).toEqual([{ id: 'acme', name: 'Acme', isolation: { mode: 'INSTANCE', kestraUrl: 'http://k.acme', username: 'perch@acme.io', password: 's3cret-Pass' } }]));
    expect(api.requests.some((r) => r.method === 'POST' && new URL(r.url).pathname === '/api/v1/tenants')).toBe(true);
  });

  it('deleting a tenant that still holds data asks for its id, then deletes with the confirmation', async () => {
    uiConfig.value = uiConfigOf();
    const deletes: string[] = [];
    mockFetch((url, request) => {
      if (request.method === 'DELETE') {
        deletes.push(url.search);
        return url.searchParams.get('confirm') === 'acme' ? json(null, 204) : json({ message: 'Tenant acme still holds 2 members', holds: { members: 2 } }, 409);
      }
      if (url.pathname === '/api/v1/tenants/search') return { results: [TENANTS.main, TENANTS.acme], total: 2 };
      if (url.pathname.endsWith('/health')) return { tenantId: 'x', kestraUrl: 'http://k', ready: true };
      return { results: [], total: 2 };
    });
    render(<>{tenantsPage.render(at('/ui/main/admin/tenants/list', owner))}</>);
    const rows = await screen.findAllByTestId('tenant-row');
    expect(within(rows[0]!).queryByTestId('tenant-delete')).toBeNull();
    fireEvent.click(within(rows[1]!).getByTestId('tenant-delete'));
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.getByTestId('tenant-holds').textContent).toContain('2 members'));
    fireEvent.input(screen.getByLabelText('Type acme to confirm'), { target: { value: 'acme' } });
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(deletes).toEqual(['', '?confirm=acme']));
  });

  it('are shown only to whom they concern', () => {
    const flowUser = person({ permissions: { tenantWide: { FLOW: ['LIST'] } } });
    expect(tenantsPage.mayUse(owner)).toBe(true);
    expect(tenantsPage.mayUse(flowUser)).toBe(false);
    expect(instancePage.mayUse(flowUser)).toBe(false);
    expect(appsPage.visibleTo!(flowUser)).toBe(false);
    expect(appsPage.visibleTo!(person({ permissions: { namespaces: { team: { APP: ['VIEW'] } } } }))).toBe(true);
  });

});

describe('the pages of the demo routes Perch has no screen for', () => {
  it('say which feature is not available in Perch yet, to everyone, instead of Kestra’s sales page', () => {
    const viewer = person();
    expect(notInPerchPage.visibleTo).toBeUndefined();
    for (const [path, feature] of [['/ui/main/cases', 'Cases'], ['/ui/main/admin/quotas', 'Quotas'], ['/ui/main/promote/targets', 'Promotion targets'], ['/ui/main/dashboards/ops/edit', 'Custom dashboards']]) {
      const { unmount } = render(<>{notInPerchPage.render(at(path!, viewer))}</>);
      const page = document.getElementById('perch-not-in-perch')!;
      expect(page.dataset.featureName, path).toBe(feature);
      expect(page.textContent).toContain(`${feature} is not available in this version of Perch yet.`);
      unmount();
    }
  });
});
