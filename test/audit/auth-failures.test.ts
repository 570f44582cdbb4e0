import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthFailureTrail, type AuthFailure } from '../../backend/audit/auth-failures.js';
import { clientAddressReader, hopAddress } from '../../backend/http/client-address.js';
import { verifyAllChains } from '../../backend/audit/verify.js';
import { tempAuditLog } from './entries.js';

const wrongPassword = (ip: string, email = 'ann@example.com'): AuthFailure => ({
  action: 'LOGIN_FAILURE', authMethod: 'password', reason: 'wrong password', email, userId: 'u-ann', ip, userAgent: 'curl/8', requestId: 'req-1', path: '/perch/api/login',
});

describe('failed authentications: counted per account, address and minute', () => {
  let audit: Awaited<ReturnType<typeof tempAuditLog>>;
  let clock: number;
  const warnings: unknown[] = [];
  const log = { warn: (entry: unknown) => void warnings.push(entry), error: (entry: unknown) => void warnings.push(entry) };
  const trail = (options: { maxBuckets?: number } = {}) => new AuthFailureTrail(audit.log, log, { now: () => clock, ...options });
  const rows = () => audit.store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();

  beforeEach(async () => {
    audit = await tempAuditLog('perch-auth-failures-');
    clock = Date.parse('2026-12-06T10:00:00Z');
    warnings.length = 0;
  });
  afterEach(() => audit.close());

  it('writes a flood of N failures within a minute as one entry counting N, with account and address', async () => {
    const failures = trail();
    for (let i = 0; i < 500; i++) {
      failures.note(wrongPassword('198.51.100.7'));
      clock += 100;
    }
    // Nothing is written while the minute lasts.
    await failures.flush(false);
    expect(await rows()).toHaveLength(0);
    expect(failures.pending).toBe(500);
    clock += 10_000;
    await failures.flush(false);
    const [entry, ...others] = await rows();
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ tenant_id: '_instance', action: 'LOGIN_FAILURE', outcome: 'FAILURE', actor_type: 'USER', actor_id: 'u-ann', actor_email: 'ann@example.com', resource_type: 'USER', resource_id: 'u-ann', ip: '198.51.100.7', user_agent: 'curl/8' });
    expect(JSON.parse(entry!.details)).toMatchObject({ count: 500, authMethod: 'password', reason: 'wrong password', email: 'ann@example.com', firstAt: '2026-12-06T10:00:00.000Z', lastAt: '2026-12-06T10:00:49.900Z' });
    expect(failures.pending).toBe(0);
    expect((await verifyAllChains(audit.store.db)).map((chain) => chain.broken)).toEqual([null]);
  });

  it('keeps accounts, addresses and kinds of failure apart, and starts a new count after the minute', async () => {
    const failures = trail();
    failures.note(wrongPassword('198.51.100.7'));
    failures.note(wrongPassword('198.51.100.8'));
    failures.note(wrongPassword('198.51.100.7', 'bob@example.com'));
    failures.note({ ...wrongPassword('198.51.100.7'), action: 'ACCOUNT_LOCKED', reason: 'too many failed sign-ins', lockedUntil: clock + 900_000 });
    clock += 60_000;
    // The same account and address a minute later: the first minute is written as it closes.
    failures.note(wrongPassword('198.51.100.7'));
    await audit.log.flush();
    expect((await rows()).map((r) => [r.action, r.actor_email, r.ip, JSON.parse(r.details).count])).toEqual([['LOGIN_FAILURE', 'ann@example.com', '198.51.100.7', 1]]);
    await failures.flush();
    const written = (await rows()).map((r) => [r.action, r.actor_email, r.ip, JSON.parse(r.details).count]);
    expect(written).toHaveLength(5);
    expect(written).toEqual(expect.arrayContaining([
      ['LOGIN_FAILURE', 'ann@example.com', '198.51.100.8', 1],
      ['LOGIN_FAILURE', 'bob@example.com', '198.51.100.7', 1],
      ['ACCOUNT_LOCKED', 'ann@example.com', '198.51.100.7', 1],
      ['LOGIN_FAILURE', 'ann@example.com', '198.51.100.7', 1],
    ]));
    const locked = (await rows()).find((r) => r.action === 'ACCOUNT_LOCKED')!;
    expect(JSON.parse(locked.details).lockedUntil).toBe('2026-12-06T10:15:00.000Z');
  });

  it('writes a count as its minute ends, leaving the counts still open', async () => {
    const failures = trail();
    failures.note(wrongPassword('198.51.100.7'));
    clock += 30_000;
    failures.note(wrongPassword('198.51.100.8'));
    clock += 30_000;
    await failures.flush(false);
    expect((await rows()).map((r) => r.ip)).toEqual(['198.51.100.7']);
    expect(failures.pending).toBe(1);
    clock += 30_000;
    await failures.flush(false);
    expect((await rows()).map((r) => r.ip)).toEqual(['198.51.100.7', '198.51.100.8']);
  });

  it('holds at most maxBuckets counts at once and counts what it turns away in one overflow entry', async () => {
    const failures = trail({ maxBuckets: 3 });
    for (let i = 0; i < 10; i++) failures.note(wrongPassword(`203.0.113.${i}`, `spray${i}@example.com`));
    // An address it already counts keeps counting there.
    failures.note(wrongPassword('203.0.113.0', 'spray0@example.com'));
    expect(failures.pending).toBe(11);
    expect(warnings).toHaveLength(1);
    await failures.flush();
    const written = await rows();
    expect(written).toHaveLength(4);
    const overflow = written.find((r) => JSON.parse(r.details).overflow === true)!;
    expect(overflow).toMatchObject({ action: 'LOGIN_FAILURE', actor_type: 'ANONYMOUS', outcome: 'FAILURE' });
    expect(JSON.parse(overflow.details).count).toBe(7);
    expect(written.filter((r) => r !== overflow).map((r) => JSON.parse(r.details).count).sort()).toEqual([1, 1, 2]);
  });

  it('writes everything still counted on close, and later failures one by one', async () => {
    const failures = trail();
    failures.note(wrongPassword('198.51.100.7'));
    failures.note(wrongPassword('198.51.100.7'));
    await failures.close();
    expect((await rows()).map((r) => JSON.parse(r.details).count)).toEqual([2]);
    failures.note(wrongPassword('198.51.100.7'));
    await audit.log.flush();
    expect((await rows()).map((r) => JSON.parse(r.details).count)).toEqual([2, 1]);
  });
});

