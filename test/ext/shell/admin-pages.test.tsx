import { render, screen, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { uiConfig } from '../../../components/app/session';
import appsPage from '../../../components/features/apps-page';
import notInPerchPage from '../../../components/features/not-in-perch-page';
import instancePage from '../../../components/features/instance-page';
import tenantsPage from '../../../components/features/tenants-page';
import { at, json, mockFetch, person, uiConfigOf } from './fixtures';

const owner = person({ superAdmin: true });

afterEach(() => {
  uiConfig.value = null;
  vi.unstubAllGlobals();
});

describe('instance page', () => {
  it("shows Perch's and Kestra's status from /perch/health, maintenance and the active announcements", async () => {
    const api = mockFetch(() => ({ status: 'UP', setupRequired: false, kestra: { reachable: false, error: 'ECONNREFUSED' } }));
    uiConfig.value = uiConfigOf({ inMaintenance: true, maintenanceMessage: 'Upgrade', banners: [{ id: 'b1', message: 'Freeze on Friday', type: 'WARNING' }] });
    render(<>{instancePage.render(at('/ui/main/admin/instance', owner))}</>);
    await waitFor(() => expect(screen.getByTestId('kestra-status').textContent).toContain('Unreachable'));
    expect(screen.getByTestId('kestra-status').textContent).toContain('ECONNREFUSED');
    expect(screen.getByTestId('perch-status').textContent).toBe('Up');
    expect(new URL(api.requests[0]!.url).pathname).toBe('/perch/health');
    expect(screen.getByTestId('maintenance-state').textContent).toBe('Kestra is in maintenance mode.');
    expect(screen.getAllByTestId('announcement').map((r) => r.textContent)).toEqual(['WARNINGFreeze on FridayAlways']);
  });

  it('says so when Perch answers with an unexpected shape', async () => {
    mockFetch(() => json({ status: 'UP' }));
    uiConfig.value = uiConfigOf();
    render(<>{instancePage.render(at('/ui/main/admin/instance', owner))}</>);
    expect((await screen.findByRole('alert')).textContent).toContain('unexpected shape');
  });
});

describe('tenants and apps pages', () => {
  it('lists the tenants with the current one marked', () => {
    uiConfig.value = uiConfigOf({ tenants: [{ id: 'main', name: 'Main' }] });
    render(<>{tenantsPage.render(at('/ui/main/admin/tenants/list', owner))}</>);
    expect(screen.getAllByTestId('tenant-row').map((r) => r.textContent)).toEqual(['mainMainCurrent']);
    expect(screen.getByText(/multi-tenancy/)).toBeTruthy();
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
