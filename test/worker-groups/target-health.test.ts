/**
 * Worker group target health (issue 25, point 4): `GET /api/v1/instance/worker-groups/{id}/workers`
 * (EE's listRunningWorkers) lists the group's Docker targets with what Perch observes now: RUNNING
 * when the Docker Engine API answers `/_ping` with OK and `/version` names the engine, UNREACHABLE
 * otherwise, with why. The Docker double is first checked against Docker's own API description.
 */
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAjv, convertComponents, convertSchema, loadDerivedContract } from '../kestra-double/openapi-contract.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { rawGet, startDockerEngineDouble, type DockerEngineDouble } from './docker-engine-double.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dockerApi = JSON.parse(fs.readFileSync(path.join(here, 'docker-engine-api.derived.json'), 'utf8'));

/** Ajv errors of `body` against a Docker response schema (Swagger 2 `definitions`). */
function dockerErrors(schema: object, body: unknown): string[] {
  const validate = new Ajv({ strict: false }).compile({ ...schema, definitions: dockerApi.definitions });
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

function eeErrors(body: unknown): string[] {
  const derived = loadDerivedContract();
  const op = derived.operations.find((o) => o.operationId === 'listRunningWorkers')!;
  const validate = contractAjv(convertComponents(derived.schemas)).compile(convertSchema(op.responses['200']!['application/json'], 'root') as object);
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

describe('worker group target health', () => {
  let perch: RunningPerch;
  let admin: Browser;
  let healthy: DockerEngineDouble;
  let failing: DockerEngineDouble;
  let socketEngine: DockerEngineDouble;
  let socketDir: string;
  let closedPort: number;

  beforeAll(async () => {
    ({ perch, admin } = await startSignedIn());
    healthy = await startDockerEngineDouble('healthy');
    failing = await startDockerEngineDouble('failing');
    socketDir = await mkdtemp(path.join(tmpdir(), 'perch-docker-'));
    socketEngine = await startDockerEngineDouble('healthy', path.join(socketDir, 'docker.sock'));
    // A port nothing listens on: bound, then released.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
  afterAll(async () => {
    await perch?.close();
    await Promise.all([healthy?.close(), failing?.close(), socketEngine?.close()]);
    await rm(socketDir, { recursive: true, force: true });
  });

  it('has a Docker double that answers as Docker’s API description says', async () => {
    expect(dockerApi.source).toMatchObject({ repository: 'moby/moby', path: 'api/swagger.yaml', title: 'Docker Engine API' });
    const ping = await rawGet(healthy.host, dockerApi.operations.SystemPing.path);
    expect(ping.status).toBe(200);
    expect(dockerApi.operations.SystemPing.produces).toContain(ping.headers['content-type']!.split(';')[0]);
    expect(dockerErrors(dockerApi.operations.SystemPing.responses['200'].schema, ping.body)).toEqual([]);
    for (const [name, spec] of Object.entries(dockerApi.operations.SystemPing.responses['200'].headers as Record<string, { enum?: string[] }>)) {
      const value = ping.headers[name.toLowerCase()];
      if (spec.enum && value !== undefined) expect(spec.enum).toContain(value);
    }
    const version = await rawGet(healthy.host, dockerApi.operations.SystemVersion.path);
    expect(version.status).toBe(200);
    expect(dockerErrors(dockerApi.operations.SystemVersion.responses['200'].schema, JSON.parse(version.body))).toEqual([]);
    const broken = await rawGet(failing.host, dockerApi.operations.SystemVersion.path);
    expect(broken.status).toBe(500);
    expect(dockerErrors(dockerApi.operations.SystemVersion.responses['500'].schema, JSON.parse(broken.body))).toEqual([]);
  });

  it('lists each target with its state, in the shape of EE’s running workers', async () => {
    const group = {
      id: 'edge', name: 'Edge', subscriptions: [], namespaces: [],
      targets: [
        { id: 'up', kind: 'docker', host: healthy.host },
        { id: 'sick', kind: 'docker', host: failing.host },
        { id: 'gone', kind: 'docker', host: `tcp://127.0.0.1:${closedPort}` },
        { id: 'local', kind: 'docker', host: socketEngine.host },
      ],
    };
    expect((await admin.fetch('POST', '/api/v1/instance/worker-groups', { json: group })).status).toBe(200);
    healthy.calls.length = 0;
    const answer = await admin.fetch('GET', '/api/v1/instance/worker-groups/edge/workers');
    expect(answer.status, answer.text).toBe(200);
    expect(eeErrors(answer.json)).toEqual([]);
    const byId = Object.fromEntries(answer.json.workers.map((w: { workerId: string }) => [w.workerId, w]));
    expect(byId.up).toMatchObject({ workerName: healthy.host, state: 'RUNNING', engine: { version: '29.1.0', apiVersion: '1.52', os: 'linux', arch: 'amd64' } });
    expect(byId.local).toMatchObject({ workerName: socketEngine.host, state: 'RUNNING' });
    expect(byId.sick).toMatchObject({ state: 'UNREACHABLE', problem: 'GET /_ping answered 500' });
    expect(byId.gone).toMatchObject({ state: 'UNREACHABLE' });
    expect(byId.gone.problem).toMatch(/^not reachable \(/);
    expect(healthy.calls).toEqual(['GET /_ping', 'GET /version']);
    expect(new Date(byId.up.updatedAt).getTime()).not.toBeNaN();

    expect((await admin.fetch('GET', '/api/v1/instance/worker-groups/nope/workers')).status).toBe(404);
  });
});
