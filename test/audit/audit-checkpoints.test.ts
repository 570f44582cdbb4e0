import { createSecretKey, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../backend/audit/audit-log.js';
import { checkpointSchema, checkpointSigned, type Checkpoint } from '../../backend/audit/checkpoint.js';
import { Checkpointer } from '../../backend/audit/checkpointer.js';
import { auditVerify } from '../../backend/audit/cli.js';
import { FileSink, OtlpSink, SyslogSink, WebhookSink } from '../../backend/audit/shipper.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { storeTargets } from '../support/databases.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startPerch } from '../support/perch.js';
import { flowUpdate } from './entries.js';

/** A loopback HTTP server keeping every body it is sent, answering `status`. */
async function collector(status = 200) {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Checkpoint);

describe('checkpoints reach the file and every audit sink', () => {
  let dir: string;
  let store: OpenStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'perch-checkpoints-'));
    store = await openStore({ dataDir: dir });
    await migrateToLatest(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one signed checkpoint of every chain head to the file, a file sink, a webhook, syslog and OTLP; a failing sink does not stop the others', async () => {
    const key = createSecretKey(randomBytes(32));
    const log = new AuditLog(store, { key });
    for (let i = 1; i <= 3; i++) await log.record(flowUpdate(i));
    await log.record(flowUpdate(4, null));
    await log.close();
    const webhook = await collector();
    const otlp = await collector();
    const down = await collector(503);
    let syslog = '';
    const tcp = createTcpServer((socket) => socket.on('data', (d: Buffer) => (syslog += d.toString('utf8'))));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const sinkFile = path.join(dir, 'sink.jsonl');
    const sinks = [
      new FileSink({ type: 'file', path: sinkFile, maxBytes: 1024 * 1024, keep: 2 }),
      new WebhookSink({ type: 'webhook', url: webhook.url }),
      new WebhookSink({ type: 'webhook', url: down.url, name: 'down' }),
      new SyslogSink({ type: 'syslog', host: '127.0.0.1', port: (tcp.address() as AddressInfo).port, appName: 'perch' }),
      new OtlpSink({ type: 'otlp', url: `${otlp.url}/v1/logs` }),
    ];
    const errors: string[] = [];
    try {
      const file = path.join(dir, 'outside', 'checkpoints.jsonl');
      const time = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
      await new Checkpointer({ db: store.db, key, file, intervalMs: 3_600_000, sinks, now: () => time, onError: (where) => errors.push(where) }).run();
      const [written] = await lines(file);
      expect(checkpointSchema.parse(written)).toEqual(written);
      expect(checkpointSigned(key, written!)).toBe(true);
      const heads = await store.db.selectFrom('audit_log').select(['tenant_id', 'seq', 'hash']).orderBy('tenant_id').orderBy('seq', 'desc').execute();
      const head = (tenant: string) => heads.find((h) => h.tenant_id === tenant)!;
      expect(written).toMatchObject({ type: 'perch.audit.checkpoint', version: 1, time: '2026-01-02T03:04:05.000Z', chains: [{ tenant: '_instance', seq: 1, hash: head('_instance').hash }, { tenant: 'main', seq: 3, hash: head('main').hash }] });
      const line = JSON.stringify(written);
      expect(await readFile(sinkFile, 'utf8')).toBe(`${line}\n`);
      expect(webhook.bodies).toEqual([`${line}\n`]);
      expect(errors).toEqual(['down']);
      await expect.poll(() => syslog.length).toBeGreaterThan(0);
      const frame = /^(\d+) (<110>1 2026-01-02T03:04:05.000Z \S+ perch \d+ CHECKPOINT - (\{.*\}))$/.exec(syslog);
      expect(frame).not.toBeNull();
      expect(Number(frame![1])).toBe(Buffer.byteLength(frame![2]!));
      expect(frame![3]).toBe(line);
      const record = JSON.parse(otlp.bodies[0]!).resourceLogs[0].scopeLogs[0].logRecords[0];
      expect(record).toEqual({ timeUnixNano: `${time.getTime()}000000`, observedTimeUnixNano: `${time.getTime()}000000`, severityNumber: 9, severityText: 'INFO', eventName: 'perch.audit.checkpoint', body: { stringValue: line }, attributes: [] });
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
      await Promise.all([webhook.close(), otlp.close(), down.close(), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
    }
  });
});

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`a running Perch checkpoints its audit log on ${target.name}`, () => {
    it('signs every chain head at start and at close, into its data directory and its sinks; verify passes with them', async () => {
      const sinkDir = await mkdtemp(path.join(tmpdir(), 'perch-sink-'));
      const sinkFile = path.join(sinkDir, 'audit.jsonl');
      const perch = await startPerch({ databaseUrl: await target.url(), config: { audit: { sinks: [{ type: 'file', path: sinkFile }] } } });
      const config = perch.perch.ctx.config;
      try {
        const login = await fetch(`${perch.url}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ADMIN_EMAIL, password: ADMIN_PASSWORD }) });
        expect(login.status).toBe(204);
        await perch.perch.close();
        const checkpoints = await lines(path.join(config.dataDir, 'audit-checkpoints.jsonl'));
        // One at start, one at close: the last pins the chains as Perch left them.
        expect(checkpoints).toHaveLength(2);
        const key = perch.perch.auditKey.key;
        expect(checkpoints.every((c) => checkpointSigned(key, c))).toBe(true);
        const store = await openStore(config);
        try {
          const heads = await store.db.selectFrom('audit_log').select(['tenant_id', 'seq', 'hash']).orderBy('seq', 'desc').execute();
          const last = checkpoints.at(-1)!.chains;
          expect(last.length).toBeGreaterThan(0);
          for (const pin of last) expect(heads.find((h) => h.tenant_id === pin.tenant)).toMatchObject({ seq: pin.seq, hash: pin.hash });
        } finally {
          await store.close();
        }
        // The sink has the checkpoints among the entries.
        const shipped = (await readFile(sinkFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string });
        expect(shipped.filter((l) => l.type === 'perch.audit.checkpoint').length).toBeGreaterThanOrEqual(1);
        const out: string[] = [];
        const err: string[] = [];
        expect(await auditVerify(config, { out: (l) => out.push(l), err: (l) => err.push(l) }, 3_600_000, { env: {} })).toBe(0);
        expect(err).toEqual([expect.stringMatching(/^store: (SQLite|PostgreSQL) /)]);
        expect(out[0]).toBe(`checkpoint of ${checkpoints.at(-1)!.time}: ${checkpoints.at(-1)!.chains.length} chains`);
        // The sink's file, where entries come between the checkpoints, serves as well.
        const fromSink: string[] = [];
        expect(await auditVerify(config, { out: (l) => fromSink.push(l), err: (l) => fromSink.push(l) }, 3_600_000, { env: {}, checkpoint: sinkFile })).toBe(0);
        expect(fromSink.shift()).toMatch(/^store: (SQLite|PostgreSQL) /);
        expect(fromSink[0]).toMatch(/^checkpoint of \S+: \d+ chains$/);
      } finally {
        await perch.close();
        await rm(sinkDir, { recursive: true, force: true });
      }
    });
  });
}
