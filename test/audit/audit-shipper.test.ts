import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../backend/audit/audit-log.js';
import { AuditShipper, FileSink, OtlpSink, SyslogSink, WebhookSink } from '../../backend/audit/shipper.js';
import { flowUpdate } from './entries.js';
import { parseConfig } from '../../backend/config/config.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';

const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => flowUpdate(n, 'main', { actor: { type: 'USER', id: 'u1', email: 'u1@example.com' }, ...extra });

/** A webhook sink server whose answer the test decides; it keeps every delivery, acknowledged or not. */
async function webhookServer(port = 0) {
  const deliveries: { status: number; seqs: number[] }[] = [];
  let answer = (_n: number) => 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seqs = Buffer.concat(chunks).toString('utf8').trim().split('\n').map((line) => (JSON.parse(line) as { seq: number }).seq);
      const status = answer(deliveries.length);
      deliveries.push({ status, seqs });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    deliveries,
    answerWith(f: (n: number) => number) {
      answer = f;
    },
    acknowledged: () => deliveries.filter((d) => d.status < 300).flatMap((d) => d.seqs),
    received: () => deliveries.flatMap((d) => d.seqs),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A free port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the audit log shipper', () => {
  let dir: string;
  let store: OpenStore;
  let log: AuditLog;

  const open = async () => {
    store = await openStore({ dataDir: dir });
    await migrateToLatest(store.db);
    log = new AuditLog(store, { sqliteSync: 'NORMAL' });
  };
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'perch-shipper-'));
    await open();
  });
  afterEach(async () => {
    await log?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('config: sinks are validated under audit', () => {
    const config = parseConfig({ audit: { sinks: [{ type: 'webhook', url: 'http://127.0.0.1:1/x' }, { type: 'file', path: '/tmp/a.log' }, { type: 'syslog', host: 'localhost', port: 514 }, { type: 'otlp', url: 'http://127.0.0.1:4318/v1/logs' }] } });
    expect(config.audit.sinks.map((s) => s.type)).toEqual(['webhook', 'file', 'syslog', 'otlp']);
    expect(() => parseConfig({ audit: { sinks: [{ type: 'kafka' }] } })).toThrow();
  });

  it('keeps endpoint secrets out of what it prints: no user or password in a URL, no query in a default name', () => {
    // undici would drop a user and password given in the URL without a word: credentials go in headers.
    const sink = (url: string) => () => parseConfig({ audit: { sinks: [{ type: 'otlp', url }] } });
    expect(sink('https://siem:hunter2@siem.example.com/v1/logs')).toThrow(/^Invalid configuration: audit\.sinks\.0\.url: must not contain a user name or password: send credentials in headers/);
    expect(sink('https://siem:hunter2@siem.example.com/v1/logs')).not.toThrow(/hunter2/);
    // A default name is logged when shipping fails and stored as the cursor's key: an API key in the query stays out.
    expect(new WebhookSink({ type: 'webhook', url: 'https://siem.example.com/ingest?api_key=k3y' }).name).toBe('webhook:https://siem.example.com/ingest');
    expect(new OtlpSink({ type: 'otlp', url: 'https://otel.example.com/v1/logs?token=k3y#x' }).name).toBe('otlp:https://otel.example.com/v1/logs');
    expect(new WebhookSink({ type: 'webhook', url: 'https://siem.example.com/ingest' }).name).toBe('webhook:https://siem.example.com/ingest');
  });

  it('holds entries while the webhook is down, then delivers all in order; after a restart only the unacknowledged batch comes again', async () => {
    const port = await freePort();
    const sink = () => new WebhookSink({ type: 'webhook', url: `http://127.0.0.1:${port}/audit` });
    let shipper = new AuditShipper(store.db, [sink()], { batchSize: 10 });
    await Promise.all(range(1, 25).map((n) => log.record(entry(n))));

    // Connection refused: nothing is acknowledged, the cursor stays put.
    await shipper.runOnce();
    expect(shipper.failing.size).toBe(1);
    expect(await store.db.selectFrom('audit_ship_cursors').selectAll().execute()).toEqual([]);

    // Up, but answering 500.
    const server = await webhookServer(port);
    try {
      server.answerWith(() => 500);
      await shipper.runOnce();
      expect(server.received()).toEqual(range(1, 10));
      expect(server.acknowledged()).toEqual([]);

      // Healthy: everything arrives, in order, with no gap.
      server.answerWith(() => 200);
      await Promise.all(range(26, 30).map((n) => log.record(entry(n))));
      await shipper.runOnce();
      expect(shipper.failing.size).toBe(0);
      expect(server.acknowledged()).toEqual(range(1, 30));

      // More entries; the sink acknowledges the first batch and fails the second, then Perch restarts.
      await Promise.all(range(31, 50).map((n) => log.record(entry(n))));
      const before = server.deliveries.length;
      server.answerWith((n) => (n === before ? 200 : 500));
      await shipper.runOnce();
      expect(server.acknowledged()).toEqual(range(1, 40));
      await shipper.close();
      await log.close();
      await store.close();

      await open();
      server.answerWith(() => 200);
      shipper = new AuditShipper(store.db, [sink()], { batchSize: 10 });
      await log.record(entry(51));
      await shipper.runOnce();
      await shipper.close();
      expect(server.acknowledged()).toEqual(range(1, 51));
      // Received more than once: only the batches that were never acknowledged (1–10 while failing, 41–50 at the restart).
      const counts = new Map<number, number>();
      for (const seq of server.received()) counts.set(seq, (counts.get(seq) ?? 0) + 1);
      const repeated = [...counts].filter(([, c]) => c > 1).map(([seq]) => seq);
      expect(repeated).toEqual([...range(1, 10), ...range(41, 50)]);
    } finally {
      await server.close();
    }
  });

  it('ships every chain with its own cursor', async () => {
    const server = await webhookServer();
    try {
      await Promise.all([...range(1, 5).map((n) => log.record(entry(n))), ...range(1, 3).map((n) => log.record(entry(n, { tenantId: null })))]);
      const shipper = new AuditShipper(store.db, [new WebhookSink({ type: 'webhook', url: `http://127.0.0.1:${server.port}/`, name: 'siem' })]);
      await shipper.runOnce();
      await shipper.close();
      const cursors = await store.db.selectFrom('audit_ship_cursors').select(['sink', 'tenant_id', 'last_seq']).orderBy('tenant_id').execute();
      expect(cursors.map((c) => [c.sink, c.tenant_id, Number(c.last_seq)])).toEqual([['siem', '_instance', 3], ['siem', 'main', 5]]);
      expect(server.acknowledged().length).toBe(8);
    } finally {
      await server.close();
    }
  });

  it('writes JSON lines to a file rotated by size, losing nothing', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const shipper = new AuditShipper(store.db, [new FileSink({ type: 'file', path: file, maxBytes: 2048, keep: 50 })], { batchSize: 3 });
    await Promise.all(range(1, 30).map((n) => log.record(entry(n))));
    await shipper.runOnce();
    await shipper.close();
    const names = (await readdir(dir)).filter((n) => n.startsWith('audit.jsonl'));
    expect(names.length).toBeGreaterThan(2);
    // Oldest rotated file first: audit.jsonl.N … audit.jsonl.1, then audit.jsonl.
    const ordered = names.sort((a, b) => Number(b.split('.').pop()) - Number(a.split('.').pop()));
    ordered.push(ordered.shift()!); // `audit.jsonl` (NaN) sorts first: it is the newest
    const seqs: number[] = [];
    for (const name of ordered) {
      const text = await readFile(path.join(dir, name), 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(2048);
      for (const line of text.trim().split('\n')) seqs.push((JSON.parse(line) as { seq: number }).seq);
    }
    expect(seqs).toEqual(range(1, 30));
  });

  it('sends RFC 5424 messages over TCP with octet-counted framing', async () => {
    let received = '';
    const server = createTcpServer((socket) => socket.on('data', (d: Buffer) => (received += d.toString('utf8'))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const shipper = new AuditShipper(store.db, [new SyslogSink({ type: 'syslog', host: '127.0.0.1', port, appName: 'perch' })], { batchSize: 2 });
      await log.record(entry(1));
      await log.record(entry(2, { outcome: 'REFUSED', details: { note: 'quote " and ] bracket' } }));
      await log.record(entry(3, { action: 'DELETE' }));
      await shipper.runOnce();
      await expect.poll(() => received.length, { timeout: 2000 }).toBeGreaterThan(0);
      await shipper.close();
      await new Promise((r) => setTimeout(r, 50));
      // Parse octet-counted frames: LENGTH SP MSG, LENGTH in bytes.
      const buf = Buffer.from(received, 'utf8');
      const frames: string[] = [];
      let at = 0;
      while (at < buf.length) {
        const space = buf.indexOf(0x20, at);
        const length = Number(buf.subarray(at, space).toString());
        frames.push(buf.subarray(space + 1, space + 1 + length).toString('utf8'));
        at = space + 1 + length;
      }
      expect(frames).toHaveLength(3);
      const header = /^<(\d+)>1 (\S+) (\S+) perch (\d+) (\S+) \[perch@32473 tenant="main" seq="(\d+)" id="[^"]+" outcome="(\w+)"\] (\{.*\})$/;
      const parsed = frames.map((f) => header.exec(f));
      expect(parsed.every(Boolean)).toBe(true);
      expect(parsed.map((m) => [Number(m![1]), m![5], Number(m![6]), m![7]])).toEqual([
        [110, 'UPDATE', 1, 'SUCCESS'],
        [108, 'UPDATE', 2, 'REFUSED'],
        [110, 'DELETE', 3, 'SUCCESS'],
      ]);
      expect(Number.isNaN(Date.parse(parsed[0]![2]!))).toBe(false);
      expect(JSON.parse(parsed[1]![8]!)).toMatchObject({ seq: 2, detail: { note: 'quote " and ] bracket' } });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('posts OTLP/HTTP JSON log records with the entry fields as attributes, retrying until acknowledged', async () => {
    type Attr = { key: string; value: { stringValue?: string; intValue?: string } };
    type Request = { resourceLogs: Array<{ resource: { attributes: Attr[] }; scopeLogs: Array<{ scope: { name: string }; logRecords: Array<Record<string, any> & { attributes: Attr[] }> }> }> };
    const posts: Array<{ path: string; type: string; auth: string; body: Request; status: number }> = [];
    let status = 503;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posts.push({ path: req.url!, type: String(req.headers['content-type']), auth: String(req.headers.authorization), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request, status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const sink = new OtlpSink({ type: 'otlp', url: `http://127.0.0.1:${port}/v1/logs`, headers: { authorization: 'Bearer otel' } });
      const shipper = new AuditShipper(store.db, [sink], { batchSize: 10 });
      const date = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
      await log.record(entry(1, { date, ip: '10.0.0.7', requestId: 'req-1' }));
      await log.record(entry(2, { outcome: 'REFUSED', upstreamStatus: 403 }));
      await shipper.runOnce();
      expect(shipper.failing.has(sink.name)).toBe(true); // 503: not acknowledged, the cursor stays
      status = 200;
      await shipper.runOnce();
      expect(shipper.failing.has(sink.name)).toBe(false);
      await shipper.runOnce(); // caught up: nothing more is sent
      await shipper.close();

      expect(posts.map((p) => p.status)).toEqual([503, 200]);
      const { path: url, type, auth, body } = posts[1]!;
      expect([url, type, auth]).toEqual(['/v1/logs', 'application/json', 'Bearer otel']);
      const resource = body.resourceLogs[0]!;
      expect(resource.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'perch' } });
      const scope = resource.scopeLogs[0]!;
      expect(scope.scope.name).toBe('perch.audit');
      const records = scope.logRecords;
      expect(records).toHaveLength(2);
      const attrs = (r: { attributes: Attr[] }) => Object.fromEntries(r.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue]));
      const first = attrs(records[0]!);
      expect(first).toMatchObject({
        'perch.audit.tenant': 'main', 'perch.audit.seq': '1', 'perch.audit.action': 'UPDATE', 'perch.audit.resource.type': 'FLOW',
        'perch.audit.resource.id': 'flow-1', 'perch.audit.namespace': 'company.team', 'perch.audit.actor.type': 'USER',
        'perch.audit.actor.email': 'u1@example.com', 'perch.audit.outcome': 'SUCCESS', 'perch.audit.request_id': 'req-1', 'client.address': '10.0.0.7',
      });
      expect(first['perch.audit.hash']).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.parse(first['perch.audit.details']!)).toEqual({ n: 1 });
      expect(records[0]!.timeUnixNano).toBe(`${date}000000`);
      expect(records[0]).toMatchObject({ severityNumber: 9, severityText: 'INFO', eventName: 'perch.audit.update' });
      expect(JSON.parse(records[0]!.body.stringValue)).toMatchObject({ seq: 1, tenantId: 'main', type: 'UPDATE' });
      expect(records[1]).toMatchObject({ severityNumber: 13, severityText: 'WARN' });
      expect(attrs(records[1]!)).toMatchObject({ 'perch.audit.seq': '2', 'perch.audit.outcome': 'REFUSED', 'perch.audit.upstream_status': '403' });
      expect(records[1]!.attributes.find((a) => a.key === 'perch.audit.upstream_status')!.value).toEqual({ intValue: '403' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
