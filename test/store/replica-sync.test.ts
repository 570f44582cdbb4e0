import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, storeTargets } from '../support/databases.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';

const postgres = storeTargets().find((t) => t.name === 'postgres')!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The LISTEN connection's backend pid (the change feed keeps it private). */
const listenerPid = (perch: RunningPerch): number => (perch.perch.ctx.changes as unknown as { listener: { processID: number } }).listener.processID;

describe.skipIf(!postgresAvailable())('replica sync on PostgreSQL', () => {
  let databaseUrl: string;
  let a: RunningPerch;
  let b: RunningPerch;
  let sideline: pg.Client;

  beforeAll(async () => {
    databaseUrl = await postgres.url();
    a = await startPerch({ databaseUrl });
    b = await startPerch({ databaseUrl, withAdmin: false });
    sideline = new pg.Client({ connectionString: databaseUrl });
    await sideline.connect();
  });
  afterAll(async () => {
    await sideline?.end().catch(() => {});
    await a?.close();
    await b?.close();
  });

  async function userWithBinding(admin: Browser, email: string): Promise<{ userId: string; bindingId: string }> {
    const user = await admin.fetch('POST', '/api/v1/users', { json: { email, password: 'replicated password' } });
    expect(user.status).toBe(201);
    const binding = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: user.json.id, roleId: 'viewer', namespaceId: 'team.a' } });
    expect(binding.status).toBe(200);
    return { userId: user.json.id, bindingId: binding.json.id };
  }

  const canRead = (perch: RunningPerch, userId: string) => perch.perch.ctx.authz.allows('main', userId, 'FLOW', 'VIEW', 'team.a');

  it('does not let a reload that started before a local IAM write put the removed binding back', async () => {
    const adminA = new Browser(a);
    await adminA.login();
    const adminB = new Browser(b);
    await adminB.login();
    const { userId, bindingId } = await userWithBinding(adminA, 'reload-race@example.com');
    expect(canRead(a, userId)).toBe(true);

    // Hold A's next authorization reload in its read of `group_members` (its reads of roles and
    // bindings run beside it and see the binding), as a slow query or a busy pool would.
    await sideline.query('begin');
    await sideline.query('lock table group_members in access exclusive mode');
    try {
      // An IAM write on B (one that reads nothing locked): A hears of it and starts reloading.
      const other = await adminB.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: userId, roleId: 'viewer', namespaceId: 'team.b' } });
      expect(other.status).toBe(200);
      await sleep(500);
      // Meanwhile on A, the binding is deleted: A's index drops it at once.
      expect((await adminA.fetch('DELETE', `/api/v1/main/bindings/${bindingId}`)).status).toBe(204);
      expect(canRead(a, userId)).toBe(false);
    } finally {
      await sideline.query('rollback');
    }
    // A's reload now finishes: it must not restore what A just deleted.
    await sleep(1000);
    expect(canRead(b, userId)).toBe(false);
    expect(canRead(a, userId)).toBe(false);
  });

  it('still applies on B a binding removed on A after B lost its LISTEN connection', async () => {
    const admin = new Browser(a);
    await admin.login();
    const { userId, bindingId } = await userWithBinding(admin, 'dropped-listener@example.com');
    await expect.poll(() => canRead(b, userId), { timeout: 5000, interval: 50 }).toBe(true);

    // The PostgreSQL server (a restart, a failover, an idle-connection reaper) ends B's LISTEN session.
    const pid = listenerPid(b);
    await sideline.query('select pg_terminate_backend($1)', [pid]);
    await sleep(300);

    expect((await admin.fetch('DELETE', `/api/v1/main/bindings/${bindingId}`)).status).toBe(204);
    expect(canRead(a, userId)).toBe(false);
    // B must stop granting the removed binding (a reconnect plus a resync, within a few seconds).
    await expect.poll(() => canRead(b, userId), { timeout: 10_000, interval: 100 }).toBe(false);

    // And the feed works again afterwards: a new grant on A reaches B.
    const again = await admin.fetch('POST', '/api/v1/main/bindings', { json: { type: 'USER', externalId: userId, roleId: 'viewer', namespaceId: 'team.a' } });
    expect(again.status).toBe(200);
    await expect.poll(() => canRead(b, userId), { timeout: 5000, interval: 50 }).toBe(true);
  });

  it('answers 409, not 500, to the loser of two simultaneous creations of one email', async () => {
    const adminA = new Browser(a);
    await adminA.login();
    const adminB = new Browser(b);
    await adminB.login();
    for (let round = 0; round < 3; round++) {
      const json = { email: `twice-${round}@example.com`, password: 'replicated password' };
      const answers = await Promise.all([adminA.fetch('POST', '/api/v1/users', { json }), adminB.fetch('POST', '/api/v1/users', { json })]);
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    }
  });
});
