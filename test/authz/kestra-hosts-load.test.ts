/**
 * backend/authz/kestra-hosts.ts builds LOOPBACK_ONLY when it loads. Imported inside the test (not at the
 * top of the file), a throw at load time fails this test instead of the file's collection, which
 * Stryker's vitest runner does not count when other files pass (issue 29).
 */
import { describe, expect, it } from 'vitest';

describe('Kestra hosts at load', () => {
  it('loads, with loopback names only and no configured host', async () => {
    const { LOOPBACK_ONLY } = await import('../../backend/authz/kestra-hosts.js');
    expect(LOOPBACK_ONLY.isKestra('localhost')).toBe(true);
    expect(LOOPBACK_ONLY.isKestra('kestra')).toBe(false);
  });
});