describe('the client address', () => {
  const request = (socketAddress: string, headers: Record<string, string> = {}) => ({ socket: { remoteAddress: socketAddress }, headers }) as unknown as IncomingMessage;

  it('is the socket address when no proxy is trusted, whatever the forwarding headers say', () => {
    const read = clientAddressReader({ trustedProxies: [], header: 'x-forwarded-for' });
    expect(read(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('127.0.0.1');
    expect(read(request('::ffff:10.1.2.3', { forwarded: 'for=203.0.113.9' }))).toBe('10.1.2.3');
    const trustingOthers = clientAddressReader({ trustedProxies: ['10.0.0.0/8'], header: 'x-forwarded-for' });
    expect(trustingOthers(request('192.0.2.1', { 'x-forwarded-for': '203.0.113.9' }))).toBe('192.0.2.1');
  });

  it('from a trusted proxy, is the right-most address that is not a trusted proxy', () => {
    const read = clientAddressReader({ trustedProxies: ['10.0.0.0/8', '192.0.2.10', '2001:db8::/32'], header: 'x-forwarded-for' });
    // What the client wrote sits left of what the proxy appended: never reached.
    expect(read(request('10.0.0.5', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' }))).toBe('198.51.100.7');
    // Two proxies: the inner one's hop is skipped.
    expect(read(request('192.0.2.10', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.9.9.9' }))).toBe('198.51.100.7');
    expect(read(request('::ffff:10.0.0.5', { 'x-forwarded-for': '198.51.100.7:4711' }))).toBe('198.51.100.7');
    expect(read(request('2001:db8::1', { 'x-forwarded-for': '[2001:db9::7]:80' }))).toBe('2001:db9::7');
    // Every hop trusted: the left-most one.
    expect(read(request('10.0.0.5', { 'x-forwarded-for': '10.0.0.1, 10.0.0.2' }))).toBe('10.0.0.1');
    // A hop that is no address stops at the proxy that wrote it.
    expect(read(request('10.0.0.5', { 'x-forwarded-for': '198.51.100.7, unknown' }))).toBe('10.0.0.5');
    expect(read(request('10.0.0.5'))).toBe('10.0.0.5');
    // Only the configured header is read.
    expect(read(request('10.0.0.5', { forwarded: 'for=198.51.100.7' }))).toBe('10.0.0.5');
  });

  it('reads RFC 7239 Forwarded when configured, and only it', () => {
    const read = clientAddressReader({ trustedProxies: ['10.0.0.0/8'], header: 'forwarded' });
    expect(read(request('10.0.0.5', { forwarded: 'for=6.6.6.6, for=198.51.100.7;proto=https;by=10.0.0.5' }))).toBe('198.51.100.7');
    expect(read(request('10.0.0.5', { forwarded: 'for="[2001:db8:cafe::17]:4711"' }))).toBe('2001:db8:cafe::17');
    expect(read(request('10.0.0.5', { forwarded: 'for=198.51.100.7, by=10.0.0.5' }))).toBe('10.0.0.5');
    expect(read(request('10.0.0.5', { forwarded: 'for=_hidden' }))).toBe('10.0.0.5');
    expect(read(request('10.0.0.5', { 'x-forwarded-for': '198.51.100.7' }))).toBe('10.0.0.5');
  });

  it('takes only IP addresses from a hop', () => {
    expect(hopAddress(' 198.51.100.7 ')).toBe('198.51.100.7');
    expect(hopAddress('"[::1]"')).toBe('::1');
    for (const junk of ['unknown', '_obf', '', '1.2.3', 'evil.example', '[1.2.3.4', '198.51.100.7:80:80']) expect(hopAddress(junk), junk).toBeNull();
  });
});
