import { vi } from 'vitest';
import type { z } from 'zod';
import { apiMeWithPermissionsSchema } from '../../../lib/schemas/users';
import { perchUiConfigSchema } from '../../../lib/schemas/ui-config';
import { apiAuditLogItemSchema, type ApiAuditLogItem } from '../../../lib/schemas/audit';
import { parseUiRoute } from '../../../components/app/routes';
import { contextFor, type FeatureContext } from '../../../components/app/feature';
import type { Me } from '../../../components/app/session';

type Permissions = z.input<typeof apiMeWithPermissionsSchema>['permissions'];

/** A signed-in person as GET /api/v1/me answers (validated by the real schema). */
export function person(overrides: { superAdmin?: boolean; permissions?: Partial<Permissions>; firstName?: string | null; lastName?: string | null; email?: string; selectedTenant?: string } = {}): Me {
  const email = overrides.email ?? 'ada@acme.io';
  return apiMeWithPermissionsSchema.parse({
    id: 'u-ada',
    superAdmin: overrides.superAdmin ?? false,
    instanceOwner: overrides.superAdmin ?? false,
    restricted: false,
    profile: { email, firstName: overrides.firstName === undefined ? 'Ada' : overrides.firstName, lastName: overrides.lastName === undefined ? 'Lovelace' : overrides.lastName, username: email },
    auths: [],
    tenants: [{ id: 'main', name: 'Main' }],
    permissions: { tenantWide: {}, namespaces: {}, ...overrides.permissions },
    selectedTenant: overrides.selectedTenant,
  });
}

export function uiConfigOf(overrides: Partial<z.input<typeof perchUiConfigSchema>> = {}) {
  return perchUiConfigSchema.parse({
    banners: [],
    inMaintenance: false,
    maintenanceMessage: null,
    rightSidebar: { customLinks: {} },
    tenants: [{ id: 'main', name: 'Main' }],
    ...overrides,
  });
}

/** Puts the page at a Kestra UI path and returns the feature context a feature would get there. */
export function at(path: string, me: Me): FeatureContext {
  history.replaceState(null, '', path);
  return contextFor(parseUiRoute(location.pathname, location.search)!, me);
}

let seq = 0;
/** One audit log list item, valid against lib/schemas/audit.ts. */
export function auditItem(overrides: { id?: string; type?: string; resourceType?: string; resourceId?: string; namespace?: string | null; outcome?: string } = {}): ApiAuditLogItem {
  seq += 1;
  const id = overrides.id ?? `entry-${seq}`;
  return apiAuditLogItemSchema.parse({
    auditLog: {
      tenantId: 'main',
      id,
      type: overrides.type ?? 'UPDATE',
      detail: { type: 'perch.flow', resourceType: overrides.resourceType ?? 'FLOW', id: overrides.resourceId ?? `flow-${seq}`, namespace: overrides.namespace === undefined ? 'company.team' : overrides.namespace, revision: 3 },
      date: new Date(Date.UTC(2026, 0, 15, 10, 0, seq % 60)).toISOString(),
      userId: 'u-ada',
      ipAddress: '10.0.0.7',
      impersonatedBy: null,
      appliedPatch: [],
      revertPatch: [],
      seq,
      actor: { type: 'USER', id: 'u-ada', email: 'ada@acme.io' },
      outcome: overrides.outcome ?? 'SUCCESS',
      upstreamStatus: 200,
      requestId: `req-${seq}`,
      userAgent: 'Mozilla/5.0 test',
      prevHash: 'a'.repeat(64),
      hash: `${'b'.repeat(60)}${String(seq).padStart(4, '0')}`,
    },
    user: { id: 'u-ada', username: 'ada@acme.io', displayName: 'Ada Lovelace' },
  });
}

export function json(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/**
 * Replaces `fetch` (the one boundary of Perch's screens) with `handler`; every request is recorded.
 * A handler returning a plain value answers it as JSON 200.
 */
export function mockFetch(handler: (url: URL, request: Request) => unknown) {
  const requests: Request[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    requests.push(request);
    const answer = await handler(new URL(request.url), request);
    return answer instanceof Response ? answer : json(answer);
  });
  vi.stubGlobal('fetch', fn);
  return { fn, requests, urls: () => requests.map((r) => new URL(r.url)) };
}
