/**
 * The background health check of worker group targets (issue 25, point 4): driven tick by tick (no
 * timer is waited for) against the Docker Engine API double. A target up is RUNNING with the engine's
 * version; the double stopped, UNREACHABLE with why; started again, RUNNING. Each change of state is
 * logged once, not at every tick. The registry's answers and `/perch/metrics` carry what was seen.
 */
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../backend/config/config.js';
import { TargetHealthMonitor } from '../../backend/worker-groups/health-monitor.js';
import { healthMonitor } from '../../backend/worker-groups/health-monitor-wiring.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { startDockerEngineDouble, type DockerEngineDouble } from './docker-engine-double.js';

/** A logger that keeps what was logged at info and warn. */
function recordingLog() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: () => {}, trace: () => {}, fatal: at('fatal'), child: () => log } as unknown as FastifyBaseLogger;
  return { log, lines };
}

const portOf = (host: string) => Number(host.split(':').pop());

describe('worker group health monitor', () => {
  let engine: DockerEngineDouble | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('sees a target up, down and up again, and logs each change once', async () => {
    engine = await startDockerEngineDouble('healthy');
    const host = engine.host;
    const { log, lines } = recordingLog();
    const monitor = new TargetHealthMonitor({ log, timeoutMs: 3000, concurrency: 2 });
    monitor.watch([{ id: 'gpu', targets: [{ id: 'gpu-1', host }] }]);
    expect(monitor.of(host)).toBeUndefined();
    expect(monitor.counts()).toEqual({ running: 0, unreachable: 0, unknown: 1 });

    await monitor.tick();
    expect(monitor.of(host)).toMatchObject({ state: 'RUNNING', engine: { version: '29.1.0', apiVersion: '1.52' } });
    expect(engine.calls).toEqual(['GET /_ping', 'GET /version']);
    await monitor.tick();
    expect(lines).toEqual([{ level: 'info', fields: { workerGroup: 'gpu', target: 'gpu-1', host, engine: '29.1.0' }, message: 'worker group target is reachable' }]);

    await engine.close();
    engine = undefined;
    await monitor.tick();
    expect(monitor.of(host)).toMatchObject({ state: 'UNREACHABLE', problem: expect.stringMatching(/^not reachable \(/) });
    expect(monitor.counts()).toEqual({ running: 0, unreachable: 1, unknown: 0 });
    await monitor.tick();
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn']);
    expect(lines[1]).toMatchObject({ fields: { workerGroup: 'gpu', target: 'gpu-1', host, problem: monitor.of(host)!.problem }, message: 'worker group target is unreachable' });

    engine = await startDockerEngineDouble('healthy', undefined, portOf(host));
    await monitor.tick();
    expect(monitor.of(host)).toMatchObject({ state: 'RUNNING', engine: { version: '29.1.0' } });
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'info']);
  });

  it('reports a daemon that answers with an error, and forgets targets the registry dropped', async () => {
    engine = await startDockerEngineDouble('failing');
    const { log } = recordingLog();
    const monitor = new TargetHealthMonitor({ log, timeoutMs: 3000, concurrency: 2 });
    monitor.watch([{ id: 'edge', targets: [{ id: 'sick', host: engine.host }] }]);
    await monitor.tick();
    expect(monitor.of(engine.host)).toMatchObject({ state: 'UNREACHABLE', problem: 'GET /_ping answered 500' });
    monitor.watch([]);
    expect(monitor.of(engine.host)).toBeUndefined();
    expect(monitor.counts()).toEqual({ running: 0, unreachable: 0, unknown: 0 });
  });

  it('checks no more targets at once than its concurrency, and joins a tick under way', async () => {
    const { log } = recordingLog();
    let now = 0;
    let most = 0;
    let checks = 0;
    const release: Array<() => void> = [];
    const check = async () => {
      checks++;
      most = Math.max(most, ++now);
      await new Promise<void>((resolve) => release.push(resolve));
      now--;
      return { state: 'RUNNING' as const, checkedAt: 0, engine: { version: '1', apiVersion: '1' } };
    };
    const monitor = new TargetHealthMonitor({ log, timeoutMs: 3000, concurrency: 3, check });
    monitor.watch([{ id: 'many', targets: Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, host: `tcp://10.0.0.${i}:2375` })) }]);
    const first = monitor.tick();
    const second = monitor.tick();
    expect(second).toBe(first);
    while (checks < 10 || release.length) {
      await new Promise((resolve) => setImmediate(resolve));
      release.splice(0).forEach((go) => go());
    }
    await first;
    expect(most).toBe(3);
    expect(checks).toBe(10);
    expect(monitor.counts()).toEqual({ running: 10, unreachable: 0, unknown: 0 });
  });

  it('is checked every 30 seconds unless configured otherwise, never more often than every second', () => {
    expect(parseConfig({}).workerGroups.healthCheckInterval).toBe(30_000);
    expect(parseConfig({ workerGroups: { healthCheckInterval: 'PT2M' } }).workerGroups.healthCheckInterval).toBe(120_000);
    expect(() => parseConfig({ workerGroups: { healthCheckInterval: 'PT0.5S' } })).toThrow(/workerGroups.healthCheckInterval \(PERCH_WORKER_GROUPS_HEALTH_CHECK_INTERVAL\): must be at least PT1S/);
  });
});

