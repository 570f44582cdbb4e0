/**
 * Perch's operations answers (issue 22) against Kestra EE 2.0's OpenAPI spec, as the repository's
 * derived contract holds it: each answer validated with Ajv against the spec's schema for its
 * operation and status, and the statuses the spec documents.
 */
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { startBehindKestra, type Browser } from '../support/perch.js';

const derived = loadDerivedContract();
const ajv = contractAjv(convertComponents(derived.schemas));
const operations = new Map(derived.operations.map((op) => [op.operationId, op.responses]));

/** Ajv errors of `body` against `operationId`'s schema for `status` (none: valid); the status must be one the spec lists. */
function errors(operationId: string, status: number, body: unknown): string[] {
  const responses = operations.get(operationId);
  if (!responses?.[String(status)]) return [`${operationId} does not answer ${status} in the spec`];
  const schema = responses[String(status)]?.['application/json'];
  if (!schema) return body === undefined ? [] : [`${operationId} ${status} has no body in the spec`];
  const validate: ValidateFunction = ajv.compile(convertSchema(schema, 'root') as object);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

describe('operations against the EE spec', () => {
  let admin: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => ({ admin, close } = await startBehindKestra()));
  afterAll(() => close?.());

  it('banners: createBanner, searchBanners, updateBanner, deleteBanner', async () => {
    const created = await admin.fetch('POST', '/api/v1/banners', { json: { message: 'Hello', type: 'INFO', startDate: '2030-01-01T00:00:00Z' } });
    expect(errors('createBanner', created.status, created.json)).toEqual([]);
    const search = await admin.fetch('GET', '/api/v1/banners/search');
    expect(errors('searchBanners', search.status, search.json)).toEqual([]);
    const updated = await admin.fetch('PUT', `/api/v1/banners/${created.json.id}`, { json: { message: 'Hello again' } });
    expect(errors('updateBanner', updated.status, updated.json)).toEqual([]);
    const removed = await admin.fetch('DELETE', `/api/v1/banners/${created.json.id}`);
    expect(errors('deleteBanner', removed.status, removed.json)).toEqual([]);
  });

  it('maintenance: enterMaintenance, maintenanceStatus, exitMaintenance', async () => {
    const entered = await admin.fetch('POST', '/api/v1/instance/maintenance/enter');
    expect(errors('enterMaintenance', entered.status, entered.json)).toEqual([]);
    const status = await admin.fetch('GET', '/api/v1/instance/maintenance/status');
    expect(errors('maintenanceStatus', status.status, status.json)).toEqual([]);
    expect(status.json.maintenance).toBe(true);
    const exited = await admin.fetch('POST', '/api/v1/instance/maintenance/exit');
    expect(errors('exitMaintenance', exited.status, exited.json)).toEqual([]);
  });

  it('kill switches: createKillSwitch, searchKillSwitches, updateKillSwitch, deleteKillSwitch', async () => {
    const body = { name: 'later', namespace: 'ops', startDate: '2030-01-01T00:00:00Z', evaluationType: 'KILL' };
    const created = await admin.fetch('POST', '/api/v1/kill-switches', { json: body });
    expect(errors('createKillSwitch', created.status, created.json)).toEqual([]);
    const search = await admin.fetch('GET', '/api/v1/kill-switches/search');
    expect(errors('searchKillSwitches', search.status, search.json)).toEqual([]);
    const updated = await admin.fetch('PUT', `/api/v1/kill-switches/${created.json.id}`, { json: { ...body, enabled: false } });
    expect(errors('updateKillSwitch', updated.status, updated.json)).toEqual([]);
    const removed = await admin.fetch('DELETE', `/api/v1/kill-switches/${created.json.id}`);
    expect(errors('deleteKillSwitch', removed.status, removed.json)).toEqual([]);
  });
});
