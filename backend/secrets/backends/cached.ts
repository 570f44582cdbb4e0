import type { ReadOptions, SecretBackend, SecretRef } from './secret-backend.js';

export interface ValueCacheSettings {
  /** How long a value read from the manager is served from memory; 0 turns the cache off. */
  ttlMs: number;
  /** At most this many values are held; the least recently used goes first. */
  maxEntries: number;
}

interface Entry {
  value: string;
  expiresAt: number;
}

const slot = (ref: SecretRef) => `${ref.tenant}\u0000${ref.namespace}\u0000${ref.key.toUpperCase()}`;

/**
 * A short-lived, bounded cache in front of an external manager, so repeated reads do not each cost a
 * round trip. It only ever holds what the manager answered with success (a failure is never kept),
 * forgets a value when Perch writes or deletes it, and is bypassed by a read marked `fresh` — which
 * every read that decides a write uses (`perch secrets sync` writing Kestra's file), so a write is
 * never made from a cached value.
 */
export class CachedSecretBackend implements SecretBackend {
  readonly type: string;
  readonly name: string;
  readonly readOnly: boolean;
  readonly #entries = new Map<string, Entry>();
  /** Reads under way, per slot: one of Perch's writes withdraws them, so what they bring back is not kept. */
  readonly #reading = new Map<string, object>();

  constructor(
    private readonly inner: SecretBackend,
    private readonly settings: ValueCacheSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.type = inner.type;
    this.name = inner.name;
    this.readOnly = inner.readOnly;
  }

  /** How many values are held (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #forget(ref: SecretRef): void {
    const key = slot(ref);
    this.#entries.delete(key);
    this.#reading.delete(key);
  }

  async put(ref: SecretRef, value: string): Promise<string | null> {
    this.#forget(ref);
    try {
      return await this.inner.put(ref, value);
    } finally {
      // Also after: a read that started while the write was under way may hold the old value.
      this.#forget(ref);
    }
  }

  async remove(ref: SecretRef): Promise<void> {
    this.#forget(ref);
    try {
      await this.inner.remove(ref);
    } finally {
      this.#forget(ref);
    }
  }

  async read(ref: SecretRef, stored: string | null, options: ReadOptions = {}): Promise<string> {
    const key = slot(ref);
    const now = this.now();
    const held = this.#entries.get(key);
    if (held && !options.fresh && held.expiresAt > now) {
      // Most recently used goes to the end of the map's order; eviction takes from the front.
      this.#entries.delete(key);
      this.#entries.set(key, held);
      return held.value;
    }
    this.#entries.delete(key);
    const read = {};
    this.#reading.set(key, read);
    let value: string;
    try {
      value = await this.inner.read(ref, stored, options);
    } catch (error) {
      if (this.#reading.get(key) === read) this.#reading.delete(key);
      throw error;
    }
    if (this.#reading.get(key) !== read) return value;
    this.#reading.delete(key);
    if (this.settings.ttlMs > 0 && this.settings.maxEntries > 0) {
      this.#entries.set(key, { value, expiresAt: this.now() + this.settings.ttlMs });
      while (this.#entries.size > this.settings.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return value;
  }
}