describe('worker group health in the registry and the metrics', () => {
  let perch: RunningPerch;
  let admin: Browser;
  let engine: DockerEngineDouble | undefined;
  const token = 'm'.repeat(40);

  beforeAll(async () => {
    ({ perch, admin } = await startSignedIn({ config: { metrics: { token } } }));
    engine = await startDockerEngineDouble('healthy');
  });
  afterAll(async () => {
    await perch?.close();
    await engine?.close();
  });

  const scrape = async () => (await admin.fetch('GET', '/perch/metrics', { headers: { authorization: `Bearer ${token}` } })).text;
  const listed = async () => (await admin.fetch('GET', '/api/v1/instance/worker-groups')).json.workerGroups[0].targets[0];

  it('answers each target with its last check, and counts targets by state', async () => {
    const host = engine!.host;
    const group = { id: 'edge', name: 'Edge', subscriptions: [], namespaces: ['edge'], targets: [{ id: 'e1', kind: 'docker', host }] };
    const created = await admin.fetch('POST', '/api/v1/instance/worker-groups', { json: group });
    expect(created.status, created.text).toBe(200);
    expect(created.json.targets).toEqual([{ id: 'e1', kind: 'docker', host }]);
    expect(await scrape()).toContain('perch_worker_group_targets{state="unknown"} 1');

    const monitor = healthMonitor(perch.perch.ctx);
    await monitor.tick();
    const up = await listed();
    expect(up).toMatchObject({ id: 'e1', host, health: { state: 'RUNNING', engine: { version: '29.1.0', apiVersion: '1.52', os: 'linux', arch: 'amd64' } } });
    expect(new Date(up.health.checkedAt).getTime()).not.toBeNaN();
    expect((await admin.fetch('GET', '/api/v1/instance/worker-groups/edge')).json.targets[0].health.state).toBe('RUNNING');
    expect(await scrape()).toContain('perch_worker_group_targets{state="running"} 1');

    await engine!.close();
    engine = undefined;
    await monitor.tick();
    expect(await listed()).toMatchObject({ health: { state: 'UNREACHABLE', problem: expect.stringMatching(/^not reachable/) } });
    const metrics = await scrape();
    expect(metrics).toContain('perch_worker_group_targets{state="unreachable"} 1');
    expect(metrics).toContain('perch_worker_group_targets{state="running"} 0');

    engine = await startDockerEngineDouble('healthy', undefined, portOf(host));
    // An owner's "check now" (EE's listRunningWorkers) is kept as the last check too.
    expect((await admin.fetch('GET', '/api/v1/instance/worker-groups/edge/workers')).json.workers[0].state).toBe('RUNNING');
    expect((await listed()).health.state).toBe('RUNNING');
  });
});
