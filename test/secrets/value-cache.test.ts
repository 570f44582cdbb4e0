import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CachedSecretBackend } from '../../backend/secrets/backends/cached.js';
import { SecretBackendUnavailable, type ReadOptions, type SecretBackend, type SecretRef } from '../../backend/secrets/backends/secret-backend.js';
import { secretsSync } from '../../backend/secrets/cli.js';
import { startSignedIn } from '../support/perch.js';
import { startVaultDouble } from './vault-double.js';

/** A manager held in memory that counts what it is asked, and can be made to fail or to answer late. */
class CountingManager implements SecretBackend {
  readonly type = 'counting';
  readonly name = 'Counting manager';
  readonly readOnly = false;
  values = new Map<string, string>();
  reads = 0;
  failing = false;
  /** When set, the next read waits for it before answering (with the value it saw when asked). */
  hold: Promise<void> | undefined;
  async put(ref: SecretRef, value: string) {
    this.values.set(ref.key, value);
    return null;
  }
  async read(ref: SecretRef, _stored: string | null, _options?: ReadOptions) {
    this.reads++;
    if (this.failing) throw new SecretBackendUnavailable(this.name, 'down');
    const value = this.values.get(ref.key);
    if (this.hold) await this.hold;
    if (value === undefined) throw new Error(`no ${ref.key}`);
    return value;
  }
  async remove(ref: SecretRef) {
    this.values.delete(ref.key);
  }
}

const ref = (key: string): SecretRef => ({ id: key, tenant: 'main', namespace: 'ops', key });

describe('the value cache in front of an external manager', () => {
  const setup = (settings = { ttlMs: 1000, maxEntries: 10 }) => {
    const manager = new CountingManager();
    let now = 0;
    const cache = new CachedSecretBackend(manager, settings, () => now);
    return { manager, cache, tick: (ms: number) => (now += ms) };
  };

  it('answers a repeated read from memory until the TTL has passed', async () => {
    const { manager, cache, tick } = setup();
    manager.values.set('A', 'one');
    expect(await cache.read(ref('A'), null)).toBe('one');
    manager.values.set('A', 'changed behind Perch');
    tick(999);
    expect(await cache.read(ref('A'), null)).toBe('one');
    expect(manager.reads).toBe(1);
    tick(1);
    expect(await cache.read(ref('A'), null)).toBe('changed behind Perch');
    expect(manager.reads).toBe(2);
  });

  it('never answers a fresh read (one that decides a write) from memory, and keeps what it brought back', async () => {
    const { manager, cache } = setup();
    manager.values.set('A', 'one');
    await cache.read(ref('A'), null);
    manager.values.set('A', 'two');
    expect(await cache.read(ref('A'), null, { fresh: true })).toBe('two');
    expect(await cache.read(ref('A'), null)).toBe('two');
    expect(manager.reads).toBe(2);
  });

  it("forgets a value on Perch's own write and delete", async () => {
    const { manager, cache } = setup();
    await cache.put(ref('A'), 'one');
    expect(await cache.read(ref('A'), null)).toBe('one');
    await cache.put(ref('A'), 'two');
    expect(await cache.read(ref('A'), null)).toBe('two');
    await cache.remove(ref('A'));
    await expect(cache.read(ref('A'), null)).rejects.toThrow(/no A/);
    expect(manager.reads).toBe(3);
  });

  it('does not keep what a read brings back when Perch wrote the value while it was under way', async () => {
    const { manager, cache } = setup();
    manager.values.set('A', 'old');
    let release!: () => void;
    manager.hold = new Promise((resolve) => (release = resolve));
    const slow = cache.read(ref('A'), null);
    manager.hold = undefined;
    await cache.put(ref('A'), 'new');
    release();
    expect(await slow).toBe('old');
    expect(await cache.read(ref('A'), null)).toBe('new');
  });

  it('never keeps a failure, and drops what it held when a read fails', async () => {
    const { manager, cache, tick } = setup();
    manager.values.set('A', 'one');
    await cache.read(ref('A'), null);
    tick(1000);
    manager.failing = true;
    await expect(cache.read(ref('A'), null)).rejects.toBeInstanceOf(SecretBackendUnavailable);
    await expect(cache.read(ref('A'), null)).rejects.toBeInstanceOf(SecretBackendUnavailable);
    manager.failing = false;
    expect(await cache.read(ref('A'), null)).toBe('one');
    expect(manager.reads).toBe(4);
    expect(cache.size).toBe(1);
  });

  it('holds at most maxEntries values, letting the least recently used go', async () => {
    const { manager, cache } = setup({ ttlMs: 1000, maxEntries: 2 });
    for (const key of ['A', 'B', 'C']) manager.values.set(key, key.toLowerCase());
    await cache.read(ref('A'), null);
    await cache.read(ref('B'), null);
    await cache.read(ref('A'), null);
    await cache.read(ref('C'), null);
    expect(cache.size).toBe(2);
    expect(manager.reads).toBe(3);
    await cache.read(ref('A'), null);
    expect(manager.reads).toBe(3);
    await cache.read(ref('B'), null);
    expect(manager.reads).toBe(4);
  });

  it('keeps nothing with a TTL of 0', async () => {
    const { manager, cache } = setup({ ttlMs: 0, maxEntries: 10 });
    manager.values.set('A', 'one');
    await cache.read(ref('A'), null);
    await cache.read(ref('A'), null);
    expect(manager.reads).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('a dry run may be answered from the cache; the sync that writes Kestra\'s file reads the manager', async () => {
    const vault = await startVaultDouble({ rootToken: 't' });
    const { perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'vault', cache: { ttl: 'PT1H' }, vault: { address: vault.url, token: 't' } } } } });
    try {
      expect((await admin.fetch('PUT', '/api/v1/main/namespaces/ops/secrets', { json: { key: 'TOKEN', value: 'first' } })).status).toBe(200);
      const ctx = perch.perch.ctx;
      const { secretBackends } = await import('../../backend/secrets/backends/index.js');
      const { syncSecrets } = await import('../../backend/secrets/sync.js');
      const backends = await secretBackends(ctx.config.secrets.backend, ctx.envelope);
      const file = path.join(await mkdtemp(path.join(tmpdir(), 'perch-cache-sync-')), 'kestra.env');
      const options = { format: 'env' as const, file, kubernetesName: 'k', swarmService: 'kestra', tenant: 'main', dryRun: true };
      const reads = () => vault.requests.filter((r) => r.method === 'GET').length;
      expect(await syncSecrets(ctx.db, backends, options, () => {})).toBe(0);
      expect(await syncSecrets(ctx.db, backends, options, () => {})).toBe(0);
      expect(reads()).toBe(1);
      // Changed in Vault behind Perch's back: the real sync reads it, not the cached value.
      vault.store.set('perch/main/ops/TOKEN', { value: 'second' });
      expect(await syncSecrets(ctx.db, backends, { ...options, dryRun: false }, () => {})).toBe(0);
      expect(reads()).toBe(2);
      expect(await readFile(file, 'utf8')).toContain(`SECRET_TOKEN=${Buffer.from('second').toString('base64')}`);
      expect(await secretsSync(ctx.config, { file }, { out: () => {}, err: () => {} })).toBe(0);
    } finally {
      await perch.close();
      await vault.close();
    }
  });
});
