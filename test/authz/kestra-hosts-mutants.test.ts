/**
 * Cases mutation testing found unpinned in backend/authz/kestra-hosts.ts (issue 29): entries that
 * are no host, loopback addresses with several digits, IPv4-mapped IPv6 read exactly, trailing dots.
 */
import { describe, expect, it } from 'vitest';
import { canonicalHost, hostOfEntry, KestraHosts, LOOPBACK_ONLY } from '../../backend/authz/kestra-hosts.js';

describe('Kestra hosts', () => {
  it('refuses entries that are no host: a user, a path, a space, a URL without a host', () => {
    for (const entry of ['admin@kestra', 'kestra/api', 'kes tra', 'file:///etc/hosts', ' http://kestra/']) {
      expect(hostOfEntry(entry)).toBeNull();
      expect(() => KestraHosts.of([entry])).toThrow(`Not a host name or address: ${entry}`);
    }
  });

  it('knows every 127.x.y.z address, multi-digit parts included, and nothing that merely ends like one', () => {
    for (const host of ['127.10.0.1', '127.0.10.1', '127.0.0.10', '127.255.255.254']) expect(LOOPBACK_ONLY.isKestra(host)).toBe(true);
    for (const host of ['a127.0.0.1', '10.127.0.0.1', '128.0.0.1']) expect(LOOPBACK_ONLY.isKestra(host)).toBe(false);
  });

  it('turns only a whole IPv4-mapped IPv6 address into its IPv4 form', () => {
    expect(canonicalHost('http://[::ffff:10.0.10.1]/')).toBe('10.0.10.1');
    expect(canonicalHost('http://[::ffff:7f00:1]/')).toBe('127.0.0.1');
    expect(canonicalHost('http://[1::ffff:7f00:1]/')).toBe('1::ffff:7f00:1');
    expect(canonicalHost('http://[::ffff:7f00:1:2]/')).toBe('::ffff:7f00:1:2');
  });

  it('drops every trailing dot of a name', () => {
    expect(canonicalHost('http://kestra../')).toBe('kestra');
    expect(KestraHosts.of(['kestra.internal.']).isKestra('kestra.internal')).toBe(true);
  });
});
