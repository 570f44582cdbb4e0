import { describe, expect, it } from 'vitest';
import { parseUiRoute, routeMatches } from '../../components/app/routes';
import { perchOrigin } from '../../components/extension/perch-origin';

describe('Kestra UI routes', () => {
  it('reads the tenant of 2.0 paths and none from 1.x paths', () => {
    expect(parseUiRoute('/ui/main/admin/iam')).toMatchObject({ tenant: 'main', path: 'admin/iam' });
    expect(parseUiRoute('/ui/acme/flows/edit/company.team/hello')).toMatchObject({ tenant: 'acme', path: 'flows/edit/company.team/hello' });
    expect(parseUiRoute('/ui/admin/iam')).toMatchObject({ tenant: undefined, path: 'admin/iam' });
    expect(parseUiRoute('/ui/')).toMatchObject({ tenant: undefined, path: '' });
    expect(parseUiRoute('/api/v1/main/flows')).toBeUndefined();
  });

  it('matches a route and its sub-routes, never a sibling that shares a prefix', () => {
    const route = (p: string) => parseUiRoute(p)!;
    expect(routeMatches(['admin/iam'], route('/ui/main/admin/iam'))).toBe(true);
    expect(routeMatches(['admin/iam'], route('/ui/main/admin/iam/users'))).toBe(true);
    expect(routeMatches(['admin/iam'], route('/ui/main/admin/iamx'))).toBe(false);
    expect(routeMatches(['*'], route('/ui/main/flows'))).toBe(true);
  });

  it('reads the routes of Kestra 2.0’s newer pages as routes, not tenants (1.x paths)', () => {
    for (const first of ['ai', 'cases', 'promote']) expect(parseUiRoute(`/ui/${first}/x`), first).toMatchObject({ tenant: undefined, path: `${first}/x` });
    expect(parseUiRoute('/ui/main/promote/targets')).toMatchObject({ tenant: 'main', path: 'promote/targets' });
  });

  it('matches a `*` segment to any one segment', () => {
    const route = (p: string) => parseUiRoute(p)!;
    expect(routeMatches(['dashboards/*/edit'], route('/ui/main/dashboards/ops/edit'))).toBe(true);
    expect(routeMatches(['dashboards/*/edit'], route('/ui/main/dashboards/ops'))).toBe(false);
    expect(routeMatches(['dashboards/*/edit'], route('/ui/main/dashboards'))).toBe(false);
    expect(routeMatches(['dashboards/*/edit'], route('/ui/main/flows/ops/edit'))).toBe(false);
  });
});

describe('the Perch address on the options page', () => {
  it('keeps only the origin and asks for that host only', () => {
    expect(perchOrigin('https://perch.acme.io/ui/main/flows?x=1')).toEqual({ ok: true, origin: 'https://perch.acme.io', pattern: 'https://perch.acme.io/*' });
    expect(perchOrigin('perch.acme.io:8443')).toEqual({ ok: true, origin: 'https://perch.acme.io:8443', pattern: 'https://perch.acme.io/*' });
    expect(perchOrigin('http://127.0.0.1:8090')).toMatchObject({ ok: true, origin: 'http://127.0.0.1:8090' });
  });

  it('refuses what is not a Perch address', () => {
    expect(perchOrigin('')).toMatchObject({ ok: false });
    expect(perchOrigin('ftp://perch.acme.io')).toMatchObject({ ok: false });
    expect(perchOrigin('https://admin:secret@perch.acme.io')).toMatchObject({ ok: false });
    expect(perchOrigin('http://')).toMatchObject({ ok: false });
    // A wildcard would become a match pattern for every such site.
    for (const wide of ['https://*', '*.acme.io', 'https://perch.*.io']) expect(perchOrigin(wide), wide).toMatchObject({ ok: false, message: expect.stringMatching(/without wildcards/) });
  });
});
