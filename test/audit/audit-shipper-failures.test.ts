import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../backend/audit/audit-log.js';
import { AuditShipper, FileSink, SyslogSink, WebhookSink } from '../../backend/audit/shipper.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { storeTargets } from '../support/databases.js';
import { flowUpdate, tempAuditLog } from './entries.js';

const entry = (n: number, extra: Partial<AuditEntry> = {}): AuditEntry => flowUpdate(n, 'main', extra);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => 'settled' as const, () => 'settled' as const), new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);

describe('audit shipper sinks', () => {
  let dir: string;
  let store: OpenStore;
  let log: AuditLog;
  let close: () => Promise<void>;
  beforeEach(async () => ({ dir, store, log, close } = await tempAuditLog('perch-audit-shipper-')));
  afterEach(() => close?.());

  /**
   * A syslog receiver on loopback that handles each connection with `receive`, and 40 entries of
   * 512 KB queued for it: more than the socket buffers hold, so the batch's write stays pending.
   */
  async function bigBatchFor(receive: (socket: Socket) => void, timeoutMs: number) {
    const server = createTcpServer(receive);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const big = 'x'.repeat(512 * 1024);
    await Promise.all(range(1, 40).map((n) => log.record(entry(n, { details: { n, big } }))));
    const sink = new SyslogSink({ type: 'syslog', host: '127.0.0.1', port: (server.address() as AddressInfo).port, appName: 'perch' }, timeoutMs);
    return { sink, shipper: new AuditShipper(store.db, [sink], { batchSize: 40 }), stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('syslog: a receiver that stops reading fails the batch after the timeout instead of stalling every sink and shutdown', async () => {
    const sockets: Socket[] = [];
    // Accepts, then never reads: the kernel buffers fill and the write callback never comes.
    const { sink, shipper, stop } = await bigBatchFor((socket) => {
      sockets.push(socket);
      socket.pause();
    }, 300);
    try {
      expect(await within(shipper.runOnce(), 5000)).toBe('settled');
      expect(shipper.failing.has(sink.name)).toBe(true);
      expect(await within(shipper.close(), 5000)).toBe('settled');
    } finally {
      for (const s of sockets) s.destroy();
      await stop();
    }
  }, 20_000);

  it('syslog: a receiver that resets the connection mid-batch fails the batch; the cursor does not move past entries never sent', async () => {
    const { sink, shipper, stop } = await bigBatchFor((socket) => {
      socket.pause();
      setTimeout(() => socket.resetAndDestroy(), 200);
    }, 5000);
    try {
      expect(await within(shipper.runOnce(), 8000)).toBe('settled');
      await shipper.close();
      expect(shipper.failing.has(sink.name)).toBe(true);
      expect(await store.db.selectFrom('audit_ship_cursors').selectAll().execute()).toEqual([]);
    } finally {
      await stop();
    }
  }, 20_000);

  it('file: a line a failed or interrupted write left unfinished does not swallow the next delivered entry', async () => {
    const file = path.join(dir, 'audit.jsonl');
    // What a write cut short (ENOSPC, EIO, a crash mid-write) leaves behind: a line with no end.
    await writeFile(file, '{"tenantId":"main","id":"0190","type":"UPD');
    await Promise.all(range(1, 3).map((n) => log.record(entry(n))));
    const shipper = new AuditShipper(store.db, [new FileSink({ type: 'file', path: file, maxBytes: 1024 * 1024, keep: 2 })]);
    await shipper.runOnce();
    await shipper.close();
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    const parsed = lines.flatMap((line) => {
      try {
        return [(JSON.parse(line) as { seq: number }).seq];
      } catch {
        return [];
      }
    });
    // The torn line stays torn, but every shipped entry is a line of its own.
    expect(parsed).toEqual([1, 2, 3]);
  });
});

const pg = storeTargets().find((t) => t.name === 'postgres')!;

describe.skipIf(!pg.available)('audit shipper: two replicas shipping to one sink (PostgreSQL)', () => {
  let stores: OpenStore[] = [];
  let server: Server;
  let received: number[] = [];
  let port = 0;
  beforeEach(async () => {
    received = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        for (const line of Buffer.concat(chunks).toString('utf8').trim().split('\n')) received.push((JSON.parse(line) as { seq: number }).seq);
        // A SIEM that takes a moment to acknowledge.
        setTimeout(() => res.writeHead(200).end(), 30);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const s of stores) await s.close();
    stores = [];
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('each entry reaches the sink once, not once per replica, and the cursor never moves back', async () => {
    const url = await pg.url();
    const a = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
    const b = await openStore({ databaseUrl: url, dataDir: '/nonexistent' });
    stores = [a, b];
    await migrateToLatest(a.db);
    const log = new AuditLog(a);
    await Promise.all(range(1, 60).map((n) => log.record(entry(n))));
    await log.close();
    const sink = () => new WebhookSink({ type: 'webhook', url: `http://127.0.0.1:${port}/`, name: 'siem' });
    const replicaA = new AuditShipper(a.db, [sink()], { batchSize: 10 });
    const replicaB = new AuditShipper(b.db, [sink()], { batchSize: 10 });
    // Both replicas' timers fire at about the same time, as they do every second.
    await Promise.all([replicaA.runOnce(), replicaB.runOnce(), replicaA.runOnce(), replicaB.runOnce()]);
    await Promise.all([replicaA.runOnce(), replicaB.runOnce()]);
    await replicaA.close();
    await replicaB.close();
    expect([...received].sort((x, y) => x - y)).toEqual(range(1, 60));
    const cursor = await a.db.selectFrom('audit_ship_cursors').select('last_seq').where('sink', '=', 'siem').where('tenant_id', '=', 'main').executeTakeFirstOrThrow();
    expect(Number(cursor.last_seq)).toBe(60);
  });
});
