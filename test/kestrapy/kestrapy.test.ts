/**
 * Perch's EE answers read by Kestra's own generated client (issue 17, point 5): kestrapy 2.0.3 drives
 * users, groups, roles, bindings, service accounts, tokens, invitations, audit logs and operations
 * (banners, maintenance mode, kill switches) against Perch,
 * and flows and executions through Perch to the Kestra double. kestrapy builds its pydantic models
 * from every answer, so a shape it cannot read fails the scenario.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveKestrapy, kestrapyPython } from '../support/kestrapy.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startBehindKestra } from '../support/perch.js';
import type { KestraDouble } from '../kestra-double/kestra-double.js';

const python = await kestrapyPython();
if ('missing' in python) {
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') throw new Error(`kestrapy suite cannot run under CI: ${python.missing}`);
  console.warn(`\n*** kestrapy suite SKIPPED: ${python.missing} ***\n`);
}

describe.skipIf('missing' in python)('kestrapy 2.0.3 against Perch', () => {
  let kestra: KestraDouble;
  let close: () => Promise<void>;
  let env: Record<string, string>;
  const drive = (scenario: string) => driveKestrapy((python as { python: string }).python, scenario, env);

  beforeAll(async () => {
    const running = await startBehindKestra('PT5S', { auth: { basic: { enabled: true } } });
    ({ kestra, close } = running);
    env = { PERCH_URL: running.perch.url, PERCH_USERNAME: ADMIN_EMAIL, PERCH_PASSWORD: ADMIN_PASSWORD };
  });
  afterAll(() => close?.());

  it('namespaces and secrets: create, update, read, inherited variables and secrets, put, patch, list, delete; no value comes back', async () => {
    const result = await drive('namespaces-and-secrets');
    const ns = result.namespace as string;
    const key = result.key as string;
    expect(result).toMatchObject({ created: 'made by kestrapy', updated: 'changed', read: { region: { name: 'us' } }, inherited: { region: { name: 'us' } }, put: [key], listed: [key], inheritedSecrets: { [ns]: [key] } });
    expect(JSON.stringify(result)).not.toContain('kestrapy-secret-value');
  });

  it('users: create, read, update, list, delete', async () => {
    const result = await drive('users');
    expect(result).toMatchObject({ lastName: 'Byron', listed: true, deleted: 200, gone: 404 });
    expect(result.email).toMatch(/^sdk-[0-9a-f]{8}@example\.com$/);
  });

  it('groups, roles and bindings: create, update, search, read, delete', async () => {
    const result = await drive('groups-roles-bindings');
    expect(result).toMatchObject({ bindingNamespace: 'team.sdk', searched: true, groupGone: 404 });
    expect(result.groupName).toMatch(/-2$/);
    expect(result.bindingRole).toEqual(expect.any(String));
  });

  it('service accounts and tokens: a token shown once works, is listed, and stops working once revoked; a token cannot mint one', async () => {
    const result = await drive('service-accounts-and-tokens');
    expect(result).toMatchObject({ tokenShown: true, tokens: 1, afterRevoke: 401, ownerTokenReads: 200, tokenMintsToken: 403 });
    // The robot has no binding: a signed-in caller that may not list users.
    expect(result.robotAsNonOwner).toBe(403);
  });

  it('invitations: create, search, by email, read, delete', async () => {
    expect(await drive('invitations')).toEqual({ status: 'PENDING', byEmail: 1, gone: 404 });
  });

  it('apps: create, update, read, tags, search by tag, catalog, disable, bulk enable, export, import, bulk delete, delete', async () => {
    expect(await drive('apps')).toEqual({ name: 'Second', tags: ['SDK'], searched: true, catalog: true, disabledEnabled: false, exportIsZip: true, imported: 1, gone: 404 });
  });

  it('tenants and tenant access (issue 20): create, read, update, search; grant by email and id, list, read, autocomplete, revoke; delete', async () => {
    const result = await drive('tenants');
    expect(result).toMatchObject({ renamed: 'SDK tenant 2', searched: true, again: 409, listed: true, found: true, heldDelete: 409, gone: 404 });
    expect(result.created).toMatch(/^sdk-[0-9a-f]{8}$/);
    expect(result.entryTenant).toBe(result.created);
    expect(result.isolation).toEqual({ mode: 'NAMESPACE', namespaces: [expect.stringMatching(/^sdk[0-9a-f]{8}$/)] });
  });

  it('audit logs: what the other scenarios did is there, in a page kestrapy reads', async () => {
    const result = await drive('audit-logs');
    expect(result.total).toBeGreaterThan(0);
    expect(result.first.auditLog).toEqual(expect.objectContaining({ id: expect.any(String), tenantId: 'main' }));
    expect(result.first.user).toEqual(expect.objectContaining({ email: expect.any(String) }));
  });

  it('operations: banners, maintenance mode and kill switches (issue 22)', async () => {
    expect(await drive('operations')).toEqual({ bannerType: 'ERROR', bannerListed: true, entered: 200, inMaintenance: true, exited: 200, switchListed: true, switchEnabled: false, switchesLeft: 0 });
  });

  it('flows and executions reach the Kestra double through Perch, with Perch’s account', async () => {
    kestra.clear();
    const result = await drive('flows-and-executions');
    expect(result).toMatchObject({ namespace: 'team.sdk', searched: true });
    expect(result.executionFlow).toBe(result.flowId);
    const paths = kestra.requests.map((r) => `${r.method} ${r.url}`);
    expect(paths).toEqual(expect.arrayContaining([expect.stringMatching(/^POST \/api\/v1\/main\/flows(\?|$)/), expect.stringMatching(/^POST \/api\/v1\/main\/executions\/team\.sdk\//)]));
  });
});
